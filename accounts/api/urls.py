from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api import views

router = DefaultRouter()
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("invitations", views.InvitationViewSet, basename="invitation")
router.register("api-keys", views.ApiKeyViewSet, basename="apikey")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    *router.urls,
]
