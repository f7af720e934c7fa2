"""Web pages of the sandbox: the operator's datasets — list, publishing, column policies and rules, usage,
withdrawal.

- `dataset_list` (/sandbox/datasets/): the active organisation's datasets with their state (a progress bar while
  the Parquet is built, polling `dataset_status`), rows and queries today.
- `dataset_publish` (/sandbox/datasets/new/): one of the organisation's registered versions, a title, a description
  and the disclosure rules; column policies start from the profile.
- `dataset_detail` (/sandbox/datasets/<pk>/): the column-policy form (one row per column), the rules form, usage
  per contract today and this month, recent runs, the export queue; the forms post to `dataset_policies` and
  `dataset_rules`, withdrawal to `dataset_withdraw`.

Every lookup goes through `restrict(user, "view")`: another organisation's dataset is a 404. Writes call
sandbox.services.datasets, which check the role again.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from accounts.web import can, form_status, organization_view, paginate, run_action, submit
from registry.choices import ProductStatus
from registry.models import DataProduct, ProductVersion, ProfileStatus
from registry.views import PII_LABELS
from sandbox.choices import ColumnAccess, DatasetStatus, ExportStatus
from sandbox.forms import ACCESS_HELP, PolicyForm, PublishForm, RulesForm, WithdrawForm
from sandbox.models import ExportRequest, QueryRun, SandboxDataset
from sandbox.services import datasets as services
from sandbox.web.common import JsonArrayLength, may, month_start, no_store_json, operated_datasets, today_bounds

RECENT_RUNS = 20


def _dataset_or_404(request: HttpRequest, pk: int) -> SandboxDataset:
    datasets = operated_datasets(request.user).select_related("organization", "product", "version", "created_by")
    return get_object_or_404(datasets, pk=pk)


def _to_dataset(dataset: SandboxDataset) -> HttpResponse:
    return redirect("sandbox:dataset_detail", pk=dataset.pk)


# --- the list ------------------------------------------------------------------------------------------------------


@require_GET
@organization_view
def dataset_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The organisation's sandbox datasets, newest first, with today's queries and exports awaiting a decision."""
    start, end = today_bounds()
    today = Q(runs__created_at__gte=start, runs__created_at__lt=end)
    datasets = (
        operated_datasets(request.user)
        .filter(organization=membership.organization)
        .select_related("product", "version")
        .defer("schema", "version__profile", "version__masked_sample", "version__pii_findings")
        .annotate(queries_today=Count("runs", filter=today))
        .order_by("-created_at", "-pk")
    )
    context = {
        "organization": membership.organization,
        "operates": membership.organization.can_operate_public_data,
        "can_add": can(membership, "add"),
        "datasets_page": paginate(request, datasets),
        "exports_waiting": ExportRequest.objects.filter(
            status=ExportStatus.SUBMITTED, dataset__in=datasets.values("pk")
        ).count(),
    }
    return render(request, "sandbox/dataset_list.html", context)


@require_GET
@login_required
def dataset_status(request: HttpRequest, pk: int) -> JsonResponse:
    """The state of a dataset's build, for the list and the dataset page to poll."""
    dataset = operated_datasets(request.user).filter(pk=pk).only("status", "progress", "error_message").first()
    if dataset is None:
        return no_store_json({"status": "gone", "progress": 0, "done": True}, status=404)
    return no_store_json(
        {
            "status": dataset.status,
            "status_label": dataset.get_status_display(),
            "progress": dataset.progress,
            "done": dataset.status != DatasetStatus.PREPARING,
            "error": dataset.error_message or None,
        }
    )


# --- publishing ----------------------------------------------------------------------------------------------------


def publishable_versions(request: HttpRequest, membership: Membership) -> QuerySet:
    """Registered, profiled versions of the organisation's registered products that are not in the sandbox."""
    products = DataProduct.objects.restrict(request.user, "view").filter(
        organization=membership.organization, status=ProductStatus.REGISTERED
    )
    live = SandboxDataset.objects.live().values("product_id")
    return (
        ProductVersion.objects.registered()
        .filter(product__in=products.values("pk"), profile_status=ProfileStatus.DONE)
        .exclude(product_id__in=live)
        .select_related("product")
        .only("pk", "number", "product__title")
        .order_by("product__title", "-number")
    )


