"""Demands and matchmaking: posting a need, suggested listings and the merchants told, offers and their answers."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.choices import Role, VerificationStatus
from audit.models import AuditEvent
from core.errors import InvalidTransition, OrganizationNotVerified, PermissionDeniedError
from marketplace.choices import ContractStatus, DemandStatus, OfferStatus, Party
from marketplace.models import Demand, DemandMatch, Offer
from marketplace.services import demands, listings
from marketplace.services.common import MarketError
from marketplace.tasks.demands import rematch_open_demands
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import plan_fields, published_listing, registered_product

pytestmark = pytest.mark.django_db

NEED = "Daily container tons handled at the Qingdao port terminals, for congestion forecasting."


@pytest.fixture
def buyer():
    return OrganizationFactory()  # buys and sells: some tests give it a listing of its own


@pytest.fixture
def listing():
    return published_listing(registered_product())


@pytest.fixture
def merchant(listing):
    return listing.organization


def post(buyer, *, by=None, **fields) -> Demand:
    data = {"title": "Qingdao port throughput", "sector": "marine", "need": NEED, "budget_max": Decimal(10000),
            **fields}  # fmt: skip
    return demands.demand_post(organization=buyer, by=by or owner_of(buyer), **data)


def offer_on(demand, listing, *, price=Decimal(4200), **kwargs) -> Offer:
    return demands.offer_make(demand=demand, listing=listing, plan=listing.plans.first(), price=price,
                              by=owner_of(listing.organization), **kwargs)  # fmt: skip


@pytest.fixture
def demand(buyer, listing):
    return post(buyer)


# --- posting ----------------------------------------------------------------------------------------------------


def test_a_buyer_posts_a_demand_and_it_is_audited(buyer):
    demand = post(buyer, budget_min=Decimal(1000), deadline=timezone.localdate() + datetime.timedelta(days=30))
    assert demand.status == DemandStatus.OPEN and demand.created_by == owner_of(buyer)
    assert Demand.objects.restrict(owner_of(buyer)).filter(pk=demand.pk).exists()
    assert AuditEvent.objects.for_object(demand).filter(action="demand.posted").exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"budget_min": Decimal(20000)}, "budget_max"),
        ({"deadline": datetime.date(2020, 1, 1)}, "deadline"),
        ({"need": "   "}, "need"),
        ({"sector": "astrology"}, "sector"),
    ],
)
def test_bad_demands_are_refused_by_field(buyer, fields, field):
    with pytest.raises(ValidationError) as exc:
        post(buyer, **fields)
    assert field in exc.value.message_dict
    assert not Demand.objects.exists()


def test_who_cannot_post_a_demand():
    with pytest.raises(OrganizationNotVerified):
        post(OrganizationFactory(status=VerificationStatus.PENDING))
    with pytest.raises(MarketError) as exc:
        post(OrganizationFactory(can_buy=False))
    assert exc.value.code == "not_a_buyer"
    org = OrganizationFactory()
    with pytest.raises(PermissionDeniedError):
        post(org, by=member(org, Role.VIEWER))


# --- matching ---------------------------------------------------------------------------------------------------


def test_matching_suggests_listings_of_the_sector_within_budget_that_share_words(buyer, listing):
    other_sector = published_listing(registered_product(sector="finance"))
    too_dear = published_listing(registered_product(), plans=[plan_fields(price=Decimal(50000))])
    unrelated = published_listing(registered_product(title="Fish catch by species", summary="Catch logs.",
                                                     description="Logbooks."))  # fmt: skip
    listings.listing_reindex(unrelated)
    own = published_listing(registered_product(organization=buyer))
    demand = post(buyer)
    matched = set(DemandMatch.objects.filter(demand=demand).values_list("listing_id", flat=True))
    assert listing.pk in matched
    assert not matched & {other_sector.pk, too_dear.pk, own.pk}
    assert AuditEvent.objects.for_object(demand).filter(action="demand.matched").exists()


def test_unrelated_listings_are_not_suggested():
    words = demands.need_tokens(Demand(title="Fish catch", need="by species"))
    assert words == {"fish", "catch", "species"}  # "by" is a stop word
    assert demands.match_score(words, "fish catch species logbook", 80.0, 1.0) > demands.match_score(
        words, "fish tons", 80.0, 1.0
    )


def test_chinese_needs_match_chinese_listings():
    words = demands.need_tokens(Demand(title="青岛港口吞吐量", need="需要集装箱数据"))
    assert {"青岛", "港口", "集装", "装箱"} <= words and "数据" not in words
    assert demands.match_score(words, "青 岛 港 青岛 岛港 港口", None, 0.0) > 0


def test_better_text_matches_rank_first(buyer, listing):
    vaguer = published_listing(registered_product(title="Qingdao weather", summary="Rain and wind.",
                                                  description="Stations."))  # fmt: skip
    listings.listing_reindex(vaguer)
    demand = post(buyer)
    ranked = [match.listing_id for match in demands.suggested(demand)]
    assert ranked.index(listing.pk) < ranked.index(vaguer.pk)


def test_each_matched_merchant_is_told_once(buyer, listing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        demand = post(buyer)
    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert notice.to == [owner_of(listing.organization).email]
    assert "Qingdao port throughput" in notice.subject and listing.title in notice.body
    assert f"/market/demands/{demand.pk}/" in notice.body
    assert DemandMatch.objects.get(demand=demand, listing=listing).notified_at is not None
    # a second listing of the same merchant is matched later: the merchant is not told again
    second = published_listing(registered_product(organization=listing.organization))
    newcomer = published_listing(registered_product())
    with django_capture_on_commit_callbacks(execute=True):
        assert rematch_open_demands() == 1
    assert DemandMatch.objects.filter(demand=demand, listing=second).exists()
    assert [message.to for message in mail.outbox[1:]] == [[owner_of(newcomer.organization).email]]


def test_closed_demands_are_not_matched_again(buyer, listing):
    demand = post(buyer)
    demands.demand_close(demand=demand, by=owner_of(buyer))
    published_listing(registered_product())
    assert demands.demand_match(demand=demand) == []
    assert rematch_open_demands() == 0


# --- offers -----------------------------------------------------------------------------------------------------


def test_a_merchant_offers_and_the_buyer_hears_of_it(demand, listing, buyer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        offer = offer_on(demand, listing, message="Includes 2025 history.")
    assert (offer.status, offer.price, offer.organization) == (OfferStatus.PENDING, Decimal(4200), listing.organization)
    for org in (buyer, listing.organization):
        assert Offer.objects.restrict(owner_of(org)).filter(pk=offer.pk).exists()
    assert not Offer.objects.restrict(owner_of(OrganizationFactory())).filter(pk=offer.pk).exists()
    assert AuditEvent.objects.for_object(offer).filter(action="offer.made").exists()
    assert mail.outbox[-1].to == [owner_of(buyer).email] and "4200" in mail.outbox[-1].body


def test_one_pending_offer_per_listing_and_demand(demand, listing):
    first = offer_on(demand, listing)
    with pytest.raises(MarketError) as exc:
        offer_on(demand, listing)
    assert exc.value.code == "offer_pending"
    demands.offer_withdraw(offer=first, by=owner_of(listing.organization))
    assert offer_on(demand, listing, price=Decimal(3900)).status == OfferStatus.PENDING


def test_offer_rules(demand, listing, buyer):
    with pytest.raises(ValidationError) as exc:
        offer_on(demand, listing, price=Decimal(-1))
    assert "price" in exc.value.message_dict
    own = published_listing(registered_product(organization=buyer))
    with pytest.raises(MarketError) as exc:
        offer_on(demand, own)
    assert exc.value.code == "own_demand"
    other = published_listing(registered_product())
    with pytest.raises(MarketError) as exc:  # a plan of another listing
        demands.offer_make(demand=demand, listing=listing, plan=other.plans.get(), price=Decimal(1),
                           by=owner_of(listing.organization))  # fmt: skip
    assert exc.value.code == "plan_not_offered"
    with pytest.raises(PermissionDeniedError):  # someone else's listing
        demands.offer_make(demand=demand, listing=other, plan=other.plans.get(), price=Decimal(1),
                           by=owner_of(listing.organization))  # fmt: skip


def test_no_offers_on_delisted_listings_closed_or_expired_demands(demand, listing, buyer):
    Demand.objects.filter(pk=demand.pk).update(deadline=timezone.localdate() - datetime.timedelta(days=1))
    with pytest.raises(MarketError) as exc:
        offer_on(demand, listing)
    assert exc.value.code == "demand_expired"
    Demand.objects.filter(pk=demand.pk).update(deadline=None)
    listings.listing_delist(listing=listing, by=owner_of(listing.organization), reason="New edition.")
    with pytest.raises(MarketError) as exc:
        offer_on(demand, listing)
    assert exc.value.code == "listing_not_published"
    demands.demand_close(demand=demand, by=owner_of(buyer))
    with pytest.raises(MarketError) as exc:
        offer_on(demand, published_listing(registered_product()))
    assert exc.value.code == "demand_closed"


def test_only_merchants_offer(demand):
    seller = OrganizationFactory()
    listing = published_listing(registered_product(organization=seller))
    seller.can_sell = False
    seller.save(update_fields=["can_sell"])
    with pytest.raises(MarketError) as exc:
        offer_on(demand, listing)
    assert exc.value.code == "not_a_merchant"


# --- accepting, declining, closing ----------------------------------------------------------------------------


def test_accepting_an_offer_starts_a_contract_at_its_price(demand, listing, buyer, django_capture_on_commit_callbacks):
    offer = offer_on(demand, listing)
    rival = offer_on(demand, published_listing(registered_product()), price=Decimal(4000))
    with django_capture_on_commit_callbacks(execute=True):
        contract = demands.offer_accept(offer=offer, by=owner_of(buyer), ip_address="10.0.0.7")
    assert (contract.price, contract.offer, contract.buyer) == (Decimal(4200), offer, buyer)
    assert contract.status == ContractStatus.AWAITING_PAYMENT and contract.purpose == demand.need
    signatures = dict(contract.signatures.values_list("party", "user"))
    assert signatures == {Party.BUYER: owner_of(buyer).pk, Party.MERCHANT: offer.created_by_id}
    offer.refresh_from_db()
    rival.refresh_from_db()
    demand.refresh_from_db()
    # the demand stays open with its other offers: the buyer may need more than one dataset
    assert (offer.status, rival.status, demand.status) == (OfferStatus.ACCEPTED, OfferStatus.PENDING, DemandStatus.OPEN)
    assert mail.outbox[-1].to == [owner_of(listing.organization).email] and "accepted" in mail.outbox[-1].subject
    with pytest.raises(MarketError) as exc:
        demands.offer_accept(offer=offer, by=owner_of(buyer))
    assert exc.value.code == "offer_not_pending"


def test_accepting_as_fulfilled_closes_the_demand_and_declines_the_rest(demand, listing, buyer):
    offer = offer_on(demand, listing, price=Decimal(0))
    rival = offer_on(demand, published_listing(registered_product()))
    contract = demands.offer_accept(offer=offer, by=owner_of(buyer), purpose="Forecasting.", close_demand=True)
    assert contract.status == ContractStatus.ACTIVE and contract.purpose == "Forecasting."  # a free offer starts now
    demand.refresh_from_db()
    rival.refresh_from_db()
    assert demand.status == DemandStatus.FULFILLED and rival.status == OfferStatus.DECLINED


def test_only_the_buyer_accepts_or_declines(demand, listing):
    offer = offer_on(demand, listing)
    with pytest.raises(PermissionDeniedError):
        demands.offer_accept(offer=offer, by=owner_of(listing.organization))
    with pytest.raises(PermissionDeniedError):
        demands.offer_decline(offer=offer, by=owner_of(listing.organization))
    with pytest.raises(PermissionDeniedError):
        demands.offer_withdraw(offer=offer, by=owner_of(demand.organization))


def test_a_declined_offer_tells_the_merchant_why(demand, listing, buyer, django_capture_on_commit_callbacks):
    offer = offer_on(demand, listing)
    with django_capture_on_commit_callbacks(execute=True):
        demands.offer_decline(offer=offer, by=owner_of(buyer), reason="Coverage too short.")
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DECLINED
    assert demands.decline_reasons([offer]) == {offer.pk: "Coverage too short."}
    assert "Coverage too short." in mail.outbox[-1].body and "declined" in mail.outbox[-1].subject
    with pytest.raises(InvalidTransition):
        demands.offer_withdraw(offer=offer, by=owner_of(listing.organization))


def test_closing_a_demand(demand, listing, buyer):
    offer = offer_on(demand, listing)
    with pytest.raises(MarketError) as exc:
        demands.demand_close(demand=demand, by=owner_of(buyer), fulfilled=True)
    assert exc.value.code == "nothing_accepted"
    with pytest.raises(PermissionDeniedError):
        demands.demand_close(demand=demand, by=owner_of(listing.organization))
    demands.demand_close(demand=demand, by=owner_of(buyer), reason="Bought elsewhere.")
    demand.refresh_from_db()
    offer.refresh_from_db()
    assert demand.status == DemandStatus.CLOSED and offer.status == OfferStatus.DECLINED
    assert AuditEvent.objects.for_object(demand).filter(action="demand.closed").exists()
    with pytest.raises(InvalidTransition):
        demands.demand_close(demand=demand, by=owner_of(buyer))


# --- who sees a demand ------------------------------------------------------------------------------------------


def test_open_demands_are_visible_to_merchants_own_ones_to_their_buyer(demand, listing, buyer):
    def sees(org, target=demand) -> bool:
        return demands.demands_visible_to(owner_of(org)).filter(pk=target.pk).exists()

    offered_by = OrganizationFactory()
    offer_on(demand, published_listing(registered_product(organization=offered_by)))
    no_merchant, other_merchant = OrganizationFactory(can_sell=False), OrganizationFactory()
    assert sees(buyer) and sees(listing.organization) and sees(other_merchant) and not sees(no_merchant)
    demands.demand_close(demand=demand, by=owner_of(buyer))
    assert sees(buyer) and sees(offered_by) and not sees(other_merchant)
    assert not demands.demands_visible_to(None).exists()
