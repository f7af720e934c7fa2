"""The valuation pages: forms per method, the report (HTML, PDF, schedule CSV), history, comparables, revaluation."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.choices import Role
from registry import services as registry_services
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.valuation import valuation_of
from valuation.choices import PerformerKind, ValuationStatus
from valuation.models import ComparableTransaction, RevaluationBatch, Valuation

pytestmark = pytest.mark.django_db

COST_FORM = {
    "planning": "20000", "collection": "120000", "storage": "30000", "processing": "80000", "labelling": "40000",
    "maintenance": "30000", "indirect": "50000", "profit_rate": "12", "obsolescence_rate": "10",
    "adjustment_coefficient": "", "holding_purpose": "internal_use", "amortisation_years": "5", "pledge_ratio": "",
}  # fmt: skip
INCOME_FORM = {
    "variant": "direct", "useful_life_years": "5", "discount_rate": "10", "attribution_share": "30",
    "growth_rate": "3", "income": "500000, 550000\n600000", "holding_purpose": "services", "amortisation_years": "5",
}  # fmt: skip
OPTIONS = {"holding_purpose": "internal_use", "amortisation_years": "5", "pledge_ratio": ""}


def rows(*items: dict, extra: int = 1) -> dict:
    """A comparables formset body: the given rows, then `extra` untouched ones."""
    data = {"comparables-TOTAL_FORMS": str(len(items) + extra), "comparables-INITIAL_FORMS": "0"}
    for index, item in enumerate(items):
        data.update({f"comparables-{index}-{key}": value for key, value in item.items()})
    for index in range(len(items), len(items) + extra):
        data.update({f"comparables-{index}-{name}": "1" for name in ("quality", "supply_demand", "date", "volume")})
        data.update({f"comparables-{index}-other": "1", f"comparables-{index}-weight": "1"})
    return data


@pytest.fixture
def owner_client(client, product):
    client.force_login(owner_of(product.organization))
    return client


@pytest.fixture
def post(owner_client, product, django_capture_on_commit_callbacks):
    """POST a method's form and let the (eager) run happen."""

    def send(method: str, data: dict, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return owner_client.post(reverse("valuation:valuation_create", args=[product.pk, method]), data, **kwargs)

    return send


@pytest.fixture
def done(product, django_capture_on_commit_callbacks):
    def make(method="cost", **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            valuation = valuation_of(product, method, **kwargs)
        return Valuation.objects.get(pk=valuation.pk)

    return make


def register(product):
    registry_services.product_submit(product=product, by=owner_of(product.organization))
    regulator = owner_of(OrganizationFactory(kind="regulator"))
    registry_services.product_approve(product=product, by=regulator, reason="Complete and lawful.")


# --- forms ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["cost", "income", "market", "composite"])
def test_each_method_has_a_form_with_inline_help(owner_client, product, method):
    response = owner_client.get(reverse("valuation:valuation_create", args=[product.pk, method]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="help"' in html and "Self-assessment" in html
    assert "Run the valuation" in html


def test_cost_form_runs_a_valuation_with_percentages_as_fractions(post, product):
    response = post("cost", COST_FORM)
    valuation = Valuation.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "valuation:valuation_detail", args=[valuation.pk]
    )
    assert valuation.status == ValuationStatus.DONE
    assert valuation.inputs["profit_rate"] == "0.12" and valuation.inputs["obsolescence_rate"] == "0.1"
    assert valuation.inputs["quality_score"] == str(product.versions.get().quality_score)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"collection": "-1"}, "collection", "greater than or equal to 0"),
        ({"profit_rate": "100"}, "profit_rate", "below 100 %"),
        ({"adjustment_coefficient": "0"}, "adjustment_coefficient", "greater than 0"),
    ],
)
def test_cost_form_bad_input_is_shown_on_the_field(post, changes, field, message):
    response = post("cost", {**COST_FORM, **changes})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Valuation.objects.exists()


