from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from core import views as core_views

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("registry.api.urls")),
    path("", include("valuation.api.urls")),
    path("", include("marketplace.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("registry/", include("registry.urls")),
    path("valuation/", include("valuation.urls")),
    path("market/", include("marketplace.urls")),
    path("webhooks/", include("marketplace.webhook_urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
]
