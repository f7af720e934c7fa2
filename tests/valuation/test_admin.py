"""The regulator console for valuations: read-only evidence, accredited appraisals told apart from self-assessments."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import User
from registry import services as registry_services
from registry.models import DataProduct
from tests.admin import otp_login
from tests.factories import OrganizationFactory, UserFactory, member
from tests.factories.accounts import PASSWORD, owner_of
from tests.factories.registry import DataProductFactory, upload_version
from tests.factories.valuation import valuation_of
from valuation import services
from valuation.admin import money, parameter_label, percent
from valuation.choices import ValuationStatus
from valuation.models import ComparableTransaction, RevaluationBatch, Valuation

pytestmark = pytest.mark.django_db

TONS = b"date,tons\n" + b"".join(b"2026-11-%02d,%d\n" % (d, 1000 + d) for d in range(1, 11))


def _url(name: str, *args) -> str:
    return reverse(f"admin:valuation_{name}", args=args)


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def regulator():
    return member(OrganizationFactory(kind="regulator", can_buy=False), "admin")


@pytest.fixture
def console(client, regulator):
    """A client logged into the admin as a regulator with a verified TOTP device."""
    otp_login(client, regulator)
    return client


@pytest.fixture
def product(django_capture_on_commit_callbacks, regulator):
    """A registered product with a profiled version (so it has a quality score)."""
    product = DataProductFactory(title="Qingdao port tonnage")
    with django_capture_on_commit_callbacks(execute=True):
        upload_version(product, TONS, "tons.csv")
    registry_services.product_submit(product=product, by=owner_of(product.organization))
    registry_services.product_approve(product=product, by=regulator, reason="Complete and lawful.")
    return DataProduct.objects.get(pk=product.pk)


@pytest.fixture
def appraiser():
    return OrganizationFactory(name="Huaxin Appraisal", can_appraise=True)


# --- who gets in --------------------------------------------------------------------------------------------------


def test_a_merchant_cannot_reach_the_valuation_console(client, run, product):
    # given a merchant with a verified device of their own (not staff, not a regulator)
    valuation = run(product)
    otp_login(client, owner_of(product.organization))
    # then every valuation page sends them to the admin login
    for url in [
        _url("valuation_changelist"),
        _url("valuation_change", valuation.pk),
        _url("revaluationbatch_changelist"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_staff_without_the_view_permission_is_refused(client, run, product):
    valuation = run(product)
    otp_login(client, UserFactory(is_staff=True))
    assert client.get(_url("valuation_changelist")).status_code == 403
    assert client.get(_url("valuation_change", valuation.pk)).status_code == 403


# --- the list -----------------------------------------------------------------------------------------------------


def test_regulator_lists_valuations_of_other_organisations(console, run, product):
    valuation = run(product)
    page = _page(console, _url("valuation_changelist"))
    assert product.title in page and product.organization.name in page
    assert "Self-assessment" in page and "Cost approach" in page and "Done" in page
    assert money(valuation.value) in page and f"{money(valuation.low)} – {money(valuation.high)}" in page  # noqa: RUF001
    assert f"{valuation.quality_score:.1f}" in page


def test_accredited_appraisals_are_told_apart_and_filtered(console, run, product, appraiser):
    accredited = run(product, organization=appraiser)
    own = run(product)
    page = _page(console, _url("valuation_changelist"))
    assert page.count('class="accredited"') == 1 and page.count('class="self-assessed"') == 1
    assert "accredited or self-assessed" in page  # the filter's title
    only = _page(console, _url("valuation_changelist") + "?performer_kind__exact=accredited")
    assert only.count('class="accredited"') == 1 and 'class="self-assessed"' not in only
    appraisal = _page(console, _url("valuation_change", accredited.pk))
    assert "Accredited appraisal" in appraisal and "Self-assessment" not in appraisal
    assert appraiser.name in appraisal and appraiser.credit_code in appraisal  # performed by
    assert product.organization.name in appraisal  # the product's owner
    assessment = _page(console, _url("valuation_change", own.pk))
    assert "Self-assessment" in assessment and "Accredited appraisal" not in assessment


def test_search_by_product_title_organisation_and_credit_code(console, run, product, appraiser):
    farm = DataProductFactory(title="Jiaodong crop yields", organization=OrganizationFactory(name="Jiaodong Agri"))
    other = run(farm, inputs={"adjustment_coefficient": "1", "collection": "1000"})
    run(product, organization=appraiser)
    for term in ["crop yields", other.organization.name, other.organization.credit_code]:
        page = _page(console, _url("valuation_changelist") + f"?q={term}")
        assert "Jiaodong crop yields" in page and product.title not in page
    page = _page(console, _url("valuation_changelist") + f"?q={appraiser.credit_code}")
    assert product.title in page and "Jiaodong crop yields" not in page


def test_changelist_query_count_does_not_grow_with_the_list(
    console, run, product, appraiser, django_assert_max_num_queries
):
    run(product, organization=appraiser)
    for _ in range(12):  # queued valuations of products of twelve organisations
        valuation_of(DataProductFactory(), inputs={"adjustment_coefficient": "1", "collection": "1000"})
    # session, user, OTP device, permissions (user and group), count, rows
    with django_assert_max_num_queries(10):
        page = _page(console, _url("valuation_changelist"))
    assert page.count('class="self-assessed"') == 12 and page.count('class="accredited"') == 1


# --- the change page ----------------------------------------------------------------------------------------------


def test_change_page_shows_inputs_working_sensitivity_accounting_and_trail(console, run, product):
    valuation = run(product, holding_purpose="services", pledge_ratio="0.4")
    page = _page(console, _url("valuation_change", valuation.pk))
    # inputs and working as tables, amounts grouped, rates as percentages, never raw JSON
    assert "processing and cleaning" in page and "120,000.00" in page and "12 %" in page
    assert "replacement cost" in page and "depreciated cost" in page and money(valuation.value) in page
    assert '"direct_cost"' not in page and "&quot;direct_cost&quot;" not in page
    # the sensitivity rows and the accounting treatment
    assert "largest swing first" in page and "obsolescence rate" in page and "value adjustment coefficient" in page
    assert "Intangible asset" in page and "CAS 6 Intangible Assets" in page and "periods (months)" in page
    ceiling = services.valuation_accounting(valuation).pledge.ceiling
    assert "40 %" in page and money(ceiling) in page
    assert "valuation.queued" in page and "valuation.done" in page
    assert "Why it failed" not in page
    assert 'name="_save"' not in page and "_continue" not in page


def test_income_working_is_a_table_by_year(console, run, product):
    valuation = run(product, "income")
    page = _page(console, _url("valuation_change", valuation.pk))
    assert "income by year" in page and "year 3" in page and "discount factor" in page and "present value" in page
    assert "0.909091" in page and "30 %" in page and "direct income" in page
    assert "remaining useful life (years)" in page


def test_market_and_composite_working(console, run, product):
    owner = owner_of(product.organization)
    comparable = services.comparable_add(
        organization=product.organization, by=owner, sector="marine", description="Port calls <b>2025</b>",
        price=Decimal("900000"), transacted_on=datetime.date(2026, 5, 1), source="demo",
    )  # fmt: skip
    market = run(product, "market", {"comparables": [{"id": comparable.pk, "quality": "1.1"}], "aggregation": "mean"})
    cost = run(product)
    page = _page(console, _url("valuation_change", market.pk))
    assert "Port calls &lt;b&gt;2025&lt;/b&gt;" in page and "<b>2025</b>" not in page
    assert "adjusted price" in page and "990,000.00" in page and "every comparable: quality coefficient" in page
    inputs = {"components": [{"valuation": cost.pk, "weight": "0.5"}, {"valuation": market.pk, "weight": "0.5"}]}
    composite = run(product, "composite", inputs)
    page = _page(console, _url("valuation_change", composite.pk))
    assert _url("valuation_change", cost.pk) in page and _url("valuation_change", market.pk) in page
    assert "contribution" in page and "Market approach" in page and money(composite.value) in page


def test_queued_and_failed_valuations_show_no_working(console, product):
    queued = valuation_of(product)
    page = _page(console, _url("valuation_change", queued.pk))
    assert "Queued" in page and "Working" not in page and "Accounting treatment" not in page
    failed = valuation_of(product)
    failed.error = "The figures are too large to compute."
    failed.transition_to(ValuationStatus.FAILED, reason=failed.error)
    page = _page(console, _url("valuation_change", failed.pk))
    assert "Why it failed" in page and "The figures are too large to compute." in page
    assert "Accounting treatment" not in page


# --- evidence is never changed here ---------------------------------------------------------------------------------


def test_nobody_adds_changes_or_deletes_valuations(client, run, product):
    valuation = run(product)
    superuser = User.objects.create_superuser("root@example.com", PASSWORD)
    otp_login(client, superuser)
    for model in ["valuation", "comparabletransaction", "revaluationbatch"]:
        assert client.get(_url(f"{model}_add")).status_code == 403
    assert client.get(_url("valuation_delete", valuation.pk)).status_code == 403
    assert client.post(_url("valuation_delete", valuation.pk), {"post": "yes"}).status_code == 403
    assert client.post(_url("valuation_change", valuation.pk), {"status": "queued"}).status_code == 403
    page = _page(client, _url("valuation_changelist"))
    assert "delete_selected" not in page and 'class="action-select"' not in page
    assert Valuation.objects.get(pk=valuation.pk).status == ValuationStatus.DONE


# --- comparables and batches ----------------------------------------------------------------------------------------


def test_comparables_and_batches_are_listed(console, run, product, django_capture_on_commit_callbacks):
    owner = owner_of(product.organization)
    services.comparable_add(
        organization=product.organization, by=owner, sector="marine", description="AIS tracks, one year",
        price=Decimal("1680000"), transacted_on=datetime.date(2026, 4, 1), source="demo: invented",
    )  # fmt: skip
    run(product)
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.revaluation_start(organization=product.organization, by=owner)
    page = _page(console, _url("comparabletransaction_changelist"))
    assert "AIS tracks, one year" in page and "1,680,000.00" in page and "demo: invented" in page
    page = _page(console, _url("revaluationbatch_changelist"))
    assert "100 %" in page and product.organization.name in page
    page = _page(console, _url("revaluationbatch_change", batch.pk))
    revalued = RevaluationBatch.objects.get(pk=batch.pk).valuations.get()
    assert _url("valuation_change", revalued.pk) in page and "Self-assessment" in page
    assert ComparableTransaction.objects.count() == 1


def test_comparable_and_batch_lists_query_count(console, product, django_assert_max_num_queries):
    for n in range(10):
        org = OrganizationFactory()
        services.comparable_add(
            organization=org, by=owner_of(org), sector="marine", description=f"Port data {n}",
            price=Decimal("100000"), transacted_on=datetime.date(2026, 1, 1), source="demo",
        )  # fmt: skip
        services.revaluation_start(organization=org, by=owner_of(org), products=[], queue=False)
    for name in ["comparabletransaction_changelist", "revaluationbatch_changelist"]:
        with django_assert_max_num_queries(10):
            _page(console, _url(name))


# --- formatting -----------------------------------------------------------------------------------------------------


def test_figures_are_formatted_for_reading():
    assert money("1234567.5") == "1,234,567.50" and money(None) == "—"
    assert percent("0.12") == "12 %" and percent("0.035") == "3.5 %" and percent("1") == "100 %"
    assert str(parameter_label("discount_rate")) == "discount rate"
    assert str(parameter_label("comparables[1].volume")) == "comparable 2: volume coefficient"
