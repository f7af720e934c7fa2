"""Web pages of the marketplace: delivery — a buyer's access, download links and files, metered usage.

- `entitlement_list` (/market/my/access/): what the active organisation holds as a buyer, running first.
- `download_link` (POST /market/entitlements/<pk>/download/): a signed, expiring link, then a redirect to it; a
  refusal (ended, sandbox only, ...) comes back to the list as a message. GET shows what the download delivers
  (version, file, the fingerprint notice) with the button that posts.
- `download` (/market/d/<token>/): signed in as a member of the buyer, the fingerprinted file as an attachment;
  otherwise a page that says why (404 not valid or not yours, 410 expired, 403 ended or withdrawn).
- `entitlement_usage` (/market/entitlements/<pk>/usage/): metered API: calls this month, free calls left, the
  billed amount and a table per month; download: the downloads made; sandbox: what it grants.

Every lookup goes through `downloads.buyer_entitlements(user)`: another organisation's entitlement is a 404.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Membership
from accounts.web import organization_view, paginate
from core.errors import DomainError
from marketplace.choices import EntitlementKind
from marketplace.models import Download, Entitlement, UsageRecord
from marketplace.services import downloads, metering


def streaming_response(delivery: downloads.Delivery) -> StreamingHttpResponse:
    """The file as an attachment that no cache keeps (the web page and the API both serve files this way)."""
    response = StreamingHttpResponse(delivery.chunks, content_type=delivery.content_type)
    response["Content-Disposition"] = content_disposition_header(True, delivery.filename)
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
@organization_view
def entitlement_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The active organisation's entitlements as a buyer, with the last download and this month's calls."""
    now = timezone.now()
    last_download = Download.objects.filter(entitlement=OuterRef("pk")).order_by("-created_at").values("created_at")
    calls = (
        UsageRecord.objects.filter(entitlement=OuterRef("pk"), period=metering.period_of(now))
        .values("entitlement")
        .annotate(count=Count("pk"))
        .values("count")
    )
    entitlements = (
        downloads.buyer_entitlements(request.user)
        .filter(contract__buyer=membership.organization)
        .select_related("contract__listing", "contract__merchant")
        .annotate(last_download_at=Subquery(last_download[:1]), calls_this_month=Subquery(calls))
        .order_by("status", "-starts_at", "-pk")
    )
    page = paginate(request, entitlements)
    for entitlement in page:
        entitlement.running = downloads.is_running(entitlement, now)
    context = {"organization": membership.organization, "entitlements_page": page}
    return render(request, "marketplace/delivery/entitlement_list.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def download_link(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: hand out a signed link to the file and go there; a refusal returns to the list with its reason.
    GET: what the download will deliver, with the button that posts here."""
    related = ("contract__listing__product", "contract__merchant", "contract__buyer")
    entitlement = get_object_or_404(downloads.buyer_entitlements(request.user).select_related(*related), pk=pk)
    if request.method != "POST":
        return _download_page(request, entitlement)
    try:
        token = downloads.download_link(entitlement=entitlement, by=request.user)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, str(exc.message))
        return redirect("marketplace:entitlement_list")
    return redirect("marketplace:download", token=token)


def _download_page(request: HttpRequest, entitlement: Entitlement) -> HttpResponse:
    running = downloads.is_running(entitlement)
    version = downloads.deliverable_version(entitlement) if entitlement.kind == EntitlementKind.DOWNLOAD else None
    context = {
        "entitlement": entitlement,
        "running": running,
        "refusal": None if running else downloads.ended_message(entitlement),
        "version": version,
        "filename": downloads.delivered_name(version) if version else "",
        "link_minutes": max(1, settings.MARKETPLACE_DOWNLOAD_LINK_SECONDS // 60),
    }
    if entitlement.kind != EntitlementKind.DOWNLOAD:
        context["refusal"] = downloads.WRONG_KIND[entitlement.kind]
    return render(request, "marketplace/delivery/download_confirm.html", context)


@require_GET
@login_required
def download(request: HttpRequest, token: str) -> HttpResponse:
    """Stream the fingerprinted file of a valid link, or say why not."""
    try:
        delivery = downloads.download_open(token=token, user=request.user, ip=request.META.get("REMOTE_ADDR") or None)
    except DomainError as exc:
        context = {"message": exc.message, "code": exc.code, "status": exc.status}
        return render(request, "marketplace/delivery/download_error.html", context, status=exc.status)
    return streaming_response(delivery)


@require_GET
@login_required
def entitlement_usage(request: HttpRequest, pk: int) -> HttpResponse:
    """How an entitlement has been used: calls and billing, or downloads."""
    entitlements = downloads.buyer_entitlements(request.user).select_related("contract__listing", "contract__merchant")
    entitlement = get_object_or_404(entitlements, pk=pk)
    context = {"entitlement": entitlement, "running": downloads.is_running(entitlement)}
    if entitlement.kind == EntitlementKind.API:
        context["usage"] = metering.usage_summary(entitlement)
        context["rows_url"] = request.build_absolute_uri(
            reverse("api:data-rows", args=[entitlement.contract.listing_id])
        )
    elif entitlement.kind == EntitlementKind.DOWNLOAD:
        context["downloads_page"] = paginate(request, entitlement.downloads.select_related("version", "user"))
    return render(request, "marketplace/delivery/entitlement_usage.html", context)


urlpatterns = [
    path("my/access/", entitlement_list, name="entitlement_list"),
    path("entitlements/<int:pk>/download/", download_link, name="download_link"),
    path("entitlements/<int:pk>/usage/", entitlement_usage, name="entitlement_usage"),
    path("d/<str:token>/", download, name="download"),
]
