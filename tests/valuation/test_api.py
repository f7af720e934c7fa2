"""The valuation partner API: run a valuation, its report and schedule, comparables, batch revaluation; scopes."""

import csv
import io
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.choices import ApiKeyScope, Role
from audit.models import AuditEvent
from registry import services as registry_services
from registry.models import DataProduct
from tests.api import assert_error, signed_in, with_key
from tests.factories import ApiKeyFactory, MembershipFactory, OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.registry import DataProductFactory, upload_version
from tests.factories.valuation import COST_INPUTS, INCOME_INPUTS, valuation_of
from valuation import accounting, services
from valuation.choices import PerformerKind, ValuationStatus
from valuation.models import ComparableTransaction, RevaluationBatch, Valuation

pytestmark = pytest.mark.django_db

API = "/api/v1"
CLEAN_CSV = b"date,tons\n" + b"".join(b"2026-11-%02d,%d\n" % (d, d) for d in range(1, 11))
COMPARABLE_BODY = {
    "sector": "marine",
    "description": "Port throughput feed, 12 months",
    "price": "120000.00",
    "transacted_on": "2026-06-01",
    "source": "Exchange bulletin 2026/6",
}


def cost_body(product: DataProduct, **fields) -> dict:
    return {"product": product.pk, "method": "cost", "inputs": COST_INPUTS, **fields}


@pytest.fixture
def profiled(django_capture_on_commit_callbacks):
    """A draft product with one profiled version (so it has a quality score)."""

    def make(organization) -> DataProduct:
        product = DataProductFactory(organization=organization)
        with django_capture_on_commit_callbacks(execute=True):
            upload_version(product, CLEAN_CSV)
        return product

    return make


@pytest.fixture
def product(org, profiled) -> DataProduct:
    return profiled(org)


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST and run what the request queued (eager Celery), as a request outside a test transaction would."""

    def send(client: APIClient, path: str, body: dict):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(API + path, body, format="json")

    return send


@pytest.fixture
def register():
    """Take a product through submission and a regulator's approval."""
    regulator = owner_of(OrganizationFactory(kind="regulator"))

    def make(product: DataProduct) -> DataProduct:
        registry_services.product_submit(product=product, by=owner_of(product.organization))
        registry_services.product_approve(product=product, by=regulator, reason="Complete and lawful.")
        return DataProduct.objects.get(pk=product.pk)

    return make


@pytest.fixture
def appraiser():
    """A verified organisation with the appraise capability."""
    return OrganizationFactory(can_appraise=True)


@pytest.fixture
def owner_client(owner) -> APIClient:
    return signed_in(owner)


@pytest.fixture
def write_key(org):
    return ApiKeyFactory(organization=org, scope=ApiKeyScope.WRITE)


@pytest.fixture
def write_client(write_key) -> APIClient:
    return with_key(write_key[1])


@pytest.fixture
def read_client(org) -> APIClient:
    return with_key(ApiKeyFactory(organization=org, scope=ApiKeyScope.READ)[1])


@pytest.fixture
def other_client(other_org) -> APIClient:
    return signed_in(owner_of(other_org))


@pytest.fixture
def done(run, product) -> Valuation:
    """A finished cost valuation of `org`'s product."""
    return run(product, "cost", amortisation_years=3)


@pytest.fixture
def comparable(org, owner) -> ComparableTransaction:
    return services.comparable_add(organization=org, by=owner, **{**COMPARABLE_BODY, "price": Decimal("120000")})


@pytest.fixture
def batch(org, owner, done) -> RevaluationBatch:
    return services.revaluation_start(organization=org, by=owner, queue=False)


# --- every endpoint: anonymous, read-only keys, other organisations ---------------------------------------------

ENDPOINTS = [
    ("get", "/valuations/"),
    ("post", "/valuations/"),
    ("get", "/valuations/{valuation}/"),
    ("get", "/valuations/{valuation}/schedule/"),
    ("get", "/comparables/"),
    ("post", "/comparables/"),
    ("get", "/comparables/{comparable}/"),
    ("post", "/revaluations/"),
    ("get", "/revaluations/{batch}/"),
]
WRITES = [(method, path) for method, path in ENDPOINTS if method != "get"]
DETAILS = [(method, path) for method, path in ENDPOINTS if "{" in path]


@pytest.fixture
def ids(done, comparable, batch):
    return {"valuation": done.pk, "comparable": comparable.pk, "batch": batch.pk}


