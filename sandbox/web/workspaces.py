"""Web pages of the sandbox: the buyer's workspaces — the datasets they reach, the SQL editor, saved queries, runs.

- `sandbox_home` (/sandbox/): where the "Sandbox" link goes — an operator's datasets, a buyer's workspaces.
- `workspace_list` (/sandbox/workspaces/): published datasets the user's organisations hold a running sandbox
  entitlement for; without any, a pointer to the catalogue's sandbox plans. `?product=<id>` (the link from the
  buyer's "My access" page) goes straight to that product's workspace, or says why there is none.
- `workspace` (/sandbox/workspaces/<pk>/): the schema with each column's access, the masked sample to write SQL
  against, the editor (posting to `query_run` or `saved_query_save`), saved queries, run history and today's quota.
- `run_detail` (/sandbox/runs/<pk>/): the run's state (polling `run_status` while queued or running), the result
  that passed disclosure control, the disclosure report, and the export request with its state.

Lookups: `workspaces.workspace_for` (404 for anybody without a running entitlement), `QueryRun.visible_to`.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from accounts.web import current_membership, form_status, organization_view, paginate, run_action, submit
from core.errors import DomainError
from sandbox.choices import ColumnAccess, QueryStatus
from sandbox.forms import ExportRequestForm, QueryForm
from sandbox.models import ExportRequest, QueryRun, SavedQuery
from sandbox.services import datasets, exports, queries, workspaces
from sandbox.web.common import JsonArrayLength, may, no_store_json, note_lines, visible_runs, workspace_or_404

PENDING = (QueryStatus.QUEUED, QueryStatus.RUNNING)


@login_required
def sandbox_home(request: HttpRequest) -> HttpResponse:
    """Operators land on their datasets, everybody else on their workspaces."""
    membership = current_membership(request)
    if membership is not None and membership.organization.can_operate_public_data:
        return redirect("sandbox:dataset_list")
    return redirect("sandbox:workspace_list")


@require_GET
@organization_view
def workspace_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The datasets the user's organisations may query (`?product=`: that product's workspace)."""
    product = request.GET.get("product", "")
    if product.isdigit():
        return _product_workspace(request, int(product))
    found = workspaces.buyer_datasets(request.user).select_related("organization", "product")
    found = found.defer("schema", "product__rule_results", "product__upload_error").order_by("title", "pk")
    context = {"organization": membership.organization, "datasets_page": paginate(request, found)}
    return render(request, "sandbox/workspace_list.html", context)


def _product_workspace(request: HttpRequest, product_id: int) -> HttpResponse:
    """The workspace of the product's dataset (one live dataset per product), or the list with the reason."""
    dataset_pk = workspaces.buyer_datasets(request.user).filter(product_id=product_id).values_list("pk", flat=True)
    dataset_pk = dataset_pk.first()
    if dataset_pk is not None:
        return redirect("sandbox:workspace", pk=dataset_pk)
    messages.info(request, _("No dataset of this product can be queried now: the operator has not published it yet, "
                             "is preparing it, or your sandbox access has ended."))  # fmt: skip
    return redirect("sandbox:workspace_list")


# --- the workspace -------------------------------------------------------------------------------------------------


def schema_rows(dataset: Any, policies: dict[str, str] | None = None) -> list[dict]:
    """The columns a buyer may name, in order, with their type and access (hidden columns are not there)."""
    types = {column.get("name"): column.get("type", "") for column in dataset.schema or []}
    policies = datasets.policy_map(dataset) if policies is None else policies
    return [
        {"name": name, "type": types.get(name, ""), "access": access, "access_label": ColumnAccess(access).label}
        for name, access in policies.items()
        if access != ColumnAccess.HIDDEN
    ]


def _runs_of(workspace: workspaces.Workspace) -> QuerySet:
    return QueryRun.objects.filter(dataset=workspace.dataset, organization=workspace.entitlement.contract.buyer)


