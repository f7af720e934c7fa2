"""Queries: a buyer submits SQL in a workspace; the `sandbox.run_query` task runs it with `sandbox.engine` and keeps
only what disclosure control let through.

    queued → running → succeeded | refused | failed;  queued → refused (checked again when the task starts)

Every state is audited (`queryrun.queued` carries the SQL). A run found `running` when its task starts again was cut
off (the worker died mid-query): it fails instead of running a second time. Rows scanned = the dataset's rows times
the times the query reads the dataset (the engine's `view_references`).
"""

import datetime
import logging
import math
import time
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.services import grant_to_organization, person_of
from audit.services import audit_record
from marketplace.choices import EntitlementKind
from marketplace.models import Entitlement
from marketplace.services.downloads import ended_message, is_running, require_access
from registry.choices import ProductStatus
from registry.storage import local_path
from sandbox.choices import DatasetStatus, QueryStatus
from sandbox.models import QueryRun, SandboxDataset
from sandbox.services.common import QuotaExceeded, SandboxConflict, clean_sql
from sandbox.services.datasets import engine_policy
from sandbox.services.workspaces import usage, workspace_for

logger = logging.getLogger(__name__)


# --- submitting ------------------------------------------------------------------------------------------------


@transaction.atomic
def query_submit(*, dataset: SandboxDataset, by: Any, sql: str) -> QueryRun:
    """Queue a query on a dataset the buyer reaches, within the contract's daily quota."""
    workspace = workspace_for(by, dataset.pk)
    # The entitlement's row lock queues a contract's concurrent submissions: two cannot both take the last query.
    related = Entitlement.objects.select_related("contract__buyer", "contract__listing__product")
    entitlement = related.select_for_update(of=("self",)).get(pk=workspace.entitlement.pk)
    require_access(entitlement, by=by, kind=EntitlementKind.SANDBOX)
    dataset = workspace.dataset
    if dataset.status != DatasetStatus.PUBLISHED:
        raise SandboxConflict(
            _("The operator is rebuilding this dataset; try again in a few minutes."), code="dataset_preparing"
        )
    sql = clean_sql(sql)
    _require_quota(entitlement, dataset)
    buyer = entitlement.contract.buyer
    run = QueryRun.objects.create(dataset=dataset, entitlement=entitlement, organization=buyer, user=person_of(by),
                                  sql=sql)  # fmt: skip
    grant_to_organization(run, buyer)
    audit_record(action="queryrun.queued", obj=run, actor=by, organization_id=buyer.pk,
                 data={"dataset": dataset.pk, "contract": entitlement.contract.number, "sql": sql})  # fmt: skip
    transaction.on_commit(lambda: _queue(run.pk))
    return run


def _require_quota(entitlement: Entitlement, dataset: SandboxDataset) -> None:
    used = usage(entitlement, dataset=dataset)
    if used.exhausted:
        raise QuotaExceeded(
            _("Today's quota of this contract is used up (%(queries)s of %(query_quota)s queries, %(rows)s of "
              "%(rows_quota)s rows scanned); it starts again at midnight.")
            % {"queries": used.queries, "query_quota": used.query_quota, "rows": f"{used.scanned_rows:,}",
               "rows_quota": f"{used.scanned_rows_quota:,}"}
        )  # fmt: skip


def _queue(run_id: int) -> None:
    from sandbox.tasks import run_query

    run_query.delay(run_id)


# --- running (the `sandbox.run_query` task) --------------------------------------------------------------------


