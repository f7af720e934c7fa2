from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from accounts.choices import Role
from audit.models import AuditEvent
from core.errors import NotFoundError, PermissionDeniedError
from registry import services as registry_services
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.registry import DataProductFactory
from tests.factories.valuation import COST_INPUTS, INCOME_INPUTS, valuation_of
from valuation import services
from valuation.choices import PerformerKind, ValuationStatus
from valuation.models import RevaluationBatch, Valuation

pytestmark = pytest.mark.django_db


def test_cost_valuation_uses_the_quality_score_and_runs(run, product):
    valuation = run(product, "cost")
    assert valuation.status == ValuationStatus.DONE
    assert valuation.performer_kind == PerformerKind.SELF
    assert valuation.quality_score == product.versions.get().quality_score
    assert valuation.inputs["quality_score"] == str(valuation.quality_score)
    assert valuation.low <= valuation.value <= valuation.high
    assert valuation.sensitivity and valuation.result["value"] == str(valuation.value)
    actions = list(AuditEvent.objects.for_object(valuation).order_by("sequence").values_list("action", flat=True))
    assert actions == ["valuation.queued", "valuation.running", "valuation.done"]


def test_income_valuation(run, product):
    valuation = run(product, "income")
    assert valuation.status == ValuationStatus.DONE and valuation.value > 0
    assert len(valuation.result["rows"]) == 5


@pytest.mark.parametrize(
    ("method", "inputs", "field"),
    [
        ("cost", {**COST_INPUTS, "collection": "-1"}, "collection"),
        ("income", {**INCOME_INPUTS, "discount_rate": "1.5"}, "discount_rate"),
        ("income", {**INCOME_INPUTS, "useful_life_years": 0}, "useful_life_years"),
        ("market", {"comparables": []}, "comparables"),
        ("composite", {"components": []}, "components"),
    ],
)
def test_bad_inputs_are_field_errors_and_nothing_is_stored(product, method, inputs, field):
    with pytest.raises(ValidationError) as exc:
        valuation_of(product, method, inputs)
    assert any(key.startswith(field) for key in exc.value.message_dict)
    assert not Valuation.objects.exists()


def test_composite_weights_must_sum_to_one(run, product):
    cost, income = run(product, "cost"), run(product, "income")
    components = [{"valuation": cost.pk, "weight": "0.5"}, {"valuation": income.pk, "weight": "0.4"}]
    with pytest.raises(ValidationError):
        valuation_of(product, "composite", {"components": components})
    components[1]["weight"] = "0.5"
    composite = run(product, "composite", {"components": components})
    assert composite.value == (cost.value * Decimal("0.5") + income.value * Decimal("0.5")).quantize(Decimal("0.01"))
    assert composite.low <= composite.value <= composite.high


def test_market_valuation_with_hand_entered_comparables(run, product):
    owner = owner_of(product.organization)
    rows = [
        services.comparable_add(
            organization=product.organization,
            by=owner,
            sector="marine",
            description=f"Port data {n}",
            price=Decimal(100000 + n * 1000),
            transacted_on="2026-06-01",
            source="Exchange bulletin",
        )
        for n in range(3)
    ]
    comparables = [{"id": row.pk, "quality": "1.1"} for row in rows]
    valuation = run(product, "market", {"comparables": comparables})
    assert valuation.value == Decimal("111100.00")


def test_product_of_another_organisation_is_not_found_or_forbidden(product):
    outsider = OrganizationFactory(can_appraise=False)
    with pytest.raises(PermissionDeniedError):
        valuation_of(product, organization=outsider)
    appraiser = OrganizationFactory(can_appraise=True)
    with pytest.raises(NotFoundError):  # not registered: invisible to others
        valuation_of(product, organization=appraiser)


