"""Sandbox datasets: an operator publishes a registered version with column policies and disclosure rules; a Celery
task builds the Parquet file the queries read.

    preparing → published | failed;  published → preparing (policies changed: the file is rebuilt);
    failed → preparing (any update retries the build);  * → withdrawn

Policies default from the version's PII findings: identity numbers and bank cards `hidden`, other personal
information `masked`, the rest `visible`; a column flagged as personal information is never `visible`. A build
that finishes after the policies changed again is dropped: the build queued by that change publishes.
"""

import logging
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.services import grant_to_organization, person_of, require_role
from audit.services import audit_record
from marketplace.services.common import is_regulator
from registry.choices import ProductStatus
from registry.models import DataProduct, ProductVersion, VersionStatus
from registry.pii import PiiKind
from registry.profiling import ProfilingError
from registry.tasks import safe_message
from sandbox.choices import ColumnAccess, DatasetStatus
from sandbox.models import ColumnPolicy, SandboxDataset
from sandbox.services import parquet
from sandbox.services.common import SandboxConflict, SandboxError, require_operator, require_reason

logger = logging.getLogger(__name__)

RULE_FIELDS = ("min_group_size", "row_cap", "count_rounding", "daily_query_quota", "daily_scanned_rows_quota")
HIDDEN_KINDS = frozenset({PiiKind.ID_NUMBER, PiiKind.BANK_CARD})


# --- policies and rules ----------------------------------------------------------------------------------------


def _columns(version: ProductVersion) -> list[str]:
    return [str(column["name"]) for column in version.columns]


def _pii_columns(version: ProductVersion) -> dict[str, str]:
    return {finding["column"]: finding["kind"] for finding in version.pii_findings or []}


def default_policies(version: ProductVersion) -> dict[str, str]:
    """Column → access from the profile: ID numbers and bank cards hidden, other PII masked, the rest visible."""
    kinds = _pii_columns(version)
    return {name: _default_access(kinds.get(name)) for name in _columns(version)}


def _default_access(kind: str | None) -> str:
    if kind in HIDDEN_KINDS:
        return ColumnAccess.HIDDEN
    return ColumnAccess.MASKED if kind else ColumnAccess.VISIBLE


def _checked_policies(version: ProductVersion, base: dict[str, str], changes: dict[str, str]) -> dict[str, str]:
    """`base` with `changes` applied, every column of the version in order, or a ValidationError saying why not."""
    unknown = sorted(set(changes) - set(base))
    if unknown:
        message = _("These are not columns of the version: %(columns)s") % {"columns": ", ".join(unknown)}
        raise _invalid_policies(message, "unknown_column")
    if any(access not in ColumnAccess.values for access in changes.values()):
        raise _invalid_policies(_("Unknown column access."), "invalid")
    chosen = {**base, **changes}
    exposed = sorted(name for name in _pii_columns(version) if chosen.get(name) == ColumnAccess.VISIBLE)
    if exposed:
        message = _("These columns hold personal information and cannot be visible: %(columns)s")
        raise _invalid_policies(message % {"columns": ", ".join(exposed)}, "pii_visible")
    if all(access == ColumnAccess.HIDDEN for access in chosen.values()):
        raise _invalid_policies(_("Leave at least one column that is not hidden."), "all_hidden")
    return chosen


def _invalid_policies(message: str, code: str) -> ValidationError:
    return ValidationError({"policies": ValidationError(message, code=code)})


def policy_map(dataset: SandboxDataset) -> dict[str, str]:
    """Column → access of the dataset, in column order."""
    return dict(ColumnPolicy.objects.filter(dataset=dataset).order_by("position").values_list("column", "access"))


def _apply_rules(dataset: SandboxDataset, rules: dict[str, Any]) -> dict[str, Any]:
    """Set the disclosure rules and quotas given; returns those that changed."""
    unknown = sorted(set(rules) - set(RULE_FIELDS))
    if unknown:
        raise ValidationError(_("These rules do not exist: %(f)s") % {"f": ", ".join(unknown)}, code="invalid")
    values = {key: _whole_number(value) for key, value in rules.items()}
    message = _("A whole number, at least 1.")
    errors = {key: ValidationError(message, code="invalid") for key, value in values.items() if not value or value < 1}
    if errors:
        raise ValidationError(errors, code="invalid")
    changed = {key: value for key, value in values.items() if getattr(dataset, key) != value}
    for key, value in changed.items():
        setattr(dataset, key, value)
    return changed


def _whole_number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _queue_prepare(dataset_id: int) -> None:
    from sandbox.tasks import prepare_dataset

    transaction.on_commit(lambda: prepare_dataset.delay(dataset_id))


# --- publishing, changing, withdrawing -------------------------------------------------------------------------


