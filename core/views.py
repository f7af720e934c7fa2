from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Organization
from accounts.web import can, current_membership, user_memberships
from marketplace.services import stats


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The landing page for guests; for members a dashboard of their organisations and what to do next."""
    if not request.user.is_authenticated:
        return render(request, "home.html", {"verified_count": Organization.objects.verified().count()})
    memberships = user_memberships(request)
    current = current_membership(request)
    organization = current.organization if current else None
    context = {
        "dashboard": [(m, can(m, "manage")) for m in memberships],
        "pending_review_count": Organization.objects.pending_review().count() if request.user.is_staff else None,
        "market": stats.home_figures(organization) if organization and not organization.is_regulator else None,
    }
    return render(request, "dashboard.html", context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness probe: the app answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