def workspace_runs(workspace: workspaces.Workspace) -> QuerySet:
    """The buyer organisation's runs on the dataset, newest first, without their rows (counted in the database)."""
    runs = _runs_of(workspace).select_related("user").defer("rows", "columns", "notes")
    return runs.annotate(row_total=JsonArrayLength("rows")).order_by("-created_at", "-pk")


def _saved_queries(workspace: workspaces.Workspace) -> QuerySet:
    organization = workspace.entitlement.contract.buyer
    return SavedQuery.objects.filter(dataset=workspace.dataset, organization=organization).order_by("title", "pk")


def _editor_initial(request: HttpRequest, workspace: workspaces.Workspace) -> tuple[dict, SavedQuery | None]:
    """The editor starts with a saved query (`?saved=`), a past run's SQL (`?run=`), or empty."""
    saved_pk, run_pk = request.GET.get("saved"), request.GET.get("run")
    if saved_pk and saved_pk.isdigit():
        saved = _saved_queries(workspace).filter(pk=saved_pk).first()
        if saved:
            return {"sql": saved.sql, "title": saved.title}, saved
    if run_pk and run_pk.isdigit():
        run = _runs_of(workspace).filter(pk=run_pk).only("sql").first()
        if run:
            return {"sql": run.sql}, None
    return {}, None


def _workspace_page(
    request: HttpRequest,
    workspace: workspaces.Workspace,
    *,
    form: QueryForm | None = None,
    loaded: SavedQuery | None = None,
    status: int = 200,
) -> HttpResponse:
    dataset = workspace.dataset
    if form is None:
        initial, loaded = _editor_initial(request, workspace)
        form = QueryForm(initial=initial)
    policies = datasets.policy_map(dataset)
    columns, rows = datasets.masked_sample(dataset, policies)
    organization = workspace.entitlement.contract.buyer
    context = {
        "dataset": dataset,
        "workspace": workspace,
        "organization": organization,
        "schema": schema_rows(dataset, policies),
        "sample_columns": columns,
        "sample_rows": rows,
        "form": form,
        "loaded": loaded,
        "saved_queries": list(_saved_queries(workspace)),
        "can_add": may(request, organization.pk, "add"),
        "runs_page": paginate(request, workspace_runs(workspace)),
        "usage": workspaces.usage(workspace.entitlement, dataset=dataset),
    }
    return render(request, "sandbox/workspace.html", context, status=status)


@require_GET
@login_required
def workspace(request: HttpRequest, pk: int) -> HttpResponse:
    """The SQL workspace on one dataset."""
    try:
        found = workspace_or_404(request, pk)
    except DomainError as exc:  # the entitlement ended: say so rather than 404
        messages.error(request, str(exc.message))
        return redirect("sandbox:workspace_list")
    return _workspace_page(request, found)


def _posted_workspace(request: HttpRequest, pk: int) -> workspaces.Workspace | HttpResponse:
    try:
        return workspace_or_404(request, pk)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("sandbox:workspace_list")


@require_POST
@login_required
def query_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit the editor's SQL; the result page follows the run."""
    found = _posted_workspace(request, pk)
    if isinstance(found, HttpResponse):
        return found
    form = QueryForm(request.POST)
    run = form.is_valid() and submit(
        request, form, queries.query_submit, dataset=found.dataset, by=request.user, sql=form.cleaned_data["sql"]
    )
    if run:
        return redirect("sandbox:run_detail", pk=run.pk)
    return _workspace_page(request, found, form=form, loaded=_loaded(request, found), status=form_status(form))


def _loaded(request: HttpRequest, workspace: workspaces.Workspace) -> SavedQuery | None:
    saved_pk = request.POST.get("saved", "")
    return _saved_queries(workspace).filter(pk=saved_pk).first() if saved_pk.isdigit() else None


