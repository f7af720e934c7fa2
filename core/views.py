from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Organization


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The landing page: what the exchange does, and for members their organisations."""
    context = {"verified_count": Organization.objects.verified().count()}
    return render(request, "home.html", context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness probe: the app answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
