"""Requesting and running valuations, comparables, and batch revaluation."""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.models import Organization, User
from accounts.services import grant_to_organization, person_of, require_role, require_verified
from audit.services import audit_record
from core.errors import DomainError, NotFoundError, PermissionDeniedError
from registry.models import DataProduct, ProductVersion, ProfileStatus
from valuation import accounting, methods
from valuation.choices import BatchStatus, HoldingPurpose, Method, PerformerKind, ValuationStatus
from valuation.models import ComparableTransaction, RevaluationBatch, Valuation


class ValuationNotDone(DomainError):
    code = "valuation_not_done"
    status = 409
    default_message = _lazy("The valuation has not finished: there is no value to report yet.")


def _input_error(exc: methods.ValuationInputError) -> ValidationError:
    """Method input errors as a Django ValidationError keyed by input field (forms and the API show them)."""
    return ValidationError(
        {field: [ValidationError(e["message"], code=e["code"]) for e in errs] for field, errs in exc.as_dict().items()}
    )


# --- who performs ----------------------------------------------------------------------------------------------


def _performer_kind(product: DataProduct, organization: Organization, by: Any) -> str:
    """The owner self-assesses; a verified organisation with the appraise capability gives an accredited opinion."""
    require_role(user=by, organization=organization, action="add")
    if organization.pk == product.organization_id:
        return PerformerKind.SELF
    if not organization.can_appraise:
        raise PermissionDeniedError(_("Only the owner or an accredited appraiser can value this product."))
    require_verified(organization)
    if product.status != "registered":
        raise NotFoundError()
    return PerformerKind.ACCREDITED


def quality_version(product: DataProduct) -> ProductVersion | None:
    """The version whose quality score a valuation uses: newest registered and profiled, else newest profiled."""
    versions = product.versions.filter(profile_status=ProfileStatus.DONE).order_by("-number")
    return versions.filter(status="registered").first() or versions.first()


# --- inputs ----------------------------------------------------------------------------------------------------


def exchange_comparables(sector: str) -> list[dict]:
    """Settled contracts of the exchange in this sector, as comparables (filled in by the marketplace)."""
    return []


def _market_inputs(product: DataProduct, organization: Organization, inputs: dict) -> dict:
    """Resolve comparables chosen by id (hand-entered, visible to the performer) and the exchange's own."""
    visible = ComparableTransaction.objects.filter(organization=organization)
    resolved = []
    for index, item in enumerate(_objects(inputs, "comparables")):
        item = dict(item)
        if "id" in item:
            pk = item.pop("id")
            row = visible.filter(pk=pk).first() if isinstance(pk, int) and not isinstance(pk, bool) else None
            if row is None:
                raise ValidationError({f"comparables[{index}]": _("Unknown comparable.")}, code="unknown_comparable")
            item.setdefault("price", str(row.price))
            item.setdefault("reference", row.description)
            item.setdefault("source", "manual")
        resolved.append(item)
    if inputs.get("include_exchange"):
        resolved += exchange_comparables(product.sector)
    return {**inputs, "comparables": resolved}