@require_POST
@login_required
def saved_query_save(request: HttpRequest, pk: int) -> HttpResponse:
    """Keep the editor's SQL under a title: a new saved query, or the loaded one changed (`save` = "update")."""
    found = _posted_workspace(request, pk)
    if isinstance(found, HttpResponse):
        return found
    form = QueryForm(request.POST, require_title=True)
    loaded = _loaded(request, found)
    target = loaded if request.POST.get("save") == "update" else None
    saved = form.is_valid() and submit(
        request, form, workspaces.saved_query_save, dataset=found.dataset, by=request.user,
        title=form.cleaned_data["title"], sql=form.cleaned_data["sql"], saved=target,
    )  # fmt: skip
    if saved:
        messages.success(request, _("The query “%(title)s” is saved.") % {"title": saved.title})
        return redirect(f"{reverse('sandbox:workspace', args=[found.dataset.pk])}?saved={saved.pk}")
    return _workspace_page(request, found, form=form, loaded=loaded, status=form_status(form))


@require_POST
@login_required
def saved_query_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a saved query from the workspace."""
    saved = get_object_or_404(SavedQuery.objects.restrict(request.user, "view"), pk=pk)
    if run_action(request, workspaces.saved_query_delete, saved=saved, by=request.user) is None:
        messages.success(request, _("The query “%(title)s” is deleted.") % {"title": saved.title})
    return redirect("sandbox:workspace", pk=saved.dataset_id)


# --- one run -------------------------------------------------------------------------------------------------------


def _run_or_404(request: HttpRequest, pk: int) -> QueryRun:
    runs = visible_runs(request.user).select_related("dataset", "organization", "user", "entitlement__contract")
    return get_object_or_404(runs, pk=pk)


def _export_of(run: QueryRun) -> ExportRequest | None:
    return ExportRequest.objects.filter(run=run).select_related("requested_by", "decided_by").first()


def _run_page(request: HttpRequest, run: QueryRun, *, form: ExportRequestForm | None = None, status: int = 200):
    export = _export_of(run)
    buyer_side = may(request, run.organization_id, "view")
    may_request = may(request, run.organization_id, "add") and run.status == QueryStatus.SUCCEEDED
    context = {
        "run": run,
        "dataset": run.dataset,
        "pending": run.status in PENDING,
        "notes": note_lines(run),
        "export": export,
        "buyer_side": buyer_side,
        "can_request_export": may_request and export is None,
        "export_form": form or ExportRequestForm(),
    }
    return render(request, "sandbox/run_detail.html", context, status=status)


@require_GET
@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A run's state, result and disclosure report."""
    return _run_page(request, _run_or_404(request, pk))


@require_GET
@login_required
def run_status(request: HttpRequest, pk: int) -> JsonResponse:
    """A run's state, for its page to poll while it is queued or running."""
    run = visible_runs(request.user).filter(pk=pk).only("status").first()
    if run is None:
        raise Http404
    return no_store_json({"status": run.status, "status_label": run.get_status_display(),
                          "done": run.status not in PENDING})  # fmt: skip


@require_POST
@login_required
def export_request(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask the operator to release a run's result, stating the purpose."""
    run = _run_or_404(request, pk)
    form = ExportRequestForm(request.POST)
    if form.is_valid() and submit(
        request, form, exports.export_request, run=run, by=request.user, purpose=form.cleaned_data["purpose"]
    ):
        messages.success(request, _("The export is requested. The operator reviews it before you can download it."))
        return redirect("sandbox:run_detail", pk=run.pk)
    return _run_page(request, run, form=form, status=form_status(form))


urlpatterns = [
    path("", sandbox_home, name="home"),
    path("workspaces/", workspace_list, name="workspace_list"),
    path("workspaces/<int:pk>/", workspace, name="workspace"),
    path("workspaces/<int:pk>/run/", query_run, name="query_run"),
    path("workspaces/<int:pk>/saved/", saved_query_save, name="saved_query_save"),
    path("saved/<int:pk>/delete/", saved_query_delete, name="saved_query_delete"),
    path("runs/<int:pk>/", run_detail, name="run_detail"),
    path("runs/<int:pk>/status/", run_status, name="run_status"),
    path("runs/<int:pk>/export/", export_request, name="export_request"),
]
