# ruff: noqa: RUF001 - the Chinese mail text has full-width punctuation on purpose
"""Demand and offer notices go out in each recipient's language, not in whatever language the sender works in."""

from decimal import Decimal

import pytest
from django.core import mail
from django.utils import translation

from accounts.choices import Role
from accounts.models import Organization
from marketplace.services import demands
from tests.factories import OrganizationFactory, UserFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import published_listing, registered_product

pytestmark = pytest.mark.django_db

TITLE = "Qingdao port throughput"
NEED = "Daily container tons handled at the Qingdao port terminals, for congestion forecasting."


def speaking(language: str) -> Organization:
    return OrganizationFactory(owner=UserFactory(language=language))


@pytest.fixture
def listing():
    """A listing of a merchant whose owner reads Chinese and whose administrator reads English."""
    merchant = speaking("zh-hans")
    admin = member(merchant, Role.ADMIN)
    admin.language = "en"
    admin.save(update_fields=["language"])
    return published_listing(registered_product(organization=merchant))


@pytest.fixture
def buyer():
    return speaking("en")


def post(buyer):
    data = {"title": TITLE, "sector": "marine", "need": NEED, "budget_max": Decimal(10000)}
    return demands.demand_post(organization=buyer, by=owner_of(buyer), **data)


def offer_on(demand, listing):
    merchant = owner_of(listing.organization)
    plan = listing.plans.first()
    return demands.offer_make(demand=demand, listing=listing, plan=plan, price=Decimal(4200), by=merchant)


def by_recipient() -> dict[str, mail.EmailMessage]:
    return {address: message for message in mail.outbox for address in message.to}


def test_a_demand_match_reaches_each_manager_in_their_language(listing, buyer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(buyer)
    assert len(mail.outbox) == 2  # one message per language
    admin = listing.organization.memberships.get(role=Role.ADMIN).user
    chinese, english = by_recipient()[owner_of(listing.organization).email], by_recipient()[admin.email]
    assert chinese.subject == f"Databourse：有买方需要与您类似的数据——{TITLE}"
    assert "交易所为您推荐了以下挂牌：" in chinese.body and listing.title in chinese.body
    assert english.subject == f"Databourse: a buyer needs data like yours — {TITLE}"
    assert "The exchange suggested these listings of yours:" in english.body


def test_an_offer_reaches_the_buyer_in_the_buyers_language(listing, django_capture_on_commit_callbacks):
    chinese_buyer = speaking("zh-hans")
    demand = post(chinese_buyer)
    mail.outbox.clear()
    translation.activate("en")  # the merchant makes the offer in English
    with django_capture_on_commit_callbacks(execute=True):
        offer_on(demand, listing)
    (notice,) = mail.outbox
    assert notice.to == [owner_of(chinese_buyer).email]
    assert notice.subject == f"Databourse：您的需求“{TITLE}”收到新报价"
    assert "挂牌：" in notice.body and "4200" in notice.body


def test_an_answer_reaches_the_merchant_in_each_managers_language(listing, buyer, django_capture_on_commit_callbacks):
    offer = offer_on(post(buyer), listing)
    mail.outbox.clear()
    translation.activate("zh-hans")  # the buyer answers in Chinese
    with django_capture_on_commit_callbacks(execute=True):
        demands.offer_decline(offer=offer, by=owner_of(buyer), reason="Coverage too short.")
    admin = listing.organization.memberships.get(role=Role.ADMIN).user
    chinese, english = by_recipient()[owner_of(listing.organization).email], by_recipient()[admin.email]
    assert chinese.subject == f"Databourse：您对“{TITLE}”的报价已被拒绝"
    assert english.subject == f"Databourse: your offer on {TITLE} was declined"
    assert "Reason given by the buyer:" in english.body and "Coverage too short." in english.body
