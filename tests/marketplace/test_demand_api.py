"""The partner API for demands, offers, ratings and complaints: allowed, forbidden, anonymous, bad input."""

from decimal import Decimal

import pytest

from accounts.choices import ApiKeyScope
from marketplace.choices import ContractStatus, DemandStatus, OfferStatus
from marketplace.models import Complaint, Contract, Demand, Offer, Review
from marketplace.services import contracts, demands, feedback
from tests.api import assert_error, signed_in, with_key
from tests.factories import OrganizationFactory
from tests.factories.accounts import ApiKeyFactory, owner_of
from tests.factories.marketplace import contract_on, published_listing, registered_product

pytestmark = pytest.mark.django_db

NEED = "Daily container tons at the Qingdao port terminals."
BASE = "/api/v1"


@pytest.fixture
def buyer():
    return OrganizationFactory(can_sell=False)


@pytest.fixture
def listing():
    return published_listing(registered_product())


@pytest.fixture
def demand(buyer, listing):
    return demands.demand_post(organization=buyer, by=owner_of(buyer), title="Qingdao port throughput",
                               sector="marine", need=NEED, budget_max=Decimal(10000))  # fmt: skip


@pytest.fixture
def offer(demand, listing):
    return demands.offer_make(demand=demand, listing=listing, plan=listing.plans.get(), price=Decimal(4200),
                              by=owner_of(listing.organization))  # fmt: skip


def key_of(org, scope=ApiKeyScope.WRITE):
    return with_key(ApiKeyFactory(organization=org, scope=scope)[1])


# --- demands ----------------------------------------------------------------------------------------------------


def test_anonymous_callers_are_refused(api_client, demand):
    for path in ("/demands/", f"/demands/{demand.pk}/", "/offers/", "/reviews/", "/complaints/"):
        assert api_client.get(BASE + path).status_code == 401