def test_income_form_runs_and_reads_series(post):
    post("income", INCOME_FORM)
    valuation = Valuation.objects.get()
    assert valuation.status == ValuationStatus.DONE
    assert valuation.inputs["income"] == ["500000", "550000", "600000"]
    assert valuation.inputs["discount_rate"] == "0.1" and valuation.holding_purpose == "services"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"discount_rate": "100"}, "discount_rate"),
        ({"discount_rate": "-100"}, "discount_rate"),
        ({"useful_life_years": "0"}, "useful_life_years"),
        ({"income": "500000, lots"}, "income"),
        ({"variant": "royalty_savings", "revenue": "1000000"}, "royalty_rate"),
        ({"variant": "incremental", "income_with_data": "10, 20", "income_without_data": "5"}, "income_without_data"),
    ],
)
def test_income_form_bad_input(post, changes, field):
    response = post("income", {**INCOME_FORM, **changes})
    assert response.status_code == 200 and field in response.context["form"].errors
    assert not Valuation.objects.exists()


def test_market_form_needs_a_comparable(post):
    response = post("market", {**OPTIONS, "aggregation": "mean", **rows(extra=3)})
    assert response.status_code == 200
    assert "at least one comparable" in " ".join(response.context["form"].rows.non_form_errors())
    assert not Valuation.objects.exists()


def test_market_form_with_typed_and_saved_comparables(post, product):
    owner = owner_of(product.organization)
    from valuation import services

    saved = services.comparable_add(
        organization=product.organization, by=owner, sector="marine", description="Port data, Shanghai",
        price=Decimal("200000"), transacted_on="2026-05-01", source="Exchange bulletin",
    )  # fmt: skip
    typed = {"reference": "Port data, Tianjin", "price": "100000", "quality": "1.1", "supply_demand": "1", "date": "1",
             "volume": "1", "other": "1", "weight": "1"}  # fmt: skip
    chosen = {**typed, "reference": "", "price": "", "saved": str(saved.pk), "quality": "0.9"}
    post("market", {**OPTIONS, "aggregation": "mean", **rows(typed, chosen)})
    valuation = Valuation.objects.get()
    assert valuation.status == ValuationStatus.DONE
    assert valuation.value == Decimal("145000.00")  # (110000 + 180000) / 2


def test_market_form_refuses_a_zero_coefficient(post):
    bad = {"price": "100000", "quality": "0", "supply_demand": "1", "date": "1", "volume": "1", "other": "1"}
    response = post("market", {**OPTIONS, "aggregation": "mean", **rows(bad)})
    assert response.status_code == 200 and not Valuation.objects.exists()
    assert "quality" in response.context["form"].rows.forms[0].errors


def test_composite_form_weights_must_add_up_to_100(post, done):
    cost, income = done("cost"), done("income")
    body = {**OPTIONS, f"weight_{cost.pk}": "60", f"weight_{income.pk}": "30"}
    response = post("composite", body)
    assert response.status_code == 200
    assert "add up to 90 %" in " ".join(response.context["form"].non_field_errors())
    post("composite", {**body, f"weight_{income.pk}": "40"})
    composite = Valuation.objects.get(method="composite")
    assert composite.status == ValuationStatus.DONE
    assert composite.value == (cost.value * Decimal("0.6")).quantize(Decimal("0.01")) + (
        income.value * Decimal("0.4")
    ).quantize(Decimal("0.01"))


def test_composite_form_without_finished_valuations(owner_client, product):
    response = owner_client.get(reverse("valuation:valuation_create", args=[product.pk, "composite"]))
    assert "run one of those first" in response.content.decode()


def test_unknown_method_is_404(owner_client, product):
    assert owner_client.get(reverse("valuation:valuation_create", args=[product.pk, "magic"])).status_code == 404


def test_viewer_may_not_value(client, product):
    client.force_login(member(product.organization, Role.VIEWER))
    assert client.get(reverse("valuation:valuation_create", args=[product.pk, "cost"])).status_code == 403


