from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.sign_in, name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("register/", views.register, name="register"),
    path("organization/", views.organization_detail, name="organization"),
    path("organization/edit/", views.organization_edit, name="organization_edit"),
    path("organization/licence/", views.licence_upload, name="licence_upload"),
    path("organization/switch/", views.organization_switch, name="organization_switch"),
    path("organizations/<int:pk>/licence/", views.licence_download, name="licence_download"),
    path("members/", views.members, name="members"),
    path("members/<int:pk>/role/", views.membership_role, name="membership_role"),
    path("members/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("members/invite/", views.invitation_create, name="invitation_create"),
    path("members/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("invitations/<str:token>/sign-up/", views.invitation_signup, name="invitation_signup"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("two-factor/", views.two_factor, name="two_factor"),
]
