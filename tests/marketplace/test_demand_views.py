"""The demand pages: lists for buyers and merchants, posting, the demand's page for each side, offers and answers."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from marketplace.choices import ContractStatus, DemandStatus, OfferStatus
from marketplace.models import Contract, Demand, Offer
from marketplace.services import demands
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import plan_fields, published_listing, registered_product

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"
NEED = "Daily container tons at the Qingdao port terminals."


@pytest.fixture
def buyer():
    return OrganizationFactory(can_sell=False)


@pytest.fixture
def listing():
    return published_listing(registered_product(), plans=[plan_fields(), plan_fields("subscription", price=900)])


@pytest.fixture
def demand(buyer, listing):
    return demands.demand_post(organization=buyer, by=owner_of(buyer), title="Qingdao port throughput",
                               sector="marine", need=NEED, budget_max=Decimal(10000))  # fmt: skip


def login(client, user):
    client.force_login(user)
    return client


def offer_on(demand, listing, price=Decimal(4200)) -> Offer:
    return demands.offer_make(demand=demand, listing=listing, plan=listing.plans.first(), price=price,
                              by=owner_of(listing.organization))  # fmt: skip


def url(name, *args) -> str:
    return reverse(f"marketplace:{name}", args=args)


# --- lists ------------------------------------------------------------------------------------------------------


def test_anonymous_visitors_sign_in_first(client, demand):
    for target in (url("demand_list"), url("demand_detail", demand.pk), url("demand_create")):
        response = client.get(target)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_the_buyer_lists_its_own_demands_without_the_open_market(client, buyer, demand):
    page = login(client, owner_of(buyer)).get(url("demand_list")).content.decode()
    assert demand.title in page and "Post a demand" in page
    assert "Open demands from buyers" not in page  # the buyer sells nothing


def test_merchants_see_open_demands_matching_ones_first(client, listing, demand):
    other = demands.demand_post(organization=demand.organization, by=owner_of(demand.organization),
                                title="Hospital beds", sector="healthcare", need="Beds per ward.")  # fmt: skip
    page = login(client, owner_of(listing.organization)).get(url("demand_list")).content.decode()
    assert page.index(demand.title) < page.index(other.title)
    assert "Matches your listing" in page
    filtered = client.get(url("demand_list"), {"sector": "healthcare"}).content.decode()
    assert other.title in filtered and demand.title not in filtered


def test_closed_and_expired_demands_leave_the_open_list(client, listing, demand):
    Demand.objects.filter(pk=demand.pk).update(deadline=timezone.localdate() - datetime.timedelta(days=1))
    page = login(client, owner_of(listing.organization)).get(url("demand_list")).content.decode()
    assert demand.title not in page


def test_list_queries_do_not_grow_with_the_number_of_demands(client, listing, buyer, django_assert_max_num_queries):
    def make(n):
        for i in range(n):
            demands.demand_post(organization=buyer, by=owner_of(buyer), title=f"Need {i}", sector="marine",
                                need=NEED)  # fmt: skip

    login(client, owner_of(listing.organization))
    make(2)
    with CaptureQueriesContext(connection) as few:
        client.get(url("demand_list"))
    make(10)
    with django_assert_max_num_queries(len(few)):
        response = client.get(url("demand_list"))
    assert response.content.decode().count('<li class="demand-card') == 12


# --- posting ----------------------------------------------------------------------------------------------------


def test_posting_a_demand(client, buyer, listing):
    login(client, owner_of(buyer))
    assert client.get(url("demand_create")).status_code == 200
    data = {"title": "Port tons", "sector": "marine", "need": NEED, "budget_min": "100", "budget_max": "9000",
            "deadline": (timezone.localdate() + datetime.timedelta(days=10)).isoformat()}  # fmt: skip
    response = client.post(url("demand_create"), data)
    demand = Demand.objects.get()
    assert response.status_code == 302 and response["Location"] == url("demand_detail", demand.pk)
    assert demand.budget_max == Decimal(9000) and demand.matches.filter(listing=listing).exists()


def test_a_bad_budget_is_shown_on_its_field(client, buyer):
    login(client, owner_of(buyer))
    response = client.post(url("demand_create"), {"title": "T", "sector": "marine", "need": NEED,
                                                  "budget_min": "900", "budget_max": "100"})  # fmt: skip
    assert response.status_code == 200 and not Demand.objects.exists()
    assert "below its lower end" in response.content.decode()


def test_a_viewer_cannot_open_the_form(client, buyer):
    login(client, member(buyer, Role.VIEWER))
    assert client.get(url("demand_create")).status_code == 403


# --- the demand's page ------------------------------------------------------------------------------------------


def test_the_buyer_sees_suggestions_and_offers_with_their_buttons(client, buyer, listing, demand):
    offer = offer_on(demand, listing)
    page = login(client, owner_of(buyer)).get(url("demand_detail", demand.pk)).content.decode()
    assert "Suggested listings" in page and listing.title in page
    assert url("offer_accept", offer.pk) in page and url("offer_decline", offer.pk) in page
    assert url("demand_close", demand.pk) in page and "4,200" in page


def test_a_merchant_offers_only_its_own_published_plans(client, listing, demand):
    rival = published_listing(registered_product(title="Rival tons"))
    second_own = published_listing(registered_product(organization=listing.organization))
    demands_page = login(client, owner_of(listing.organization)).get(url("demand_detail", demand.pk))
    page = demands_page.content.decode()
    assert "Make an offer" in page and url("offer_create", demand.pk) in page
    for plan in listing.plans.all():
        assert f'value="{plan.pk}"' in page
    assert f'value="{rival.plans.get().pk}"' not in page
    assert f'value="{second_own.plans.get().pk}"' in page
    assert "The exchange suggested your listings" in page
    # a plan of someone else's listing is not a choice
    response = client.post(url("offer_create", demand.pk), {"plan": rival.plans.get().pk, "price": "10"})
    assert response.status_code == 200 and not Offer.objects.exists()


def test_making_and_withdrawing_an_offer(client, listing, demand):
    login(client, owner_of(listing.organization))
    plan = listing.plans.last()
    response = client.post(url("offer_create", demand.pk), {"plan": plan.pk, "price": "800", "message": "Monthly."})
    assert response.status_code == 302
    offer = Offer.objects.get()
    assert (offer.plan, offer.price, offer.message) == (plan, Decimal(800), "Monthly.")
    page = client.get(url("demand_detail", demand.pk)).content.decode()
    assert "Your offers" in page and url("offer_withdraw", offer.pk) in page
    assert client.post(url("offer_create", demand.pk), {"plan": plan.pk, "price": "700"}).status_code == 400
    client.post(url("offer_withdraw", offer.pk))
    offer.refresh_from_db()
    assert offer.status == OfferStatus.WITHDRAWN


def test_a_negative_price_is_refused_on_the_form(client, listing, demand):
    login(client, owner_of(listing.organization))
    response = client.post(url("offer_create", demand.pk), {"plan": listing.plans.first().pk, "price": "-5"})
    assert response.status_code == 200 and not Offer.objects.exists()


def test_who_cannot_see_a_demand(client, listing, demand):
    login(client, owner_of(OrganizationFactory(can_sell=False)))
    assert client.get(url("demand_detail", demand.pk)).status_code == 404
    demands.demand_close(demand=demand, by=owner_of(demand.organization))
    login(client, owner_of(listing.organization))  # a merchant that never offered
    assert client.get(url("demand_detail", demand.pk)).status_code == 404


def test_the_merchant_cannot_answer_for_the_buyer(client, listing, demand):
    offer = offer_on(demand, listing)
    login(client, owner_of(listing.organization))
    assert client.post(url("offer_accept", offer.pk), {"purpose": "x"}).status_code == 302
    assert client.post(url("demand_close", demand.pk)).status_code == 404
    offer.refresh_from_db()
    assert offer.status == OfferStatus.PENDING and not Contract.objects.exists()


# --- answers ----------------------------------------------------------------------------------------------------


def test_accepting_an_offer_opens_its_contract(client, buyer, listing, demand):
    offer = offer_on(demand, listing)
    login(client, owner_of(buyer))
    response = client.post(url("offer_accept", offer.pk), {"purpose": "Congestion forecasting.", "close_demand": "on"})
    contract = Contract.objects.get()
    assert response.status_code == 302 and response["Location"] == url("contract_detail", contract.pk)
    assert contract.status == ContractStatus.AWAITING_PAYMENT and contract.price == Decimal(4200)
    demand.refresh_from_db()
    assert demand.status == DemandStatus.FULFILLED
    page = client.get(url("demand_detail", demand.pk)).content.decode()
    assert contract.number in page


def test_accepting_twice_shows_the_refusal(client, buyer, listing, demand):
    offer = offer_on(demand, listing)
    login(client, owner_of(buyer))
    client.post(url("offer_accept", offer.pk), {"purpose": "Forecasting."})
    response = client.post(url("offer_accept", offer.pk), {"purpose": "Forecasting."}, follow=True)
    assert "Only a pending offer can be accepted." in response.content.decode()
    assert Contract.objects.count() == 1


def test_declining_and_closing(client, buyer, listing, demand):
    first = offer_on(demand, listing)
    second = offer_on(demand, published_listing(registered_product()))
    login(client, owner_of(buyer))
    client.post(url("offer_decline", first.pk), {"reason": "Too short a history."})
    first.refresh_from_db()
    assert first.status == OfferStatus.DECLINED
    client.post(url("demand_close", demand.pk), {"reason": "Solved in house."})
    demand.refresh_from_db()
    second.refresh_from_db()
    assert demand.status == DemandStatus.CLOSED and second.status == OfferStatus.DECLINED
    # the merchant reads the buyer's reason on the demand's page
    page = login(client, owner_of(listing.organization)).get(url("demand_detail", demand.pk)).content.decode()
    assert "Too short a history." in page and "it takes no more offers" in page


def test_buyer_text_is_escaped_and_the_page_speaks_chinese(client, buyer, listing):
    demand = demands.demand_post(organization=buyer, by=owner_of(buyer), title=XSS, sector="marine",
                                 need=f"{XSS} {NEED}")  # fmt: skip
    login(client, owner_of(listing.organization))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    for target in (url("demand_detail", demand.pk), url("demand_list")):
        page = client.get(target).content.decode()
        assert XSS not in page and "&lt;script&gt;" in page and 'lang="zh-hans"' in page