def _require_publishable(version: ProductVersion) -> None:
    if version.product.status != ProductStatus.REGISTERED:
        raise SandboxError(_("Only a registered product can be published."), code="product_not_registered")
    if version.status != VersionStatus.REGISTERED or not version.is_profiled:
        raise SandboxError(_("Only a registered version can be published."), code="version_not_registered")
    if SandboxDataset.objects.live().filter(product_id=version.product_id).exists():
        raise SandboxConflict(_("This product is already in the sandbox."), code="already_published")


@transaction.atomic
def dataset_publish(
    *,
    version: ProductVersion,
    by: Any,
    title: str,
    description: str = "",
    policies: dict[str, str] | None = None,
    **rules: Any,
) -> SandboxDataset:
    """Publish a registered version of the operator's own product; the Parquet is built after the commit."""
    product = DataProduct.objects.select_for_update().select_related("organization").get(pk=version.product_id)
    version = ProductVersion.objects.select_related("product").get(pk=version.pk)
    organization = product.organization
    require_role(user=by, organization=organization, action="add")
    require_operator(organization)
    _require_publishable(version)
    chosen = _checked_policies(version, default_policies(version), policies or {})
    dataset = SandboxDataset(organization=organization, product=product, version=version, title=(title or "").strip(),
                             description=description, created_by=person_of(by))  # fmt: skip
    _apply_rules(dataset, rules)
    dataset.full_clean(exclude=["file"])
    try:
        with transaction.atomic():
            dataset.save()
    except IntegrityError as exc:  # a concurrent publication of the same product won
        raise SandboxConflict(_("This product is already in the sandbox."), code="already_published") from exc
    ColumnPolicy.objects.bulk_create(
        ColumnPolicy(dataset=dataset, column=name, access=access, position=position)
        for position, (name, access) in enumerate(chosen.items())
    )
    grant_to_organization(dataset, organization)
    audit_record(action="sandboxdataset.created", obj=dataset, actor=by, organization_id=organization.pk,
                 data={"product": product.pk, "version": version.number, "policies": chosen,
                       "rules": {key: getattr(dataset, key) for key in RULE_FIELDS}})  # fmt: skip
    _queue_prepare(dataset.pk)
    return dataset


def _locked(dataset: SandboxDataset) -> SandboxDataset:
    related = SandboxDataset.objects.select_related("organization", "version__product")
    return related.select_for_update(of=("self",)).get(pk=dataset.pk)


@transaction.atomic
def dataset_update(
    *, dataset: SandboxDataset, by: Any, policies: dict[str, str] | None = None, **rules: Any
) -> SandboxDataset:
    """Change rules (at once) and policies (the columns named; the file is rebuilt when any access changed)."""
    dataset = _locked(dataset)
    require_role(user=by, organization=dataset.organization, action="change")
    if dataset.status == DatasetStatus.WITHDRAWN:
        raise SandboxConflict(_("This dataset has been withdrawn."), code="dataset_withdrawn")
    changed_rules = _apply_rules(dataset, rules)
    current = policy_map(dataset)
    chosen = _checked_policies(dataset.version, current, policies or {})
    changed_policies = {name: access for name, access in chosen.items() if current.get(name) != access}
    for name, access in changed_policies.items():
        ColumnPolicy.objects.filter(dataset=dataset, column=name).update(access=access)
    dataset.full_clean(exclude=["file"])
    dataset.save()
    if changed_rules or changed_policies:
        audit_record(action="sandboxdataset.updated", obj=dataset, actor=by, organization_id=dataset.organization_id,
                     data={"rules": changed_rules, "policies": changed_policies})  # fmt: skip
    if changed_policies or dataset.status == DatasetStatus.FAILED:
        _rebuild(dataset, by=by, reason=_("Column policies changed.") if changed_policies else _("Build retried."))
    return dataset


def _rebuild(dataset: SandboxDataset, *, by: Any, reason: str) -> None:
    if dataset.status != DatasetStatus.PREPARING:
        dataset.progress, dataset.error_message = 0, ""
        dataset.transition_to(DatasetStatus.PREPARING, by=by, reason=reason)
    _queue_prepare(dataset.pk)


@transaction.atomic
def dataset_withdraw(*, dataset: SandboxDataset, by: Any, reason: str) -> SandboxDataset:
    """Take a dataset out of the sandbox (its operator, or a regulator): no more queries; history is kept."""
    dataset = _locked(dataset)
    if not is_regulator(by):
        require_role(user=by, organization=dataset.organization, action="change")
    dataset.status_reason = require_reason(reason)
    dataset.transition_to(DatasetStatus.WITHDRAWN, by=by, reason=dataset.status_reason)
    return dataset


def withdraw_withdrawn_product(*, product: DataProduct, by: Any, reason: str) -> None:
    """Registry hook: a suspended or revoked product's live sandbox dataset is withdrawn, with the same reason."""
    for dataset in SandboxDataset.objects.live().select_for_update().filter(product=product):
        dataset.status_reason = reason or _("The product's registration was withdrawn.")
        dataset.transition_to(DatasetStatus.WITHDRAWN, by=by, reason=dataset.status_reason)


