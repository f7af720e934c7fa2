from collections.abc import Callable

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from accounts import views as accounts_views
from core import openapi
from core import views as core_views


def api_docs(view_class: type) -> Callable:
    """A documentation page of the schema, under the documentation pages' CSP."""
    return csp_override(settings.API_DOCS_CSP)(view_class.as_view(url_name="api:schema"))


api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("registry.api.urls")),
    path("", include("valuation.api.urls")),
    path("", include("marketplace.api.urls")),
    path("sandbox/", include("sandbox.api.urls")),
    path("", include("integrations.api")),
    path("schema/", openapi.schema_view(), name="schema"),  # generated once per process and language
    # Interactive documentation of the schema, from the app's own static files (templates/drf_spectacular/).
    path("docs/", api_docs(SpectacularSwaggerView), name="docs"),
    path("redoc/", api_docs(SpectacularRedocView), name="redoc"),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    # Django's set_language, wrapped so that a signed-in user's choice is also saved as their mail language.
    path("i18n/setlang/", accounts_views.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("registry/", include("registry.urls")),
    path("valuation/", include("valuation.urls")),
    path("market/", include("marketplace.urls")),
    path("sandbox/", include("sandbox.urls")),
    path("integrations/", include("integrations.urls")),
    path("webhooks/", include("marketplace.webhook_urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
]

# Errors Django raises before a view runs (an unknown URL, a refused request) answer JSON under /api/.
handler400 = "core.api.bad_request"
handler404 = "core.api.page_not_found"
handler500 = "core.api.server_error"