def _objects(inputs: dict, name: str) -> list[dict]:
    """A list of objects from the inputs (web forms and the API build them; anything else is a clear error)."""
    items = inputs.get(name, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValidationError({name: _("Give a list of objects.")}, code="invalid")
    return items


def _composite_inputs(product: DataProduct, organization: Organization, inputs: dict) -> dict:
    """Components are the performer's own finished valuations of the product: an accredited composite never folds
    in the owner's self-assessment, nor the reverse."""
    components, sources = [], []
    for index, item in enumerate(_objects(inputs, "components")):
        pk = item.get("valuation")
        source = None
        if isinstance(pk, int) and not isinstance(pk, bool):
            own = Valuation.objects.filter(product=product, organization=organization, status=ValuationStatus.DONE)
            source = own.filter(pk=pk).first()
        if source is None or source.method == Method.COMPOSITE:
            raise ValidationError(
                {f"components[{index}]": _("Choose a finished cost, income or market valuation of this product.")},
                code="unknown_valuation",
            )
        components.append({"method": source.method, "value": str(source.value), "weight": item.get("weight")})
        sources.append(source.pk)
    return {"components": components, "sources": sources}


def resolve_inputs(product: DataProduct, organization: Organization, method: str, inputs: dict) -> dict:
    """Inputs as the method reads them: quality score filled in, comparables and components looked up."""
    if method == Method.COST and inputs.get("quality_score") in (None, "") and not inputs.get("adjustment_coefficient"):
        version = quality_version(product)
        if version is not None and version.quality_score is not None:
            inputs = {**inputs, "quality_score": str(version.quality_score)}
    if method == Method.MARKET:
        return _market_inputs(product, organization, inputs)
    if method == Method.COMPOSITE:
        return _composite_inputs(product, organization, inputs)
    return inputs


def run_method(method: str, inputs: dict) -> Any:
    """Validate and compute; ValidationError (per input field) on bad input."""
    if method not in methods.METHOD_FUNCTIONS:
        raise ValidationError({"method": _("Choose cost, income, market or composite.")}, code="invalid")
    try:
        parsed = methods.INPUT_TYPES[method].from_dict(inputs)
        return methods.METHOD_FUNCTIONS[method](parsed)
    except methods.ValuationInputError as exc:
        raise _input_error(exc) from exc
    except (TypeError, KeyError, AttributeError) as exc:
        message = _("These inputs do not fit the %(method)s method.") % {"method": Method(method).label}
        raise ValidationError({"inputs": message}, code="inputs_shape") from exc


def _check_pledge_ratio(ratio: Any) -> Decimal | None:
    if ratio in (None, ""):
        return None
    try:
        value = Decimal(str(ratio))
    except InvalidOperation as exc:
        raise ValidationError({"pledge_ratio": _("Enter a number.")}) from exc
    if not Decimal(0) < value <= Decimal(1):
        raise ValidationError({"pledge_ratio": _("The pledge ratio must be above 0 and at most 1.")})
    return value


# --- requesting and running ------------------------------------------------------------------------------------


@transaction.atomic
def valuation_request(
    *,
    product: DataProduct,
    organization: Organization,
    by: Any,
    method: str,
    inputs: dict,
    holding_purpose: str = HoldingPurpose.INTERNAL_USE,
    pledge_ratio: Any = None,
    amortisation_years: int = 5,
    batch: RevaluationBatch | None = None,
) -> Valuation:
    """Validate the inputs now (bad input is a clear error, nothing stored) and queue the run."""
    product = DataProduct.objects.select_related("organization").get(pk=product.pk)
    organization = Organization.objects.get(pk=organization.pk)
    kind = _performer_kind(product, organization, by)
    resolved = resolve_inputs(product, organization, method, inputs)
    run_method(method, resolved)
    if holding_purpose not in HoldingPurpose.values:
        raise ValidationError({"holding_purpose": _("Unknown holding purpose.")})
    if not 1 <= int(amortisation_years) <= 50:
        raise ValidationError({"amortisation_years": _("Between 1 and 50 years.")})
    version = quality_version(product)
    valuation = Valuation.objects.create(
        product=product,
        version=version,
        organization=organization,
        performer_kind=kind,
        method=method,
        inputs=resolved,
        quality_score=version.quality_score if version else None,
        holding_purpose=holding_purpose,
        pledge_ratio=_check_pledge_ratio(pledge_ratio),
        amortisation_years=amortisation_years,
        batch=batch,
        created_by=person_of(by),
    )
    grant_to_organization(valuation, organization)
    if product.organization_id != organization.pk:
        grant_to_organization(valuation, product.organization)
    audit_record(
        action="valuation.queued",
        obj=valuation,
        actor=by,
        organization_id=organization.pk,
        data={"product": product.pk, "method": method, "performer": kind},
    )
    transaction.on_commit(lambda: _queue_run(valuation.pk))
    return valuation


def _queue_run(valuation_id: int) -> None:
    from valuation.tasks import valuation_run

    valuation_run.delay(valuation_id)


def _range(method: str, inputs: dict, result: Any) -> tuple[list, Decimal, Decimal]:
    if method == Method.COMPOSITE:
        return _composite_range(inputs, result)
    analysis = methods.sensitivity(methods.METHOD_FUNCTIONS[method], methods.INPUT_TYPES[method].from_dict(inputs))
    return methods.as_data(list(analysis.rows)), analysis.low, analysis.high


def _composite_range(inputs: dict, result: Any) -> tuple[list, Decimal, Decimal]:
    """A composite's range: the weighted sum of its components' own ranges (no tornado of its own)."""
    ranges = dict(Valuation.objects.filter(pk__in=inputs.get("sources", [])).values_list("pk", "low"))
    highs = dict(Valuation.objects.filter(pk__in=inputs.get("sources", [])).values_list("pk", "high"))
    low = high = Decimal(0)
    for source, component in zip(inputs.get("sources", []), inputs["components"], strict=True):
        weight = Decimal(str(component["weight"]))
        low += weight * (ranges.get(source) or Decimal(component["value"]))
        high += weight * (highs.get(source) or Decimal(component["value"]))
    return [], methods.money(low), methods.money(high)


@transaction.atomic
def valuation_execute(*, valuation_id: int) -> Valuation:
    """Run a queued valuation: the method, its sensitivity range; done, or failed with the reason."""
    valuation = Valuation.objects.select_for_update().get(pk=valuation_id)
    valuation.transition_to(ValuationStatus.RUNNING)
    try:
        with transaction.atomic():
            result = run_method(valuation.method, valuation.inputs)
            rows, low, high = _range(valuation.method, valuation.inputs, result)
    except (ValidationError, ArithmeticError, ValueError) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        valuation.error = message
        valuation.transition_to(ValuationStatus.FAILED, reason=message)
        return valuation
    valuation.result, valuation.sensitivity = methods.as_data(result), rows
    valuation.value, valuation.low, valuation.high = result.value, min(low, result.value), max(high, result.value)
    valuation.transition_to(ValuationStatus.DONE, data={"value": str(result.value), "low": str(low), "high": str(high)})
    return valuation


# --- comparables -----------------------------------------------------------------------------------------------


@transaction.atomic
def comparable_add(*, organization: Organization, by: User, **fields: Any) -> ComparableTransaction:
    """Enter a comparable transaction by hand (price, date, sector, where the figure comes from)."""
    require_role(user=by, organization=organization, action="add")
    row = ComparableTransaction(organization=organization, created_by=person_of(by), **fields)
    row.full_clean()
    if row.price <= 0:
        raise ValidationError({"price": _("The price must be positive.")})
    row.save()
    grant_to_organization(row, organization)
    audit_record(
        action="comparabletransaction.added",
        obj=row,
        actor=by,
        organization_id=organization.pk,
        data={"sector": row.sector, "price": str(row.price)},
    )
    return row


# --- batch revaluation -----------------------------------------------------------------------------------------


@transaction.atomic
def revaluation_start(
    *, organization: Organization, by: Any, products: list[DataProduct] | None = None, queue: bool = True
) -> RevaluationBatch:
    """Revalue products with their latest finished valuation's method and inputs (quality refreshed).

    Queued as a Celery task; `queue=False` leaves the steps to the caller (the `revalue` command prints progress).
    """
    if by is not None:  # None is the platform itself (the management command)
        require_role(user=by, organization=organization, action="add")
    if products is None:
        products = list(
            DataProduct.objects.filter(
                valuations__organization=organization, valuations__status=ValuationStatus.DONE
            ).distinct()
        )
    batch = RevaluationBatch.objects.create(
        organization=organization, total=len(products), created_by=person_of(by) if by is not None else None
    )
    grant_to_organization(batch, organization)
    audit_record(
        action="revaluationbatch.started",
        obj=batch,
        actor=by,
        organization_id=organization.pk,
        data={"products": [p.pk for p in products]},
    )
    ids = [p.pk for p in products]
    if queue:
        transaction.on_commit(lambda: _queue_batch(batch.pk, ids))
    return batch


def _queue_batch(batch_id: int, product_ids: list[int]) -> None:
    from valuation.tasks import revaluation_run

    revaluation_run.delay(batch_id, product_ids)


def revalue_product(*, batch: RevaluationBatch, product_id: int) -> Valuation | None:
    """One step of a batch: repeat the latest finished valuation of this performer; counts success or failure."""
    latest = (
        Valuation.objects.filter(product_id=product_id, organization=batch.organization, status=ValuationStatus.DONE)
        .exclude(method=Method.COMPOSITE)
        .select_related("product", "created_by")
        .order_by("-created_at")
        .first()
    )
    try:
        if latest is None:
            raise DomainError(_("No finished valuation to repeat."), code="nothing_to_revalue")
        inputs = (
            {k: v for k, v in latest.inputs.items() if k != "quality_score"}
            if latest.method == "cost"
            else (latest.inputs)
        )
        valuation = valuation_request(
            product=latest.product,
            organization=batch.organization,
            by=latest.created_by,
            method=latest.method,
            inputs=inputs,
            holding_purpose=latest.holding_purpose,
            pledge_ratio=latest.pledge_ratio,
            amortisation_years=latest.amortisation_years,
            batch=batch,
        )
    except (DomainError, ValidationError):
        RevaluationBatch.objects.filter(pk=batch.pk).update(failed=F("failed") + 1)
        return None
    RevaluationBatch.objects.filter(pk=batch.pk).update(completed=F("completed") + 1)
    return valuation


def revaluation_finish(*, batch_id: int) -> RevaluationBatch:
    """Mark a batch done and audit its totals."""
    batch = RevaluationBatch.objects.get(pk=batch_id)
    batch.status, batch.finished_at = BatchStatus.DONE, timezone.now()
    batch.save(update_fields=["status", "finished_at"])
    audit_record(
        action="revaluationbatch.done",
        obj=batch,
        organization_id=batch.organization_id,
        data={"completed": batch.completed, "failed": batch.failed},
    )
    return batch


# --- accounting treatment and pledge value ---------------------------------------------------------------------


@dataclass(frozen=True)
class Accounting:
    """How a finished valuation is carried in the books, its amortisation schedule, and its pledge value."""

    classification: accounting.Classification
    schedule: tuple[accounting.AmortisationRow, ...]  # empty for inventory (held for sale: not amortised)
    schedule_start: datetime.date
    pledge: accounting.PledgeValue


def pledge_ratio_of(valuation: Valuation) -> Decimal:
    """The valuation's own pledge ratio, else the exchange's configured `VALUATION_PLEDGE_RATIO`."""
    return valuation.pledge_ratio if valuation.pledge_ratio is not None else Decimal(settings.VALUATION_PLEDGE_RATIO)


def valuation_accounting(valuation: Valuation) -> Accounting:
    """Classification (intangible asset or inventory), the monthly straight-line schedule from the first of the
    valuation month over `amortisation_years`, and the lending ceiling; DomainError if the valuation is not done."""
    if valuation.status != ValuationStatus.DONE or valuation.value is None:
        raise ValuationNotDone()
    classification = accounting.classify(valuation.holding_purpose)
    start = valuation.as_of.replace(day=1)
    schedule = ()
    if classification.amortised and valuation.value > 0:
        schedule = accounting.amortisation_schedule(
            valuation.value, useful_life_years=valuation.amortisation_years, start=start
        )
    pledge = accounting.pledge_value(valuation.value, pledge_ratio_of(valuation))
    return Accounting(classification=classification, schedule=schedule, schedule_start=start, pledge=pledge)