def test_another_organisations_draft_product_is_404(client, product):
    client.force_login(owner_of(OrganizationFactory(can_appraise=True)))
    assert client.get(reverse("valuation:product_valuations", args=[product.pk])).status_code == 404
    assert client.get(reverse("valuation:valuation_create", args=[product.pk, "cost"])).status_code == 404


def test_an_accredited_appraiser_values_a_registered_product(client, product, django_capture_on_commit_callbacks):
    register(product)
    appraiser = OrganizationFactory(can_appraise=True)
    client.force_login(owner_of(appraiser))
    page = client.get(reverse("valuation:valuation_create", args=[product.pk, "cost"]))
    assert "Accredited appraisal" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("valuation:valuation_create", args=[product.pk, "cost"]), COST_FORM)
    valuation = Valuation.objects.get()
    assert valuation.performer_kind == PerformerKind.ACCREDITED and valuation.organization == appraiser


def test_an_organisation_that_cannot_appraise_is_refused(client, product):
    register(product)
    client.force_login(owner_of(OrganizationFactory(can_appraise=False)))
    assert client.get(reverse("valuation:valuation_create", args=[product.pk, "cost"])).status_code == 403


# --- the report -------------------------------------------------------------------------------------------------


def test_report_page_shows_result_working_chart_and_accounting(owner_client, done):
    valuation = done("income")
    response = owner_client.get(reverse("valuation:valuation_detail", args=[valuation.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Self-assessment" in html and "Accredited appraisal" not in html.split("<main", 1)[1].split("Disclaimer")[0]
    assert 'class="chart chart-tornado"' in html and "Accounting treatment" in html
    assert reverse("valuation:valuation_pdf", args=[valuation.pk]) in html
    assert reverse("valuation:schedule_csv", args=[valuation.pk]) in html
    assert "style=" not in html.split("<main", 1)[1]  # CSP: no inline styles


def test_report_of_an_accredited_appraisal_says_so(client, product, django_capture_on_commit_callbacks):
    register(product)
    appraiser = OrganizationFactory(can_appraise=True)
    with django_capture_on_commit_callbacks(execute=True):
        valuation = valuation_of(product, "cost", organization=appraiser)
    for user in (owner_of(appraiser), owner_of(product.organization)):
        client.force_login(user)
        html = client.get(reverse("valuation:valuation_detail", args=[valuation.pk])).content.decode()
        assert "badge-accredited" in html and "badge-self" not in html


def test_queued_and_failed_valuations(owner_client, product, django_capture_on_commit_callbacks):
    queued = valuation_of(product, "cost")  # callbacks not run: still queued
    html = owner_client.get(reverse("valuation:valuation_detail", args=[queued.pk])).content.decode()
    assert "data-progress-url" in html
    progress = owner_client.get(reverse("valuation:valuation_progress", args=[queued.pk])).json()
    assert progress["status"] == "queued" and progress["progress"] < 100
    Valuation.objects.filter(pk=queued.pk).update(inputs={**queued.inputs, "profit_rate": "7"})
    from valuation.services import valuation_execute

    valuation_execute(valuation_id=queued.pk)
    html = owner_client.get(reverse("valuation:valuation_detail", args=[queued.pk])).content.decode()
    assert "The valuation failed" in html and "profit_rate" in html


def test_pdf_download(owner_client, done):
    valuation = done("cost")
    response = owner_client.get(reverse("valuation:valuation_pdf", args=[valuation.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert re.search(r'attachment; filename="valuation-\d+-.+\.pdf"', response["Content-Disposition"])


def test_schedule_csv_only_for_an_intangible_asset(owner_client, done):
    valuation = done("cost", amortisation_years=2)
    response = owner_client.get(reverse("valuation:schedule_csv", args=[valuation.pk]))
    lines = response.content.decode().strip().splitlines()
    assert response["Content-Type"].startswith("text/csv") and len(lines) == 1 + 24
    assert lines[0].startswith("period,period_start")
    for_sale = done("cost", holding_purpose="sale")
    assert owner_client.get(reverse("valuation:schedule_csv", args=[for_sale.pk])).status_code == 404


def test_another_organisations_valuation_is_404(client, done):
    valuation = done("cost")
    client.force_login(owner_of(OrganizationFactory()))
    for name in ("valuation_detail", "valuation_pdf", "schedule_csv"):
        assert client.get(reverse(f"valuation:{name}", args=[valuation.pk])).status_code == 404
    assert client.get(reverse("valuation:valuation_progress", args=[valuation.pk])).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, done):
    valuation = done("cost")
    response = client.get(reverse("valuation:valuation_detail", args=[valuation.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


# --- history and lists ------------------------------------------------------------------------------------------


def test_product_history_chart_tells_performers_apart(owner_client, product, done, django_capture_on_commit_callbacks):
    done("cost")
    done("income")
    register(product)
    with django_capture_on_commit_callbacks(execute=True):
        valuation_of(product, "cost", organization=OrganizationFactory(can_appraise=True))
    html = owner_client.get(reverse("valuation:product_valuations", args=[product.pk])).content.decode()
    assert html.count("chart-point-self") == 2 and html.count("chart-point-accredited") == 1
    assert "Value this product" in html


def test_valuation_list_filters_and_keeps_its_query_count(owner_client, product, done, django_assert_max_num_queries):
    done("cost")
    url = reverse("valuation:valuation_list")
    with django_assert_max_num_queries(12):
        owner_client.get(url)
    for _ in range(5):
        done("income")
    with django_assert_max_num_queries(12):
        response = owner_client.get(url)
    assert response.context["valuations_page"].paginator.count == 6
    filtered = owner_client.get(url, {"method": "cost"})
    assert filtered.context["valuations_page"].paginator.count == 1
    assert owner_client.get(url, {"accredited": "yes"}).context["valuations_page"].paginator.count == 0


def test_empty_list_says_what_to_do(owner_client):
    html = owner_client.get(reverse("valuation:valuation_list")).content.decode()
    assert "No valuations yet." in html


# --- comparables and revaluation --------------------------------------------------------------------------------


def test_add_a_comparable_and_see_it(owner_client, product):
    url = reverse("valuation:comparable_list")
    body = {"sector": "marine", "description": "Port data", "price": "150000", "transacted_on": "2026-04-01",
            "source": "Shanghai Data Exchange bulletin"}  # fmt: skip
    assert owner_client.post(url, body).status_code == 302
    assert ComparableTransaction.objects.get().organization == product.organization
    assert "Port data" in owner_client.get(url).content.decode()
    response = owner_client.post(url, {**body, "price": "0"})
    assert response.status_code == 200 and "price" in response.context["form"].errors


def test_viewer_cannot_add_a_comparable(client, product):
    client.force_login(member(product.organization, Role.VIEWER))
    body = {"sector": "marine", "description": "x", "price": "1", "transacted_on": "2026-04-01", "source": "x"}
    assert client.post(reverse("valuation:comparable_list"), body).status_code == 403


def test_revaluation_from_the_web(owner_client, done, django_capture_on_commit_callbacks):
    done("cost")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("valuation:revaluation_start"))
    batch = RevaluationBatch.objects.get()
    assert response["Location"] == reverse("valuation:revaluation_detail", args=[batch.pk])
    page = owner_client.get(response["Location"])
    assert page.status_code == 200 and "<progress" in page.content.decode()
    progress = owner_client.get(reverse("valuation:revaluation_progress", args=[batch.pk])).json()
    assert progress == {**progress, "status": "done", "progress": 100, "completed": 1, "failed": 0}


def test_zh_hans_report_page(owner_client, done):
    valuation = done("cost")
    owner_client.cookies["django_language"] = "zh-hans"
    response = owner_client.get(
        reverse("valuation:valuation_detail", args=[valuation.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode()