def body_for(path: str, product: DataProduct) -> dict:
    return {
        "/valuations/": cost_body(product),
        "/comparables/": COMPARABLE_BODY,
        "/revaluations/": {"products": [product.pk]},
    }.get(path, {})


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_gets_401(api_client, ids, method, path):
    response = getattr(api_client, method)(API + path.format(**ids), {}, format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_read_key_may_not_write(read_client, ids, product, method, path):
    def counts() -> tuple[int, ...]:
        return tuple(model.objects.count() for model in (Valuation, ComparableTransaction, RevaluationBatch))

    before = counts()
    response = getattr(read_client, method)(API + path, body_for(path, product), format="json")
    assert_error(response, 403, "insufficient_scope")
    assert counts() == before


@pytest.mark.parametrize(("method", "path"), DETAILS)
def test_other_organisations_objects_are_404(other_client, ids, method, path):
    assert_error(getattr(other_client, method)(API + path.format(**ids)), 404, "not_found")


@pytest.mark.parametrize(("method", "path"), DETAILS)
def test_read_key_reads(read_client, ids, method, path):
    assert getattr(read_client, method)(API + path.format(**ids)).status_code == 200


# --- list ---------------------------------------------------------------------------------------------------------


def test_list_shows_own_valuations_only(owner_client, other_client, done, run, profiled, other_org):
    theirs = run(profiled(other_org), "income")
    body = owner_client.get(f"{API}/valuations/").json()
    assert [item["id"] for item in body["results"]] == [done.pk]
    assert [item["id"] for item in other_client.get(f"{API}/valuations/").json()["results"]] == [theirs.pk]


def test_list_item(owner_client, done, org):
    item = owner_client.get(f"{API}/valuations/").json()["results"][0]
    assert item["product"]["id"] == done.product_id and item["product"]["title"] == done.product.title
    assert item["version_number"] == 1
    assert item["performer"] == {"id": org.pk, "name": org.name}
    assert (item["method"], item["performer_kind"], item["accredited"], item["status"]) == (
        "cost",
        "self",
        False,
        "done",
    )
    assert (
        item["value"] == f"{done.value:.2f}" and item["low"] == f"{done.low:.2f}" and item["high"] == f"{done.high:.2f}"
    )
    assert item["quality_score"] == done.quality_score and item["error"] == ""
    assert item["as_of"] == done.as_of.isoformat() and item["finished_at"]
    assert "inputs" not in item and "accounting" not in item


def test_list_filters_and_ordering(owner_client, run, product, profiled, org):
    cost = run(product, "cost")
    income = run(product, "income")
    other = run(profiled(org), "cost", inputs={**COST_INPUTS, "collection": "1"})
    queued = valuation_of(product, "cost")  # callbacks not run: still queued, no value

    def ids(**params) -> list[int]:
        return [item["id"] for item in owner_client.get(f"{API}/valuations/", params).json()["results"]]

    assert ids(method="income") == [income.pk]
    assert set(ids(product=product.pk)) == {cost.pk, income.pk, queued.pk}
    assert ids(status="queued") == [queued.pk]
    assert ids(performer_kind="accredited") == []
    by_value = sorted([cost, income, other], key=lambda valuation: valuation.value)
    assert ids(ordering="value") == [v.pk for v in by_value] + [queued.pk]  # no value yet: last either way
    assert ids(ordering="-value") == [v.pk for v in reversed(by_value)] + [queued.pk]
    assert ids(ordering="created_at") == [cost.pk, income.pk, other.pk, queued.pk]
    assert_error(owner_client.get(f"{API}/valuations/", {"method": "guess"}), 400, "invalid")


def test_list_query_count_does_not_grow(
    owner_client, run, profiled, org, appraiser, register, django_assert_max_num_queries
):
    for _ in range(3):
        product = profiled(org)
        run(product, "cost")
        run(product, "income")
    run(register(profiled(org)), "cost", organization=appraiser)
    with django_assert_max_num_queries(6):
        body = owner_client.get(f"{API}/valuations/").json()
    assert body["count"] == 7 and {item["accredited"] for item in body["results"]} == {True, False}


# --- the report ---------------------------------------------------------------------------------------------------


def test_report(owner_client, done, settings):
    settings.VALUATION_PLEDGE_RATIO = "0.3"
    report = owner_client.get(f"{API}/valuations/{done.pk}/").json()
    assert report["value"] == f"{done.value:.2f}"
    assert report["inputs"]["quality_score"] == str(done.quality_score)
    assert report["result"]["value"] == str(done.value) and report["result"]["method"] == "cost"
    rows = report["sensitivity"]
    assert rows and set(rows[0]) == {
        "parameter",
        "base_input",
        "low_input",
        "high_input",
        "low_value",
        "high_value",
        "swing",
    }
    assert Decimal(rows[0]["swing"]) >= Decimal(rows[-1]["swing"])
    assert (report["holding_purpose"], report["pledge_ratio"], report["amortisation_years"]) == (
        "internal_use",
        None,
        3,
    )
    books = report["accounting"]
    assert (books["asset_class"], books["standard"], books["amortised"]) == (
        "intangible_asset",
        "CAS 6 Intangible Assets",
        True,
    )
    ceiling = (done.value * Decimal("0.3")).quantize(Decimal("0.01"))
    assert books["pledge"] == {"value": f"{done.value:.2f}", "ratio": "0.3000", "ceiling": f"{ceiling:.2f}"}
    first = accounting.amortisation_schedule(done.value, useful_life_years=3, start=done.as_of.replace(day=1))[0]
    assert books["schedule"] == {
        "periods": 36,
        "start": done.as_of.replace(day=1).isoformat(),
        "monthly_amount": f"{first.amortisation:.2f}",
    }


def test_report_of_a_queued_valuation_has_no_accounting(owner_client, product):
    valuation = valuation_of(product, "cost")
    report = owner_client.get(f"{API}/valuations/{valuation.pk}/").json()
    assert (report["status"], report["value"], report["accounting"]) == ("queued", None, None)


def test_report_of_a_failed_valuation_says_why(owner_client, product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        valuation = valuation_of(product, "cost")
        Valuation.objects.filter(pk=valuation.pk).update(inputs={**valuation.inputs, "profit_rate": "7"})
    report = owner_client.get(f"{API}/valuations/{valuation.pk}/").json()
    assert report["status"] == "failed" and "profit" in report["error"].lower() and report["accounting"] is None


# --- running one --------------------------------------------------------------------------------------------------


def test_write_key_runs_a_valuation(write_client, write_key, product, post):
    response = post(write_client, "/valuations/", cost_body(product, pledge_ratio="0.5", holding_purpose="services"))
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "queued" and created["performer_kind"] == "self"
    report = write_client.get(f"{API}/valuations/{created['id']}/").json()  # clients poll the detail
    assert report["status"] == "done" and report["accounting"]["pledge"]["ratio"] == "0.5000"
    assert report["holding_purpose"] == "services"
    valuation = Valuation.objects.get(pk=created["id"])
    assert valuation.created_by == owner_of(product.organization)  # the key's issuer
    queued = AuditEvent.objects.for_object(valuation).get(action="valuation.queued")
    assert (queued.actor_kind, queued.actor_id) == ("api_key", str(write_key[0].pk))


def test_income_valuation_by_a_signed_in_owner(owner_client, product, post):
    response = post(owner_client, "/valuations/", {"product": product.pk, "method": "income", "inputs": INCOME_INPUTS})
    assert response.status_code == 201, response.content
    report = owner_client.get(f"{API}/valuations/{response.json()['id']}/").json()
    assert report["status"] == "done" and len(report["result"]["rows"]) == 5


def test_member_of_several_organisations_says_which_acts(owner, product, other_org, post):
    MembershipFactory(user=owner, organization=other_org, role=Role.EDITOR)
    client = signed_in(owner)
    body = assert_error(client.post(f"{API}/valuations/", cost_body(product), format="json"), 400, "invalid")
    assert body["fields"]["organization"]
    assert post(client, "/valuations/", cost_body(product, organization=product.organization_id)).status_code == 201
    assert_error(
        client.post(f"{API}/valuations/", cost_body(product, organization=999999), format="json"), 404, "not_found"
    )


def test_composite_valuation(owner_client, run, product, post):
    cost, income = run(product, "cost"), run(product, "income")
    components = [{"valuation": cost.pk, "weight": "0.6"}, {"valuation": income.pk, "weight": "0.4"}]
    response = post(
        owner_client,
        "/valuations/",
        {"product": product.pk, "method": "composite", "inputs": {"components": components}},
    )
    assert response.status_code == 201, response.content
    report = owner_client.get(f"{API}/valuations/{response.json()['id']}/").json()
    expected = (cost.value * Decimal("0.6")).quantize(Decimal("0.01")) + (income.value * Decimal("0.4")).quantize(
        Decimal("0.01")
    )
    assert report["value"] == f"{expected:.2f}" and report["sensitivity"] == []


@pytest.mark.parametrize(
    ("method", "inputs", "field"),
    [
        ("cost", {**COST_INPUTS, "collection": "-1"}, "inputs.collection"),
        ("income", {**INCOME_INPUTS, "discount_rate": "1.5"}, "inputs.discount_rate"),
        ("income", {**INCOME_INPUTS, "useful_life_years": 0}, "inputs.useful_life_years"),
        ("market", {"comparables": []}, "inputs.comparables"),
        ("market", {"comparables": "cheap ones"}, "inputs.comparables"),
        ("market", {"comparables": [{"id": "one"}]}, "inputs.comparables[0].id"),
        ("market", {"comparables": [{"id": 999999}]}, "inputs.comparables[0]"),
        ("market", {"comparables": [{"price": "-5"}]}, "inputs.comparables[0].price"),
        ("composite", {"components": []}, "inputs.components"),
        ("composite", {"components": [{"weight": "1"}]}, "inputs.components[0].valuation"),
        ("composite", {"components": [{"valuation": 999999, "weight": "1"}]}, "inputs.components[0]"),
        ("income", {"discount_rate": "0.1"}, "inputs"),  # does not fit the method at all
        ("cost", {**COST_INPUTS, "planning": "1e400"}, "inputs"),  # too large to compute
    ],
)
def test_bad_inputs_are_400_keyed_by_input(owner_client, product, method, inputs, field):
    response = owner_client.post(
        f"{API}/valuations/", {"product": product.pk, "method": method, "inputs": inputs}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert body["fields"][field] and all(isinstance(message, str) for message in body["fields"][field]), body
    assert not Valuation.objects.exists()


def test_composite_weights_must_sum_to_one(owner_client, run, product):
    cost, income = run(product, "cost"), run(product, "income")
    components = [{"valuation": cost.pk, "weight": "0.5"}, {"valuation": income.pk, "weight": "0.4"}]
    body = {"product": product.pk, "method": "composite", "inputs": {"components": components}}
    errors = assert_error(owner_client.post(f"{API}/valuations/", body, format="json"), 400, "invalid")["fields"]
    assert "0.9" in errors["inputs.components"][0]
    assert Valuation.objects.count() == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"method": "guess"}, "method"),
        ({"inputs": ["not", "an", "object"]}, "inputs"),
        ({"holding_purpose": "speculation"}, "holding_purpose"),
        ({"pledge_ratio": "1.5"}, "pledge_ratio"),
        ({"pledge_ratio": "0"}, "pledge_ratio"),
        ({"amortisation_years": 0}, "amortisation_years"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_body_is_400(owner_client, product, fields, field):
    body = assert_error(
        owner_client.post(f"{API}/valuations/", cost_body(product, **fields), format="json"), 400, "invalid"
    )
    assert body["fields"][field]
    assert not Valuation.objects.exists()


def test_unknown_or_invisible_product_is_404(owner_client, profiled, other_org):
    for product_id in (999999, profiled(other_org).pk):  # another organisation's draft
        body = {"product": product_id, "method": "cost", "inputs": COST_INPUTS}
        response = owner_client.post(f"{API}/valuations/", body, format="json")
        assert_error(response, 404, "not_found")
    assert not Valuation.objects.exists()


def test_registered_product_of_another_organisation_needs_an_appraiser(other_client, product, register):
    register(product)
    assert_error(other_client.post(f"{API}/valuations/", cost_body(product), format="json"), 403, "permission_denied")
    assert not Valuation.objects.exists()


def test_viewer_may_not_run_a_valuation(org, product):
    client = signed_in(member(org, Role.VIEWER))
    assert_error(client.post(f"{API}/valuations/", cost_body(product), format="json"), 403, "permission_denied")


def test_accredited_appraisal_of_a_registered_product(appraiser, product, register, owner_client, post):
    register(product)
    client = with_key(ApiKeyFactory(organization=appraiser, scope=ApiKeyScope.WRITE)[1])
    response = post(client, "/valuations/", cost_body(product))
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["performer_kind"], created["accredited"]) == ("accredited", True)
    assert created["performer"] == {"id": appraiser.pk, "name": appraiser.name}
    assert Valuation.objects.get(pk=created["id"]).performer_kind == PerformerKind.ACCREDITED
    # the owner sees the appraisal of its product, told apart from its self-assessments
    listed = owner_client.get(f"{API}/valuations/", {"performer_kind": "accredited"}).json()["results"]
    assert [(item["id"], item["accredited"]) for item in listed] == [(created["id"], True)]
    assert owner_client.get(f"{API}/valuations/{created['id']}/").json()["status"] == ValuationStatus.DONE


# --- the amortisation schedule ------------------------------------------------------------------------------------


def test_schedule_as_json(owner_client, done):
    body = owner_client.get(f"{API}/valuations/{done.pk}/schedule/").json()
    assert (body["valuation"], body["asset_class"], body["amortised"], body["periods"]) == (
        done.pk,
        "intangible_asset",
        True,
        36,
    )
    assert body["start"] == done.as_of.replace(day=1).isoformat() and body["note"] is None
    rows = body["rows"]
    assert len(rows) == 36 and sum(Decimal(row["amortisation"]) for row in rows) == done.value
    assert rows[0]["opening_book_value"] == f"{done.value:.2f}" and rows[-1]["closing_book_value"] == "0.00"
    assert tuple(rows[0]) == accounting.CSV_HEADER  # the CSV's columns, in the same order


@pytest.mark.parametrize("how", [{"path": "?format=csv"}, {"HTTP_ACCEPT": "text/csv"}])
def test_schedule_as_csv(owner_client, done, how):
    path = f"{API}/valuations/{done.pk}/schedule/" + how.pop("path", "")
    response = owner_client.get(path, **how)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="valuation-{done.pk}-amortisation.csv"'
    books = services.valuation_accounting(done)
    assert response.content.decode() == accounting.schedule_csv(books.schedule)
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert tuple(lines[0]) == accounting.CSV_HEADER and len(lines) == 37


def test_schedule_of_inventory_has_no_rows(owner_client, run, product):
    valuation = run(product, "cost", holding_purpose="sale")
    body = owner_client.get(f"{API}/valuations/{valuation.pk}/schedule/").json()
    assert (body["asset_class"], body["amortised"], body["rows"], body["periods"]) == ("inventory", False, [], 0)
    assert body["standard"] == "CAS 1 Inventories" and body["note"]
    csv_text = owner_client.get(f"{API}/valuations/{valuation.pk}/schedule/?format=csv").content.decode()
    assert csv_text.splitlines() == [",".join(accounting.CSV_HEADER)]


@pytest.mark.parametrize("suffix", ["", "?format=csv"])
def test_schedule_of_an_unfinished_valuation_is_409_in_json(owner_client, product, suffix):
    valuation = valuation_of(product, "cost")
    response = owner_client.get(f"{API}/valuations/{valuation.pk}/schedule/{suffix}")
    assert_error(response, 409, "valuation_not_done")
    assert response["Content-Type"] == "application/json"


# --- the PDF report -----------------------------------------------------------------------------------------------


def test_report_as_pdf(owner_client, done):
    response = owner_client.get(f"{API}/valuations/{done.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == f'attachment; filename="valuation-{done.pk}.pdf"'


def test_pdf_of_an_unfinished_valuation_is_409_in_json(owner_client, product):
    valuation = valuation_of(product, "cost")
    response = owner_client.get(f"{API}/valuations/{valuation.pk}/pdf/")
    assert_error(response, 409, "valuation_not_done")
    assert response["Content-Type"] == "application/json"


def test_pdf_of_another_organisations_valuation_is_404(done, other_org):
    response = signed_in(owner_of(other_org)).get(f"{API}/valuations/{done.pk}/pdf/")
    assert_error(response, 404, "not_found")


# --- comparables --------------------------------------------------------------------------------------------------


def test_write_key_enters_a_comparable(write_client, org):
    response = write_client.post(f"{API}/comparables/", COMPARABLE_BODY, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["price"] == "120000.00" and body["organization"]["id"] == org.pk and body["sector"] == "marine"
    row = ComparableTransaction.objects.get(pk=body["id"])
    assert row.organization == org and row.created_by == owner_of(org)
    assert write_client.get(f"{API}/comparables/{row.pk}/").json() == body


def test_comparables_list_is_the_organisations_own(owner_client, other_org, comparable):
    services.comparable_add(
        organization=other_org, by=owner_of(other_org), **{**COMPARABLE_BODY, "price": Decimal("90000")}
    )
    body = owner_client.get(f"{API}/comparables/").json()
    assert [item["id"] for item in body["results"]] == [comparable.pk]
    assert owner_client.get(f"{API}/comparables/", {"sector": "finance"}).json()["results"] == []
    assert owner_client.get(f"{API}/comparables/", {"transacted_after": "2026-06-02"}).json()["results"] == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"price": "-1"}, "price"), ({"sector": "moon"}, "sector"), ({"transacted_on": "soon"}, "transacted_on")],
)
def test_bad_comparable_is_400(owner_client, fields, field):
    response = owner_client.post(f"{API}/comparables/", {**COMPARABLE_BODY, **fields}, format="json")
    assert assert_error(response, 400, "invalid")["fields"][field]
    assert not ComparableTransaction.objects.exists()


