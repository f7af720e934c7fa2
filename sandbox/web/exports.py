"""Web pages of the sandbox: exports — the operator's queue and review, and the buyer's download.

- `export_queue` (/sandbox/exports/): requests on the active organisation's datasets, awaiting ones first
  (`?status=` filters).
- `export_review` (/sandbox/exports/<pk>/): who asks, for what purpose, the SQL, the result and its disclosure
  report; a manager of the operator who is not the requester decides it (`export_decide`; a rejection needs a
  reason). The requester's organisation sees the same page without the decision form.
- `export_download` (/sandbox/exports/<pk>/download/): the fingerprinted CSV of an approved export, for the
  requester's organisation; every download is logged.

Lookups go through `restrict(user, "view")` (the request is granted to both organisations): others get 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from accounts.web import form_status, organization_view, paginate, submit
from core.errors import DomainError
from sandbox.choices import ExportStatus
from sandbox.forms import DecisionForm
from sandbox.models import ExportRequest
from sandbox.services import exports as services
from sandbox.web.common import JsonArrayLength, may, note_lines, visible_exports

STATE_TABS = (
    ("", gettext_lazy("All")),
    (ExportStatus.SUBMITTED, ExportStatus.SUBMITTED.label),
    (ExportStatus.APPROVED, ExportStatus.APPROVED.label),
    (ExportStatus.REJECTED, ExportStatus.REJECTED.label),
)


@require_GET
@organization_view
def export_queue(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Export requests on the organisation's datasets: awaiting a decision first, then the newest."""
    state = request.GET.get("status", "")
    state = state if state in ExportStatus.values else ""
    exports = visible_exports(request.user).filter(dataset__organization=membership.organization)
    if state:
        exports = exports.filter(status=state)
    waiting_first = Case(When(status=ExportStatus.SUBMITTED, then=Value(0)), default=Value(1),
                         output_field=IntegerField())  # fmt: skip
    exports = (
        exports.select_related("dataset", "organization", "requested_by", "run")
        .defer("run__rows", "run__columns", "run__notes", "run__sql", "dataset__schema")
        .annotate(row_total=JsonArrayLength("run__rows"), waiting=waiting_first)
        .order_by("waiting", "-created_at", "-pk")
    )
    context = {
        "organization": membership.organization,
        "state": state,
        "tabs": STATE_TABS,
        "exports_page": paginate(request, exports),
    }
    return render(request, "sandbox/export_queue.html", context)


def _export_or_404(request: HttpRequest, pk: int) -> ExportRequest:
    related = ("dataset__organization", "organization", "requested_by", "decided_by", "run__entitlement__contract")
    return get_object_or_404(visible_exports(request.user).select_related(*related), pk=pk)


def can_decide(request: HttpRequest, export: ExportRequest) -> bool:
    """A manager of the operator who is not the requester, while the request awaits (the service checks again)."""
    return (
        export.status == ExportStatus.SUBMITTED
        and export.requested_by_id != request.user.pk
        and may(request, export.dataset.organization_id, "manage")
    )


def _review_page(request: HttpRequest, export: ExportRequest, *, form: DecisionForm | None = None, status: int = 200):
    context = {
        "export": export,
        "run": export.run,
        "dataset": export.dataset,
        "notes": note_lines(export.run),
        "is_operator": may(request, export.dataset.organization_id, "view"),
        "own_request": export.requested_by_id == request.user.pk,
        "can_decide": can_decide(request, export),
        "can_download": export.status == ExportStatus.APPROVED and may(request, export.organization_id, "view"),
        "form": form or DecisionForm(),
    }
    return render(request, "sandbox/export_review.html", context, status=status)


@require_GET
@login_required
def export_review(request: HttpRequest, pk: int) -> HttpResponse:
    """One export request with everything the operator decides on."""
    return _review_page(request, _export_or_404(request, pk))


@require_POST
@login_required
def export_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject an export request."""
    export = _export_or_404(request, pk)
    form = DecisionForm(request.POST)
    decided = form.is_valid() and submit(
        request, form, services.export_decide, export=export, by=request.user, **form.service_data()
    )
    if decided:
        if decided.status == ExportStatus.APPROVED:
            messages.success(request, _("The export is approved: the requester can download the result."))
        else:
            messages.success(request, _("The export is rejected; the requester sees your reason."))
        return redirect("sandbox:export_review", pk=export.pk)
    return _review_page(request, export, form=form, status=form_status(form))


@require_GET
@login_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The released, fingerprinted CSV."""
    export = get_object_or_404(visible_exports(request.user), pk=pk)
    ip = request.META.get("REMOTE_ADDR") or None
    try:
        name, content = services.export_file(export=export, by=request.user, ip=ip)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, str(exc.message))
        return redirect("sandbox:export_review", pk=export.pk)
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, name)
    patch_cache_control(response, private=True, no_store=True)
    return response


urlpatterns = [
    path("exports/", export_queue, name="export_queue"),
    path("exports/<int:pk>/", export_review, name="export_review"),
    path("exports/<int:pk>/decide/", export_decide, name="export_decide"),
    path("exports/<int:pk>/download/", export_download, name="export_download"),
]
