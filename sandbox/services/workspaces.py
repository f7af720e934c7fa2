"""Buyers' workspaces: which datasets a user reaches through a sandbox entitlement, the daily quota, saved queries.

A buyer reaches a dataset through a running sandbox entitlement of one of their organisations on a contract for the
dataset's product. Quotas count per entitlement (per contract) per calendar day in TIME_ZONE: every query submitted
counts (refused ones too), and the rows each finished query scanned (the dataset's rows times the times the query
reads it).
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import grant_to_organization, person_of, require_role
from audit.services import audit_record
from marketplace.choices import EntitlementKind
from marketplace.models import Entitlement
from marketplace.services.downloads import buyer_entitlements, ended_message, is_running
from sandbox.choices import DatasetStatus
from sandbox.models import QueryRun, SandboxDataset, SavedQuery
from sandbox.services.common import SandboxError, SandboxNotFound, clean_sql

# Datasets a buyer's workspace opens on: published, or being rebuilt after a policy change (queries wait).
REACHABLE_STATES = (DatasetStatus.PUBLISHED, DatasetStatus.PREPARING)


@dataclass(frozen=True)
class Workspace:
    """A dataset as one buyer reaches it, and the entitlement their queries run (and count) under."""

    dataset: SandboxDataset
    entitlement: Entitlement


@dataclass(frozen=True)
class Usage:
    """One entitlement's use of one day's quota."""

    queries: int
    query_quota: int
    scanned_rows: int
    scanned_rows_quota: int

    @property
    def queries_left(self) -> int:
        return max(0, self.query_quota - self.queries)

    @property
    def scanned_rows_left(self) -> int:
        return max(0, self.scanned_rows_quota - self.scanned_rows)

    @property
    def exhausted(self) -> bool:
        return not (self.queries_left and self.scanned_rows_left)


# --- reaching datasets -----------------------------------------------------------------------------------------


def sandbox_entitlements(user: Any) -> QuerySet:
    """The user's organisations' sandbox entitlements, running or not."""
    return buyer_entitlements(user).filter(kind=EntitlementKind.SANDBOX)


def buyer_datasets(user: Any) -> QuerySet:
    """Published datasets of products the user's organisations hold a running sandbox entitlement for."""
    products = sandbox_entitlements(user).active().values("contract__listing__product_id")
    return SandboxDataset.objects.published().filter(product_id__in=products)


def workspace_for(user: Any, dataset_pk: Any) -> Workspace:
    """The dataset and the running entitlement the user reaches it through; `not_found` for anybody else."""
    dataset = (
        SandboxDataset.objects.filter(pk=_pk(dataset_pk), status__in=REACHABLE_STATES, published_at__isnull=False)
        .select_related("organization", "product", "version")
        .first()
    )
    held = (
        list(
            sandbox_entitlements(user)
            .filter(contract__listing__product_id=dataset.product_id)
            .select_related("contract__buyer", "contract__listing__product")
            .order_by("pk")
        )
        if dataset
        else []
    )
    if not held:
        raise SandboxNotFound()
    running = [entitlement for entitlement in held if is_running(entitlement)]
    if not running:
        raise SandboxError(ended_message(held[0]), code="entitlement_ended")
    return Workspace(dataset=dataset, entitlement=running[0])


def _pk(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SandboxNotFound() from None


# --- quota -----------------------------------------------------------------------------------------------------


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """Midnight to midnight of `day` in TIME_ZONE."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min))


def usage(
    entitlement: Entitlement, day: datetime.date | None = None, *, dataset: SandboxDataset | None = None
) -> Usage:
    """How much of the daily quota the entitlement used on `day` (today by default); the quota is `dataset`'s, by
    default the live dataset of the contract's product."""
    if dataset is None:
        dataset = SandboxDataset.objects.live().get(product_id=entitlement.contract.listing.product_id)
    start, end = day_bounds(day or timezone.localdate())
    used = QueryRun.objects.filter(entitlement=entitlement, created_at__gte=start, created_at__lt=end).aggregate(
        queries=Count("pk"), scanned=Sum("scanned_rows")
    )
    return Usage(
        queries=used["queries"],
        query_quota=dataset.daily_query_quota,
        scanned_rows=used["scanned"] or 0,
        scanned_rows_quota=dataset.daily_scanned_rows_quota,
    )


def dataset_usage(dataset: SandboxDataset, day: datetime.date | None = None) -> list[tuple[Entitlement, Usage]]:
    """Each entitlement's use of the dataset's quota on `day`, for its operator (busiest first)."""
    start, end = day_bounds(day or timezone.localdate())
    rows = (
        QueryRun.objects.filter(dataset=dataset, created_at__gte=start, created_at__lt=end)
        .values("entitlement_id")
        .annotate(queries=Count("pk"), scanned=Sum("scanned_rows"))
    )
    held = Entitlement.objects.select_related("contract__buyer")
    entitlements = held.in_bulk([row["entitlement_id"] for row in rows])
    found = [
        (entitlements[row["entitlement_id"]],
         Usage(row["queries"], dataset.daily_query_quota, row["scanned"] or 0, dataset.daily_scanned_rows_quota))
        for row in rows
    ]  # fmt: skip
    return sorted(found, key=lambda item: (-item[1].queries, item[0].pk))


# --- saved queries ---------------------------------------------------------------------------------------------


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise SandboxError(_("Give the query a title."), code="title_required")
    return title[:200]


@transaction.atomic
def saved_query_save(
    *, dataset: SandboxDataset, by: Any, title: str, sql: str, saved: SavedQuery | None = None
) -> SavedQuery:
    """Keep a named query in the buyer's workspace (a new one, or `saved` changed)."""
    workspace = workspace_for(by, dataset.pk)
    organization = workspace.entitlement.contract.buyer
    title, sql = _clean_title(title), clean_sql(sql)
    if saved is None:
        require_role(user=by, organization=organization, action="add")
        saved = SavedQuery.objects.create(
            dataset=workspace.dataset, organization=organization, created_by=person_of(by), title=title, sql=sql
        )
        grant_to_organization(saved, organization)
        action = "savedquery.created"
    else:
        saved = _own_saved(saved, by, dataset=workspace.dataset)
        saved.title, saved.sql = title, sql
        saved.save(update_fields=["title", "sql", "updated_at"])
        action = "savedquery.updated"
    audit_record(action=action, obj=saved, actor=by, organization_id=saved.organization_id,
                 data={"dataset": saved.dataset_id, "title": title})  # fmt: skip
    return saved


def _own_saved(saved: SavedQuery, by: Any, *, dataset: SandboxDataset | None = None) -> SavedQuery:
    mine = SavedQuery.objects.restrict(by, "change").select_for_update(of=("self",))
    if dataset is not None:
        mine = mine.filter(dataset=dataset)
    found = mine.filter(pk=saved.pk).first()
    if found is None:
        raise SandboxNotFound()
    return found


@transaction.atomic
def saved_query_delete(*, saved: SavedQuery, by: Any) -> None:
    """Remove a saved query from the buyer's workspace."""
    saved = _own_saved(saved, by)
    audit_record(action="savedquery.deleted", obj=saved, actor=by, organization_id=saved.organization_id,
                 data={"dataset": saved.dataset_id, "title": saved.title})  # fmt: skip
    saved.delete()