def test_posting_a_demand_with_a_key(buyer, listing):
    response = key_of(buyer).post(f"{BASE}/demands/", {"title": "Port tons", "sector": "marine", "need": NEED,
                                                       "budget_max": "9000.00"}, format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["is_own"] and body["status"] == "open" and body["budget_max"] == "9000.00"
    matches = key_of(buyer).get(f"{BASE}/demands/{body['id']}/matches/").json()
    assert matches["count"] == 1 and [match["listing"]["id"] for match in matches["results"]] == [listing.pk]
    ordered = key_of(buyer).get(f"{BASE}/demands/{body['id']}/matches/", {"ordering": "score"}).json()
    assert ordered["results"] == matches["results"]
    assert_error(key_of(buyer).get(f"{BASE}/demands/{body['id']}/matches/", {"ordering": "title"}), 400, "invalid")


def test_bad_demands_are_400_by_field(buyer):
    client = key_of(buyer)
    body = assert_error(client.post(f"{BASE}/demands/", {"title": "T", "sector": "marine", "need": NEED,
                                                         "budget_min": "9", "budget_max": "1"}, format="json"),
                        400, "invalid")  # fmt: skip
    assert "budget_max" in body["fields"]
    for field, value in (("sector", "moon"), ("x", 1)):
        data = {"title": "T", "sector": "marine", "need": NEED, field: value}
        body = assert_error(client.post(f"{BASE}/demands/", data, format="json"), 400, "invalid")
        assert field in body["fields"]
    assert not Demand.objects.exists()


def test_a_read_key_only_reads(buyer, demand):
    client = key_of(buyer, ApiKeyScope.READ)
    assert client.get(f"{BASE}/demands/{demand.pk}/").status_code == 200
    assert_error(client.post(f"{BASE}/demands/{demand.pk}/close/", {}, format="json"), 403, "insufficient_scope")


def test_who_sees_which_demands(buyer, listing, demand):
    assert [d["id"] for d in key_of(listing.organization).get(f"{BASE}/demands/").json()["results"]] == [demand.pk]
    assert key_of(listing.organization).get(f"{BASE}/demands/", {"own": "true"}).json()["results"] == []
    outsider = key_of(OrganizationFactory(can_sell=False))
    assert outsider.get(f"{BASE}/demands/").json()["results"] == []
    assert_error(outsider.get(f"{BASE}/demands/{demand.pk}/"), 404, "not_found")
    # merchants see the demand, not what the exchange suggested to its buyer
    assert_error(key_of(listing.organization).get(f"{BASE}/demands/{demand.pk}/matches/"), 404, "not_found")


def test_demand_list_queries_are_bounded(buyer, listing, django_assert_max_num_queries):
    for i in range(8):
        demands.demand_post(organization=buyer, by=owner_of(buyer), title=f"Need {i}", sector="marine", need=NEED)
    client = signed_in(owner_of(listing.organization))
    with django_assert_max_num_queries(8):
        response = client.get(f"{BASE}/demands/")
    assert response.json()["count"] == 8


def test_closing_a_demand(buyer, demand, offer):
    client = key_of(buyer)
    assert_error(client.post(f"{BASE}/demands/{demand.pk}/close/", {"fulfilled": True}, format="json"), 400,
                 "nothing_accepted")  # fmt: skip
    response = client.post(f"{BASE}/demands/{demand.pk}/close/", {"reason": "Solved."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == DemandStatus.CLOSED
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DECLINED
    assert_error(client.post(f"{BASE}/demands/{demand.pk}/close/", {}, format="json"), 409, "invalid_transition")


# --- offers -----------------------------------------------------------------------------------------------------


def test_a_merchant_offers_with_a_key(demand, listing):
    body = {"demand": demand.pk, "listing": listing.pk, "plan": listing.plans.get().pk, "price": "4100.00",
            "message": "History since 2020."}  # fmt: skip
    response = key_of(listing.organization).post(f"{BASE}/offers/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], data["price"], data["contract"]) == ("pending", "4100.00", None)
    assert data["organization"]["id"] == listing.organization_id and data["plan"]["kind"] == "licence"
    assert_error(key_of(listing.organization).post(f"{BASE}/offers/", body, format="json"), 400, "offer_pending")


def test_offer_refusals(demand, listing):
    client = key_of(listing.organization)
    other = published_listing(registered_product())
    base = {"demand": demand.pk, "listing": listing.pk, "plan": listing.plans.get().pk, "price": "1.00"}
    assert_error(client.post(f"{BASE}/offers/", {**base, "listing": other.pk}, format="json"), 404, "not_found")
    body = assert_error(client.post(f"{BASE}/offers/", {**base, "plan": other.plans.get().pk}, format="json"),
                        400, "invalid")  # fmt: skip
    assert "plan" in body["fields"]
    body = assert_error(client.post(f"{BASE}/offers/", {**base, "price": "-1"}, format="json"), 400, "invalid")
    assert "price" in body["fields"]
    hidden = demands.demand_post(organization=listing.organization, by=owner_of(listing.organization),
                                 title="Own", sector="marine", need=NEED)  # fmt: skip
    assert_error(client.post(f"{BASE}/offers/", {**base, "demand": hidden.pk}, format="json"), 400, "own_demand")
    assert not Offer.objects.exists()


def test_the_buyer_accepts_an_offer_and_gets_the_contract(buyer, demand, offer):
    response = key_of(buyer).post(f"{BASE}/offers/{offer.pk}/accept/", {"close_demand": True}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    contract = Contract.objects.get()
    assert data["contract"] == {"id": contract.pk, "number": contract.number, "status": "awaiting_payment",
                                "price": "4200.00"}  # fmt: skip
    assert data["offer"]["status"] == "accepted" and data["offer"]["contract"]["id"] == contract.pk
    assert contract.status == ContractStatus.AWAITING_PAYMENT and contract.purpose == NEED
    demand.refresh_from_db()
    assert demand.status == DemandStatus.FULFILLED
    assert_error(key_of(buyer).post(f"{BASE}/offers/{offer.pk}/accept/", {}, format="json"), 400, "demand_closed")


def test_offer_answers_belong_to_their_side(buyer, demand, offer, listing):
    merchant = key_of(listing.organization)
    assert_error(merchant.post(f"{BASE}/offers/{offer.pk}/accept/", {}, format="json"), 403, "permission_denied")
    assert_error(key_of(buyer).post(f"{BASE}/offers/{offer.pk}/withdraw/"), 403, "permission_denied")
    assert_error(key_of(OrganizationFactory()).post(f"{BASE}/offers/{offer.pk}/decline/"), 404, "not_found")
    response = key_of(buyer).post(f"{BASE}/offers/{offer.pk}/decline/", {"reason": "Too dear."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "declined"
    assert_error(merchant.post(f"{BASE}/offers/{offer.pk}/withdraw/"), 409, "invalid_transition")
    assert [o["id"] for o in merchant.get(f"{BASE}/offers/", {"status": "declined"}).json()["results"]] == [offer.pk]


# --- ratings and complaints -------------------------------------------------------------------------------------


@pytest.fixture
def contract(listing):
    return contracts.contract_activate(contract=contract_on(listing))


def test_rating_a_contract_and_the_public_summary(contract, listing):
    client = key_of(contract.buyer)
    response = client.post(f"{BASE}/reviews/", {"contract": contract.pk, "rating": 4, "comment": "Good."},
                           format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["rating"] == 4 and "buyer" not in response.json()
    assert_error(client.post(f"{BASE}/reviews/", {"contract": contract.pk, "rating": 5}, format="json"), 400,
                 "already_reviewed")  # fmt: skip
    anyone = key_of(OrganizationFactory())
    summary = anyone.get(f"{BASE}/reviews/summary/", {"listing": listing.pk}).json()
    assert summary == {"average": "4.0", "count": 1, "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}}
    reviews = anyone.get(f"{BASE}/reviews/", {"listing": listing.pk}).json()["results"]
    assert [r["comment"] for r in reviews] == ["Good."]
    assert_error(anyone.get(f"{BASE}/reviews/summary/"), 400, "invalid")


def test_rating_refusals(contract, listing):
    client = key_of(contract.buyer)
    body = assert_error(client.post(f"{BASE}/reviews/", {"contract": contract.pk, "rating": 9}, format="json"),
                        400, "invalid")  # fmt: skip
    assert "rating" in body["fields"]
    assert_error(key_of(OrganizationFactory()).post(f"{BASE}/reviews/", {"contract": contract.pk, "rating": 3},
                                                    format="json"), 404, "not_found")  # fmt: skip
    assert_error(key_of(contract.merchant).post(f"{BASE}/reviews/", {"contract": contract.pk, "rating": 5},
                                                format="json"), 403, "permission_denied")  # fmt: skip
    unpaid = contract_on(listing)
    assert_error(key_of(unpaid.buyer).post(f"{BASE}/reviews/", {"contract": unpaid.pk, "rating": 3}, format="json"),
                 400, "contract_not_held")  # fmt: skip
    assert not Review.objects.exists()


def test_the_merchant_replies_once(contract):
    review = feedback.review_create(contract=contract, by=owner_of(contract.buyer), rating=2)
    assert_error(key_of(contract.buyer).post(f"{BASE}/reviews/{review.pk}/reply/", {"reply": "x"}, format="json"),
                 403, "permission_denied")  # fmt: skip
    merchant = key_of(contract.merchant)
    response = merchant.post(f"{BASE}/reviews/{review.pk}/reply/", {"reply": "Fixed."}, format="json")
    assert response.status_code == 200 and response.json()["reply"] == "Fixed."
    assert_error(merchant.post(f"{BASE}/reviews/{review.pk}/reply/", {"reply": "Again."}, format="json"), 400,
                 "already_replied")  # fmt: skip


def test_complaints_are_filed_and_listed_for_both_sides(contract):
    client = key_of(contract.buyer)
    body = {"contract": contract.pk, "kind": "quality", "description": "Duplicated rows."}
    response = client.post(f"{BASE}/complaints/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "open" and response.json()["contract"]["number"] == contract.number
    assert_error(client.post(f"{BASE}/complaints/", body, format="json"), 400, "complaint_open")
    complaint = Complaint.objects.get()
    for org in (contract.buyer, contract.merchant):
        assert [c["id"] for c in key_of(org).get(f"{BASE}/complaints/").json()["results"]] == [complaint.pk]
    outsider = key_of(OrganizationFactory())
    assert outsider.get(f"{BASE}/complaints/").json()["results"] == []
    assert_error(outsider.get(f"{BASE}/complaints/{complaint.pk}/"), 404, "not_found")
    bad = assert_error(client.post(f"{BASE}/complaints/", {**body, "kind": "price"}, format="json"), 400, "invalid")
    assert "kind" in bad["fields"]
