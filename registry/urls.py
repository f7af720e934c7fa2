from django.urls import path

from registry import views

app_name = "registry"
urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/submit/", views.product_submit, name="product_submit"),
    path("products/<int:pk>/versions/new/", views.version_upload, name="version_upload"),
    path("products/<int:pk>/documents/", views.document_add, name="document_add"),
    path("documents/<int:pk>/download/", views.document_download, name="document_download"),
    path("versions/<int:pk>/", views.version_detail, name="version_detail"),
    path("versions/<int:pk>/progress.json", views.version_progress, name="version_progress"),
    path("versions/<int:pk>/submit/", views.version_submit, name="version_submit"),
    path("certificates/", views.certificate_lookup, name="certificate_lookup"),
    path("certificates/<str:number>/", views.certificate_verify, name="certificate_verify"),
]
