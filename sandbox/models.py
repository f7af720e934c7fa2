"""Sandbox datasets an operator publishes, the queries buyers run on them, and the results they ask to export."""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.querysets import RestrictedQuerySet
from core.state import StateMachineMixin
from sandbox.choices import ColumnAccess, DatasetStatus, ExportStatus, QueryStatus


def dataset_upload_to(instance: "SandboxDataset", filename: str) -> str:
    return f"sandbox/{instance.organization_id}/{instance.version_id}/{filename}"


def export_upload_to(instance: "ExportRequest", filename: str) -> str:
    return f"sandbox-exports/{instance.organization_id}/{filename}"


class SandboxDatasetQuerySet(RestrictedQuerySet):
    def live(self) -> "SandboxDatasetQuerySet":
        return self.exclude(status=DatasetStatus.WITHDRAWN)

    def published(self) -> "SandboxDatasetQuerySet":
        return self.filter(status=DatasetStatus.PUBLISHED)


class SandboxDataset(StateMachineMixin):
    """A registered product's version published for computation only: Parquet, column policies, disclosure rules."""

    TRANSITIONS: ClassVar = {
        DatasetStatus.PREPARING: frozenset({DatasetStatus.PUBLISHED, DatasetStatus.FAILED, DatasetStatus.WITHDRAWN}),
        DatasetStatus.FAILED: frozenset({DatasetStatus.PREPARING, DatasetStatus.WITHDRAWN}),
        DatasetStatus.PUBLISHED: frozenset({DatasetStatus.PREPARING, DatasetStatus.WITHDRAWN}),
    }

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="sandbox_datasets")
    product = models.ForeignKey("registry.DataProduct", on_delete=models.PROTECT, related_name="sandbox_datasets")
    version = models.ForeignKey("registry.ProductVersion", on_delete=models.PROTECT, related_name="sandbox_datasets")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=DatasetStatus, default=DatasetStatus.PREPARING, db_index=True
    )
    status_reason = models.TextField(_("reason for the last change"), blank=True)
    # Disclosure rules applied to every result.
    min_group_size = models.PositiveIntegerField(
        _("minimum group size"), default=10, help_text=_("Aggregated rows of smaller groups are suppressed.")
    )
    row_cap = models.PositiveIntegerField(_("most rows per result"), default=1000)
    count_rounding = models.PositiveIntegerField(
        _("round counts to a multiple of"), default=5, help_text=_("1 leaves counts as they are.")
    )
    # Per-contract quota, per calendar day.
    daily_query_quota = models.PositiveIntegerField(_("queries per contract per day"), default=200)
    daily_scanned_rows_quota = models.PositiveBigIntegerField(
        _("rows scanned per contract per day"), default=1_000_000_000
    )
    # The Parquet the queries read: hidden columns left out, masked columns stored masked.
    file = models.FileField(_("Parquet file"), upload_to=dataset_upload_to, max_length=300, blank=True)
    sha256 = models.CharField(_("SHA-256 of the Parquet file"), max_length=64, blank=True)
    row_count = models.PositiveBigIntegerField(_("rows"), null=True, blank=True)
    schema = models.JSONField(_("schema"), default=list, blank=True, help_text=_("[{name, type}] of the file."))
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    error_message = models.TextField(_("error"), blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = SandboxDatasetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("sandbox dataset")
        verbose_name_plural = _("sandbox datasets")
        constraints = [
            models.UniqueConstraint(
                fields=["product"],
                condition=~models.Q(status=DatasetStatus.WITHDRAWN),
                name="one_live_sandbox_dataset_per_product",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def on_transition(self, old: str, new: str) -> None:
        if new == DatasetStatus.PUBLISHED:
            self.published_at = self.published_at or timezone.now()


class ColumnPolicy(models.Model):
    """How one column of a sandbox dataset may be used: visible, masked, in aggregates only, or hidden."""

    dataset = models.ForeignKey(SandboxDataset, on_delete=models.CASCADE, related_name="policies")
    column = models.CharField(_("column"), max_length=200)
    access = models.CharField(_("access"), max_length=20, choices=ColumnAccess, default=ColumnAccess.VISIBLE)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["dataset", "position"]
        verbose_name = _("column policy")
        verbose_name_plural = _("column policies")
        constraints = [models.UniqueConstraint(fields=["dataset", "column"], name="one_policy_per_column")]

    def __str__(self) -> str:
        return f"{self.column}: {self.get_access_display()}"


class SavedQuery(models.Model):
    """A buyer's named SQL for a dataset, kept in their workspace."""

    dataset = models.ForeignKey(SandboxDataset, on_delete=models.CASCADE, related_name="saved_queries")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    sql = models.TextField(_("SQL"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        verbose_name = _("saved query")
        verbose_name_plural = _("saved queries")

    def __str__(self) -> str:
        return self.title


class QueryRunQuerySet(RestrictedQuerySet):
    def visible_to(self, user: Any) -> "QueryRunQuerySet":
        """Runs of the user's buyer organisations, and every run on a dataset their operator organisations publish."""
        own = self.restrict(user, "view").values("pk")
        operated = SandboxDataset.objects.restrict(user, "view").values("pk")
        return self.filter(models.Q(pk__in=own) | models.Q(dataset__in=operated))


class QueryRun(StateMachineMixin):
    """One query a buyer ran under a contract: the SQL, what disclosure control let through, and the cost."""

    TRANSITIONS: ClassVar = {
        QueryStatus.QUEUED: frozenset({QueryStatus.RUNNING, QueryStatus.REFUSED, QueryStatus.FAILED}),
        QueryStatus.RUNNING: frozenset({QueryStatus.SUCCEEDED, QueryStatus.REFUSED, QueryStatus.FAILED}),
    }

    dataset = models.ForeignKey(SandboxDataset, on_delete=models.PROTECT, related_name="runs")
    entitlement = models.ForeignKey("marketplace.Entitlement", on_delete=models.PROTECT, related_name="query_runs")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sql = models.TextField(_("SQL"))
    status = models.CharField(_("status"), max_length=20, choices=QueryStatus, default=QueryStatus.QUEUED)
    refusal_code = models.CharField(_("refusal code"), max_length=40, blank=True)
    message = models.TextField(_("message"), blank=True)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    rows = models.JSONField(_("rows"), default=list, blank=True)
    aggregated = models.BooleanField(_("aggregated"), default=False)
    notes = models.JSONField(
        _("disclosure report"), default=list, blank=True, help_text=_("What disclosure control suppressed and why.")
    )
    suppressed_rows = models.PositiveIntegerField(_("rows suppressed"), default=0)
    truncated = models.BooleanField(_("cut at the row cap"), default=False)
    scanned_rows = models.PositiveBigIntegerField(_("rows scanned"), default=0)
    duration_ms = models.PositiveIntegerField(_("time (ms)"), null=True, blank=True)
    created_at = models.DateTimeField(_("run at"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = QueryRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("query run")
        verbose_name_plural = _("query runs")
        indexes = [models.Index(fields=["entitlement", "created_at"])]

    def __str__(self) -> str:
        return f"{self.dataset} #{self.pk}"

    def on_transition(self, old: str, new: str) -> None:
        if new in (QueryStatus.SUCCEEDED, QueryStatus.REFUSED, QueryStatus.FAILED):
            self.finished_at = timezone.now()

    def audit_organization_id(self) -> int | None:
        return self.organization_id


class ExportRequest(StateMachineMixin):
    """A buyer's request to take a query result out of the sandbox; only the dataset's operator may decide it."""

    TRANSITIONS: ClassVar = {ExportStatus.SUBMITTED: frozenset({ExportStatus.APPROVED, ExportStatus.REJECTED})}

    run = models.OneToOneField(QueryRun, on_delete=models.PROTECT, related_name="export_request")
    dataset = models.ForeignKey(SandboxDataset, on_delete=models.PROTECT, related_name="export_requests")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    purpose = models.TextField(_("purpose of the export"))
    status = models.CharField(
        _("status"), max_length=20, choices=ExportStatus, default=ExportStatus.SUBMITTED, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason for the decision"), blank=True)
    file = models.FileField(_("released file"), upload_to=export_upload_to, max_length=300, blank=True)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, blank=True)
    sha256 = models.CharField(_("SHA-256 released"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("export request")
        verbose_name_plural = _("export requests")

    def __str__(self) -> str:
        return f"{self.dataset} — export #{self.pk}"

    def audit_organization_id(self) -> int | None:
        return self.dataset.organization_id


class ExportDownload(models.Model):
    """One download of a released result: who, when, from where."""

    export = models.ForeignKey(ExportRequest, on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(_("downloaded at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("export download")
        verbose_name_plural = _("export downloads")

    def __str__(self) -> str:
        return f"{self.export} ({self.created_at:%Y-%m-%d %H:%M})"