def test_accredited_appraiser_values_a_registered_product(run, product):
    owner = owner_of(product.organization)
    regulator = owner_of(OrganizationFactory(kind="regulator"))
    registry_services.product_submit(product=product, by=owner)
    registry_services.product_approve(product=product, by=regulator, reason="ok")
    appraiser = OrganizationFactory(can_appraise=True)
    valuation = run(product, organization=appraiser)
    assert valuation.performer_kind == PerformerKind.ACCREDITED
    assert Valuation.objects.restrict(owner).filter(pk=valuation.pk).exists()  # the owner sees it too


def test_viewer_cannot_request(product):
    with pytest.raises(PermissionDeniedError):
        valuation_of(product, by=member(product.organization, Role.VIEWER))


def test_a_failed_run_is_kept_with_its_reason(product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        valuation = valuation_of(product, "cost")
        Valuation.objects.filter(pk=valuation.pk).update(inputs={**valuation.inputs, "profit_rate": "7"})
    valuation.refresh_from_db()
    assert valuation.status == ValuationStatus.FAILED and "profit" in valuation.error.lower()


def test_pledge_ratio_is_checked(product):
    with pytest.raises(ValidationError):
        valuation_of(product, pledge_ratio="1.5")


def test_batch_revaluation_command(run, product, capsys):
    run(product, "cost")
    run(DataProductFactory(organization=product.organization), "income")
    call_command("revalue", product.organization.credit_code)
    out = capsys.readouterr().out
    assert "[2/2 100%]" in out and "2 revalued, 0 failed" in out
    batch = RevaluationBatch.objects.get()
    assert batch.status == "done" and batch.progress == 100
    assert Valuation.objects.filter(batch=batch).count() == 2


def test_accounting_of_a_valuation_held_for_internal_use(run, product, settings):
    settings.VALUATION_PLEDGE_RATIO = "0.3"
    valuation = run(product, "cost", amortisation_years=3)
    books = services.valuation_accounting(valuation)
    assert books.classification.asset_class == "intangible_asset"
    assert len(books.schedule) == 36 and books.schedule[0].period_start == valuation.as_of.replace(day=1)
    assert sum(row.amortisation for row in books.schedule) == valuation.value
    assert books.pledge.ratio == Decimal("0.3") and books.pledge.ceiling == (valuation.value * Decimal("0.3")).quantize(
        Decimal("0.01")
    )


def test_accounting_of_a_valuation_held_for_sale_has_no_schedule(run, product):
    valuation = run(product, "cost", holding_purpose="sale", pledge_ratio="0.5")
    books = services.valuation_accounting(valuation)
    assert books.classification.asset_class == "inventory" and books.schedule == ()
    assert books.pledge.ratio == Decimal("0.5")


def test_accounting_needs_a_finished_valuation(product):
    valuation = valuation_of(product, "cost")  # callbacks not run: still queued
    with pytest.raises(services.ValuationNotDone):
        services.valuation_accounting(valuation)


def test_a_composite_takes_only_the_performers_own_valuations(run, product):
    owner = owner_of(product.organization)
    regulator = owner_of(OrganizationFactory(kind="regulator"))
    registry_services.product_submit(product=product, by=owner)
    registry_services.product_approve(product=product, by=regulator, reason="ok")
    own = run(product, "cost")
    appraiser = OrganizationFactory(can_appraise=True)
    with pytest.raises(ValidationError) as exc:
        valuation_of(
            product, "composite", {"components": [{"valuation": own.pk, "weight": "1"}]}, organization=appraiser
        )
    assert "components[0]" in exc.value.message_dict


@pytest.mark.parametrize(
    ("method", "inputs"),
    [
        ("market", {"comparables": "not a list"}),
        ("market", {"comparables": [{"id": "abc"}]}),
        ("composite", {"components": [{"valuation": "abc", "weight": "1"}]}),
        ("income", {**INCOME_INPUTS, "income": 5}),
    ],
)
def test_malformed_inputs_are_validation_errors(product, method, inputs):
    with pytest.raises(ValidationError):
        valuation_of(product, method, inputs)