def test_market_valuation_with_comparables_entered_through_the_api(owner_client, product, post):
    ids = [owner_client.post(f"{API}/comparables/", COMPARABLE_BODY, format="json").json()["id"] for _ in range(2)]
    inputs = {"comparables": [{"id": pk, "quality": "1.1"} for pk in ids]}
    response = post(owner_client, "/valuations/", {"product": product.pk, "method": "market", "inputs": inputs})
    assert response.status_code == 201, response.content
    assert owner_client.get(f"{API}/valuations/{response.json()['id']}/").json()["value"] == "132000.00"


def test_comparables_of_another_organisation_cannot_be_used(other_client, other_org, profiled, comparable, post):
    theirs = profiled(other_org)
    inputs = {"comparables": [{"id": comparable.pk}]}
    response = other_client.post(
        f"{API}/valuations/", {"product": theirs.pk, "method": "market", "inputs": inputs}, format="json"
    )
    assert assert_error(response, 400, "invalid")["fields"]["inputs.comparables[0]"]


# --- batch revaluation --------------------------------------------------------------------------------------------


def test_revaluation_of_every_valued_product(write_client, org, run, product, profiled, post):
    run(product, "cost")
    run(profiled(org), "income")
    response = post(write_client, "/revaluations/", {})
    assert response.status_code == 201, response.content
    progress = write_client.get(f"{API}/revaluations/{response.json()['id']}/").json()
    assert (progress["status"], progress["total"], progress["completed"], progress["failed"]) == ("done", 2, 2, 0)
    assert progress["progress"] == 100 and progress["finished_at"]
    assert Valuation.objects.filter(batch_id=progress["id"], status="done").count() == 2