@organization_view
def dataset_publish(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Publish one of the organisation's registered versions in the sandbox."""
    if not can(membership, "add"):
        raise PermissionDenied(_("Your role lets you read the organisation's datasets, not publish them."))
    versions = publishable_versions(request, membership)
    form = PublishForm(request.POST if request.method == "POST" else None, versions=versions)
    if request.method == "POST" and form.is_valid():
        dataset = submit(request, form, services.dataset_publish, by=request.user, **form.service_data())
        if dataset:
            messages.success(request, _("The dataset is being prepared. Check its column policies meanwhile."))
            return _to_dataset(dataset)
    context = {
        "form": form,
        "organization": membership.organization,
        "operates": membership.organization.can_operate_public_data,
        "has_versions": versions.exists(),
    }
    return render(request, "sandbox/dataset_publish.html", context, status=form_status(form))


# --- one dataset ---------------------------------------------------------------------------------------------------


def policy_columns(dataset: SandboxDataset) -> list[dict]:
    """Each column of the dataset's version, in order, with its type, the PII found in it and its access now."""
    types = {str(column.get("name")): column.get("type", "") for column in dataset.version.columns}
    found: dict[str, list[str]] = {}
    for finding in dataset.version.pii_findings or []:
        kind = finding.get("kind", "")
        found.setdefault(finding.get("column", ""), []).append(str(PII_LABELS.get(kind, kind)))
    return [
        {
            "name": name,
            "type": types.get(name, ""),
            "pii": found.get(name, []),
            "access": access,
            "access_label": ColumnAccess(access).label,
        }
        for name, access in services.policy_map(dataset).items()
    ]


def contract_usage(dataset: SandboxDataset) -> list[dict]:
    """Queries and rows scanned per contract on the dataset, today and this month (one query, busiest first)."""
    start, end = today_bounds()
    today = Q(created_at__gte=start, created_at__lt=end)
    return list(
        QueryRun.objects.filter(dataset=dataset, created_at__gte=month_start(start.date()))
        .values("entitlement_id", "entitlement__contract__number", "organization__name")
        .annotate(
            queries_today=Count("pk", filter=today),
            rows_today=Sum("scanned_rows", filter=today, default=0),
            queries_month=Count("pk"),
            rows_month=Sum("scanned_rows", default=0),
        )
        .order_by("-queries_today", "-queries_month", "entitlement_id")
    )


def recent_runs(dataset: SandboxDataset) -> list[QueryRun]:
    runs = dataset.runs.select_related("organization", "user").defer("rows", "columns", "notes")
    return list(runs.annotate(row_total=JsonArrayLength("rows")).order_by("-created_at", "-pk")[:RECENT_RUNS])


def _detail_page(request: HttpRequest, dataset: SandboxDataset, *, status: int = 200, **forms: Any) -> HttpResponse:
    can_change = may(request, dataset.organization_id, "change") and dataset.status != DatasetStatus.WITHDRAWN
    policy_form = forms.get("policy_form") or PolicyForm(columns=policy_columns(dataset))
    context = {
        "dataset": dataset,
        "organization": dataset.organization,
        "can_change": can_change,
        "policy_form": policy_form,
        "access_help": [(label, ACCESS_HELP[value]) for value, label in ColumnAccess.choices],
        "rules_form": forms.get("rules_form") or RulesForm.for_dataset(dataset),
        "withdraw_form": forms.get("withdraw_form") or WithdrawForm(),
        "usage": contract_usage(dataset),
        "runs": recent_runs(dataset),
        "exports_waiting": dataset.export_requests.filter(status=ExportStatus.SUBMITTED).count(),
    }
    return render(request, "sandbox/dataset_detail.html", context, status=status)


@require_GET
@login_required
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A dataset with its policies, rules, usage and recent runs."""
    return _detail_page(request, _dataset_or_404(request, pk))


@require_POST
@login_required
def dataset_policies(request: HttpRequest, pk: int) -> HttpResponse:
    """Change columns' access; the Parquet is rebuilt when any changed."""
    dataset = _dataset_or_404(request, pk)
    form = PolicyForm(request.POST, columns=policy_columns(dataset))
    before = {column["name"]: column["access"] for column in form.columns}
    failed = dataset.status == DatasetStatus.FAILED
    if form.is_valid() and submit(
        request, form, services.dataset_update, dataset=dataset, by=request.user, policies=form.policies()
    ):
        # Told by what changed, not by the state now: an eager build (the one-command run) is already done.
        if form.policies() != before or failed:
            messages.success(request, _("The column policies are saved; the dataset is being rebuilt with them."))
        else:
            messages.info(request, _("Nothing changed."))
        return _to_dataset(dataset)
    return _detail_page(request, dataset, policy_form=form, status=form_status(form))


@require_POST
@login_required
def dataset_rules(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the disclosure rules and quotas; they apply to the next query."""
    dataset = _dataset_or_404(request, pk)
    form = RulesForm.for_dataset(dataset, request.POST)
    if form.is_valid() and submit(
        request, form, services.dataset_update, dataset=dataset, by=request.user, **form.rules()
    ):
        messages.success(request, _("The rules are saved; they apply from the next query."))
        return _to_dataset(dataset)
    return _detail_page(request, dataset, rules_form=form, status=form_status(form))


@require_POST
@login_required
def dataset_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Take the dataset out of the sandbox, with a reason."""
    dataset = _dataset_or_404(request, pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, dataset, withdraw_form=form)
    reason = form.cleaned_data["reason"]
    if run_action(request, services.dataset_withdraw, dataset=dataset, by=request.user, reason=reason) is None:
        messages.success(request, _("The dataset is withdrawn: buyers can no longer query it."))
    return _to_dataset(dataset)


urlpatterns = [
    path("datasets/", dataset_list, name="dataset_list"),
    path("datasets/new/", dataset_publish, name="dataset_publish"),
    path("datasets/<int:pk>/", dataset_detail, name="dataset_detail"),
    path("datasets/<int:pk>/status/", dataset_status, name="dataset_status"),
    path("datasets/<int:pk>/policies/", dataset_policies, name="dataset_policies"),
    path("datasets/<int:pk>/rules/", dataset_rules, name="dataset_rules"),
    path("datasets/<int:pk>/withdraw/", dataset_withdraw, name="dataset_withdraw"),
]