def query_execute(*, run_id: int) -> QueryRun | None:
    """Run a queued query in a fresh locked-down DuckDB and keep what disclosure control let through."""
    from sandbox import engine  # DuckDB and the disclosure rules load in the worker only

    run = _start(run_id)
    if run is None or run.status != QueryStatus.RUNNING:
        return run
    started = time.monotonic()
    try:
        with local_path(run.dataset.file, suffix=".parquet") as path:
            result = engine.run_query(run.sql, parquet_path=str(path), policy=engine_policy(run.dataset))
    except engine.QueryRefused as exc:
        return _finish(run_id, QueryStatus.REFUSED, _elapsed(started), refusal_code=exc.code, message=str(exc.message))
    except Exception:
        logger.exception("Sandbox query %s failed", run_id)
        message = _("The sandbox could not run this query. Try again; if it keeps failing, tell the operator.")
        return _finish(run_id, QueryStatus.FAILED, _elapsed(started), message=message)
    return _finish(run_id, QueryStatus.SUCCEEDED, _elapsed(started), **_outcome(result, run.dataset))


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


@transaction.atomic
def _start(run_id: int) -> QueryRun | None:
    """Lock the run and move it to running, unless its access or dataset went away since it was queued."""
    related = QueryRun.objects.select_related("dataset__version", "entitlement__contract__listing__product")
    run = related.select_for_update(of=("self",)).filter(pk=run_id).first()
    if run is None:
        return None
    if run.status == QueryStatus.RUNNING:
        run.message = _("The query was cut off before it finished (the sandbox worker stopped). Run it again.")
        run.transition_to(QueryStatus.FAILED, reason="interrupted")
        return run
    if run.status != QueryStatus.QUEUED:
        return run
    refusal = _refusal(run)
    if refusal is not None:
        run.refusal_code, run.message = refusal
        run.transition_to(QueryStatus.REFUSED, data={"code": run.refusal_code, "message": run.message})
        return run
    run.transition_to(QueryStatus.RUNNING)
    return run


def _refusal(run: QueryRun) -> tuple[str, str] | None:
    """Why a queued run may no longer run: its entitlement ended, or the dataset is not published any more."""
    entitlement = run.entitlement
    if not is_running(entitlement):
        return "entitlement_ended", ended_message(entitlement)
    if entitlement.contract.listing.product.status != ProductStatus.REGISTERED:
        return "product_unavailable", _("The regulator has withdrawn this product's registration.")
    if run.dataset.status != DatasetStatus.PUBLISHED:
        return "dataset_unavailable", _("The dataset is being rebuilt or was withdrawn; run the query again later.")
    return None


def _outcome(result: Any, dataset: SandboxDataset) -> dict[str, Any]:
    return {
        "columns": [_text(str(column)) for column in result.columns],
        "rows": [[_cell(value) for value in row] for row in result.rows],
        "aggregated": bool(result.aggregated),
        "notes": _cell(list(result.notes)),
        "suppressed_rows": int(result.suppressed_rows),
        "truncated": bool(result.truncated),
        "scanned_rows": (dataset.row_count or 0) * int(result.view_references),
    }


@transaction.atomic
def _finish(run_id: int, status: str, duration_ms: int, **fields: Any) -> QueryRun:
    run = QueryRun.objects.select_for_update().get(pk=run_id)
    if run.status != QueryStatus.RUNNING:  # failed as interrupted while this copy still ran: keep that
        return run
    for key, value in fields.items():
        setattr(run, key, value)
    run.duration_ms = duration_ms
    data = {"duration_ms": duration_ms}
    if status == QueryStatus.SUCCEEDED:
        data |= {"rows": len(run.rows), "suppressed_rows": run.suppressed_rows, "truncated": run.truncated,
                 "scanned_rows": run.scanned_rows}  # fmt: skip
    else:
        data |= {"code": run.refusal_code, "message": run.message}
    run.transition_to(status, data=data)
    return run


# --- values as JSON --------------------------------------------------------------------------------------------


def _text(value: str) -> str:
    return value.replace("\x00", "\ufffd")  # PostgreSQL's jsonb cannot hold NUL


def _cell(value: Any) -> Any:
    """A DuckDB value as JSON: numbers stay numbers, dates ISO 8601, anything else its text."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_cell(item) for item in value]
    if isinstance(value, dict):
        return {_text(str(key)): _cell(item) for key, item in value.items()}
    return _text(str(value))