def test_revaluation_of_named_products(owner_client, run, product, profiled, org, post):
    run(product, "cost")
    never_valued = profiled(org)
    response = post(owner_client, "/revaluations/", {"products": [product.pk, never_valued.pk]})
    assert response.status_code == 201, response.content
    progress = owner_client.get(f"{API}/revaluations/{response.json()['id']}/").json()
    assert (progress["total"], progress["completed"], progress["failed"]) == (2, 1, 1)


def test_revaluation_progress_while_it_runs(owner_client, batch):
    RevaluationBatch.objects.filter(pk=batch.pk).update(status="running", total=4, completed=1, failed=1)
    progress = owner_client.get(f"{API}/revaluations/{batch.pk}/").json()
    assert (progress["status"], progress["progress"], progress["finished_at"]) == ("running", 50, None)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"products": []}, 400, "products"),
        ({"products": ["all"]}, 400, "products[0]"),  # nested errors are flattened to paths
        ({"products": [999999]}, 404, None),
        ({"everything": True}, 400, "everything"),
    ],
)
def test_bad_revaluation_body(owner_client, body, status, field):
    response = owner_client.post(f"{API}/revaluations/", body, format="json")
    errors = assert_error(response, status, "invalid" if status == 400 else "not_found")
    assert field is None or errors["fields"][field]
    assert not RevaluationBatch.objects.exists()


def test_viewer_may_not_start_a_revaluation(org):
    client = signed_in(member(org, Role.VIEWER))
    assert_error(client.post(f"{API}/revaluations/", {}, format="json"), 403, "permission_denied")