# --- building the file (the `sandbox.prepare_dataset` task) -----------------------------------------------------


def _progress(dataset_id: int, percent: int) -> None:
    SandboxDataset.objects.filter(pk=dataset_id, status=DatasetStatus.PREPARING).update(progress=percent)


def dataset_prepare(*, dataset_id: int) -> SandboxDataset | None:
    """Build the Parquet a preparing dataset's queries will read, and publish it (or mark it failed)."""
    dataset = SandboxDataset.objects.select_related("version__product").filter(pk=dataset_id).first()
    if dataset is None or dataset.status != DatasetStatus.PREPARING:
        return dataset
    snapshot = policy_map(dataset)
    _progress(dataset_id, 1)
    try:
        with tempfile.TemporaryDirectory(prefix="databourse-sandbox-") as work:
            built = parquet.build_parquet(
                version=dataset.version, policies=snapshot, work=Path(work),
                memory_limit=settings.SANDBOX_MEMORY_LIMIT, progress=lambda percent: _progress(dataset_id, percent),
            )  # fmt: skip
            return _prepared(dataset_id, snapshot, built)
    except ProfilingError as exc:
        message = exc.message
    except Exception as exc:
        logger.exception("Preparing sandbox dataset %s failed", dataset_id)
        message = f"{type(exc).__name__}: {exc}"
    return _prepare_failed(dataset_id, snapshot, safe_message(message) or _("The Parquet file could not be built."))


def _current(dataset_id: int, snapshot: dict[str, str]) -> SandboxDataset | None:
    """The dataset locked, if it still waits for a build of these policies."""
    dataset = SandboxDataset.objects.select_for_update().get(pk=dataset_id)
    fresh = dataset.status == DatasetStatus.PREPARING and policy_map(dataset) == snapshot
    return dataset if fresh else None


@transaction.atomic
def _prepared(dataset_id: int, snapshot: dict[str, str], built: parquet.Built) -> SandboxDataset:
    dataset = _current(dataset_id, snapshot)
    if dataset is None:
        return SandboxDataset.objects.get(pk=dataset_id)
    old = dataset.file.name
    with open(built.path, "rb") as handle:
        dataset.file.save("data.parquet", File(handle), save=False)
    dataset.sha256, dataset.row_count, dataset.schema = built.sha256, built.row_count, built.schema
    dataset.progress, dataset.error_message = 100, ""
    columns = [column["name"] for column in built.schema]
    dataset.transition_to(
        DatasetStatus.PUBLISHED, data={"sha256": built.sha256, "rows": built.row_count, "columns": columns}
    )
    if old and old != dataset.file.name:
        storage = dataset.file.storage
        transaction.on_commit(lambda: storage.delete(old))
    return dataset


@transaction.atomic
def _prepare_failed(dataset_id: int, snapshot: dict[str, str], message: str) -> SandboxDataset:
    dataset = _current(dataset_id, snapshot)
    if dataset is None:
        return SandboxDataset.objects.get(pk=dataset_id)
    dataset.error_message = message
    dataset.transition_to(DatasetStatus.FAILED, reason=message)
    return dataset


# --- what the engine and the workspace read --------------------------------------------------------------------


def engine_policy(dataset: SandboxDataset) -> Any:
    """The disclosure policy the engine applies to every query on the dataset (`sandbox.engine.Policy`)."""
    from sandbox.engine import Policy  # the engine loads DuckDB; the services do not need it to import

    policies = policy_map(dataset)
    return Policy(
        columns={name: access for name, access in policies.items() if access != ColumnAccess.HIDDEN},
        hidden=frozenset(name for name, access in policies.items() if access == ColumnAccess.HIDDEN),
        min_group_size=dataset.min_group_size,
        row_cap=dataset.row_cap,
        count_rounding=dataset.count_rounding,
        memory_limit=settings.SANDBOX_MEMORY_LIMIT,
        max_execution_ms=settings.SANDBOX_MAX_EXECUTION_MS,
    )


def masked_sample(dataset: SandboxDataset, policies: dict[str, str] | None = None) -> tuple[list[str], list[list]]:
    """The version's masked sample as buyers see it: no hidden column, aggregate-only values blank."""
    policies = policy_map(dataset) if policies is None else policies
    kinds = _pii_columns(dataset.version)
    columns = [name for name, access in policies.items() if access != ColumnAccess.HIDDEN]
    rows = [[_sample_cell(policies[name], kinds.get(name), row.get(name)) for name in columns]
            for row in dataset.version.masked_sample or []]  # fmt: skip
    return columns, rows


def _sample_cell(access: str, kind: str | None, value: Any) -> Any:
    if access == ColumnAccess.AGGREGATE_ONLY:
        return None
    if access == ColumnAccess.MASKED and kind is None and value is not None:
        return parquet.mask(None, str(value))  # masked by choice: the registry's sample shows it raw
    return value
