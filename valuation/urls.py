from django.urls import path

from valuation import views

app_name = "valuation"
urlpatterns = [
    path("", views.valuation_list, name="valuation_list"),
    path("products/<int:pk>/", views.product_valuations, name="product_valuations"),
    path("products/<int:pk>/new/<str:method>/", views.valuation_create, name="valuation_create"),
    path("<int:pk>/", views.valuation_detail, name="valuation_detail"),
    path("<int:pk>/progress.json", views.valuation_progress, name="valuation_progress"),
    path("<int:pk>/report.pdf", views.valuation_pdf, name="valuation_pdf"),
    path("<int:pk>/schedule.csv", views.schedule_csv, name="schedule_csv"),
    path("comparables/", views.comparable_list, name="comparable_list"),
    path("revaluations/", views.revaluation_start, name="revaluation_start"),
    path("revaluations/<int:pk>/", views.revaluation_detail, name="revaluation_detail"),
    path("revaluations/<int:pk>/progress.json", views.revaluation_progress, name="revaluation_progress"),
]
