"""Demands and matchmaking: a buyer posts a need, the exchange suggests listings and tells their merchants, merchants
answer with offers, and the buyer accepts one, which starts a contract.

    demand: open → fulfilled | closed;   offer: pending → accepted | declined | withdrawn

Matching: published listings of the demand's sector whose lowest plan price fits the budget (at most `budget_max`)
and that share at least one word with the demand's title and need (marketplace.search tokens: Chinese bigrams,
lower-cased words). They are scored by the share of the need's words their search text holds, their quality score
and their price among the candidates; the best MATCH_LIMIT are stored as DemandMatch rows, and each matched merchant
is told once per demand (an e-mail to its owners and administrators, sent by a Celery task after the commit).

Accepting an offer starts a contract through `contracts.contract_request(..., offer=offer)`: the offer's price is the
contract's price and the offer counts as the merchant's signature. The demand stays open, and its other pending
offers with it, because a buyer may need more than one dataset; with `close_demand=True` the buyer says the offer
fulfils the demand, which closes it as fulfilled. Closing a demand, fulfilled or not, declines its pending offers.
"""

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization
from accounts.services import grant_to_organization, person_of, require_role, require_verified
from audit.models import AuditEvent
from audit.services import audit_record
from marketplace import search
from marketplace.choices import DemandStatus, ListingStatus, OfferStatus
from marketplace.models import Contract, Demand, DemandMatch, Listing, Offer, PricePlan
from marketplace.services import contracts
from marketplace.services.common import MarketError

MATCH_LIMIT = 20
CANDIDATE_LIMIT = 500
WEIGHTS = {"text": 0.6, "quality": 0.25, "price": 0.15}
# Words nearly every listing holds: they would make everything match.
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "by", "data", "dataset", "datasets", "for", "from", "in", "is", "of", "on",
    "or", "our", "per", "the", "to", "we", "with", "need", "needs", "want", "数据", "需要", "我们", "一个",
})  # fmt: skip


# --- who sees what --------------------------------------------------------------------------------------------


def organization_ids(user: Any) -> QuerySet | list[int]:
    """The organisations a user (or an API key) acts for."""
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return [api_key.organization_id]
    if not getattr(user, "is_authenticated", False):
        return []
    return Membership.objects.filter(user=user).values("organization_id")


def open_demands() -> QuerySet:
    """Open demands whose deadline (if any) has not passed."""
    today = timezone.localdate()
    return Demand.objects.filter(status=DemandStatus.OPEN).filter(Q(deadline__isnull=True) | Q(deadline__gte=today))


def demands_visible_to(user: Any) -> QuerySet:
    """Own demands in any state; open demands for members of a merchant; demands the user's merchant offered on."""
    own = Demand.objects.restrict(user, "view").values("pk")
    orgs = organization_ids(user)
    merchant = Organization.objects.filter(pk__in=orgs, can_sell=True).exists()
    offered = Offer.objects.filter(organization__in=orgs).values("demand_id")
    visible = Q(pk__in=own) | Q(pk__in=offered)
    if merchant:
        visible |= Q(pk__in=open_demands().values("pk"))
    return Demand.objects.filter(visible)


# --- checks ---------------------------------------------------------------------------------------------------


def _require_buyer(organization: Organization) -> None:
    require_verified(organization)
    if not organization.can_buy:
        raise MarketError(_("%(org)s is not registered as a buyer.") % {"org": organization.name}, code="not_a_buyer")


def _require_merchant(organization: Organization) -> None:
    require_verified(organization)
    if not organization.can_sell:
        raise MarketError(_("%(org)s is not a data merchant.") % {"org": organization.name}, code="not_a_merchant")


def _require_open(demand: Demand, *, for_offers: bool = False) -> None:
    if demand.status != DemandStatus.OPEN:
        raise MarketError(_("This demand is closed."), code="demand_closed")
    if for_offers and demand.deadline is not None and demand.deadline < timezone.localdate():
        raise MarketError(_("The demand's deadline has passed."), code="demand_expired")


def _clean_demand(demand: Demand) -> None:
    errors: dict[str, str] = {}
    low, high = demand.budget_min, demand.budget_max
    if low is not None and high is not None and low > high:
        errors["budget_max"] = _("The upper end of the budget is below its lower end.")
    if demand.deadline is not None and demand.deadline < timezone.localdate():
        errors["deadline"] = _("The deadline is in the past.")
    if errors:
        raise ValidationError(errors)
    demand.full_clean()


# --- demands --------------------------------------------------------------------------------------------------


@transaction.atomic
def demand_post(
    *,
    organization: Organization,
    by: Any,
    title: str,
    sector: str,
    need: str,
    budget_min: Decimal | None = None,
    budget_max: Decimal | None = None,
    deadline: datetime.date | None = None,
) -> Demand:
    """A verified buyer publishes a need; matching listings are suggested and their merchants told."""
    organization = Organization.objects.get(pk=organization.pk)
    require_role(user=by, organization=organization, action="add")
    _require_buyer(organization)
    demand = Demand(
        organization=organization, title=(title or "").strip(), sector=sector, need=(need or "").strip(),
        budget_min=budget_min, budget_max=budget_max, deadline=deadline, created_by=person_of(by),
    )  # fmt: skip
    _clean_demand(demand)
    demand.save()
    grant_to_organization(demand, organization)
    audit_record(action="demand.posted", obj=demand, actor=by, organization_id=organization.pk,
                 data={"sector": demand.sector, "budget_min": demand.budget_min, "budget_max": demand.budget_max,
                       "deadline": demand.deadline})  # fmt: skip
    demand_match(demand=demand)
    return demand


@transaction.atomic
def demand_close(*, demand: Demand, by: Any, fulfilled: bool = False, reason: str = "") -> Demand:
    """The buyer closes a demand (fulfilled: an accepted offer met it); pending offers are declined."""
    demand = Demand.objects.select_for_update().select_related("organization").get(pk=demand.pk)
    require_role(user=by, organization=demand.organization, action="change")
    if fulfilled and not demand.offers.filter(status=OfferStatus.ACCEPTED).exists():
        raise MarketError(_("Accept an offer before closing the demand as fulfilled."), code="nothing_accepted")
    _close(demand, DemandStatus.FULFILLED if fulfilled else DemandStatus.CLOSED, by=by, reason=reason.strip())
    return demand


def _close(demand: Demand, status: str, *, by: Any, reason: str) -> None:
    demand.transition_to(status, by=by, reason=reason)
    why = _("The buyer closed the demand.")
    for offer in Offer.objects.select_for_update().filter(demand=demand, status=OfferStatus.PENDING).order_by("pk"):
        offer.transition_to(OfferStatus.DECLINED, by=by, reason=why)
        _notify_offer(offer)


# --- matching -------------------------------------------------------------------------------------------------


def need_tokens(demand: Demand) -> set[str]:
    """The words of the demand's title and need that say something (CJK bigrams, lower-cased words)."""
    words = search.tokens(f"{demand.title} {demand.need}", for_query=True)
    return {word for word in words if word not in STOPWORDS and (len(word) > 1 or not word.isascii())}


def match_score(words: set[str], search_text: str, quality: float | None, price_rank: float) -> float:
    """0-1: the share of the need's words the listing holds, its quality (0-100) and how cheap it is (0-1)."""
    held = set(search_text.split())
    text = len(words & held) / len(words) if words else 0.0
    quality_part = max(0.0, min(float(quality or 0) / 100, 1.0))
    return round(WEIGHTS["text"] * text + WEIGHTS["quality"] * quality_part + WEIGHTS["price"] * price_rank, 4)


def _candidates(demand: Demand) -> list[tuple]:
    listings = Listing.objects.published().filter(product__sector=demand.sector, min_price__isnull=False)
    if demand.budget_max is not None:
        listings = listings.filter(min_price__lte=demand.budget_max)
    listings = listings.exclude(organization_id=demand.organization_id).order_by("-published_at", "-pk")
    fields = ("pk", "organization_id", "search_text", "quality_score", "min_price")
    return list(listings.values_list(*fields)[:CANDIDATE_LIMIT])


def rank_listings(demand: Demand) -> list[tuple[int, int, float]]:
    """(listing id, merchant id, score) of the listings matching the demand, best first."""
    words = need_tokens(demand)
    rows = [row for row in _candidates(demand) if words & set(row[2].split())]
    if not rows:
        return []
    prices = [row[4] for row in rows]
    low, spread = min(prices), max(prices) - min(prices)

    def cheapness(price: Decimal) -> float:
        return 1.0 if not spread else float(1 - (price - low) / spread)

    scored = [(pk, org, match_score(words, text, quality, cheapness(price))) for pk, org, text, quality, price in rows]
    return sorted(scored, key=lambda item: (-item[2], -item[0]))[:MATCH_LIMIT]


@transaction.atomic
def demand_match(*, demand: Demand) -> list[DemandMatch]:
    """Store the listings suggested for an open demand and tell each newly matched merchant, once per demand."""
    demand = Demand.objects.select_for_update().get(pk=demand.pk)
    if demand.status != DemandStatus.OPEN:
        return []
    ranked = rank_listings(demand)
    known = set(DemandMatch.objects.filter(demand=demand).values_list("listing_id", flat=True))
    for listing_id, _org, score in ranked:
        DemandMatch.objects.update_or_create(demand=demand, listing_id=listing_id, defaults={"score": score})
    new = [listing_id for listing_id, _org, _score in ranked if listing_id not in known]
    told = _tell_merchants(demand, {org for _pk, org, _score in ranked})
    if new:
        audit_record(action="demand.matched", obj=demand, actor=None, organization_id=demand.organization_id,
                     data={"listings": new, "merchants_told": told})  # fmt: skip
    return list(DemandMatch.objects.filter(demand=demand, listing_id__in=[pk for pk, _o, _s in ranked]))


def _tell_merchants(demand: Demand, merchants: set[int]) -> list[int]:
    """Mark the matches of merchants not yet told, and mail them after the commit."""
    from marketplace.tasks.demands import notify_demand_match

    told = DemandMatch.objects.filter(demand=demand, notified_at__isnull=False)
    new = sorted(merchants - set(told.values_list("listing__organization_id", flat=True)))
    if new:
        matches = DemandMatch.objects.filter(demand=demand, listing__organization_id__in=new)
        DemandMatch.objects.filter(pk__in=matches.values("pk")).update(notified_at=timezone.now())
    for organization_id in new:
        transaction.on_commit(lambda org=organization_id: notify_demand_match.delay(demand.pk, org))
    return new


def rematch_open() -> int:
    """Match every open demand again (new listings are published every day); returns how many were matched."""
    count = 0
    for pk in list(open_demands().order_by("pk").values_list("pk", flat=True)):
        demand_match(demand=Demand(pk=pk))
        count += 1
    return count


def suggested(demand: Demand) -> QuerySet:
    """The demand's matches whose listing is still published, best first, ready for a page."""
    return (
        DemandMatch.objects.filter(demand=demand, listing__status=ListingStatus.PUBLISHED)
        .select_related("listing__organization", "listing__product")
        .order_by("-score", "pk")[:MATCH_LIMIT]
    )


# --- offers ---------------------------------------------------------------------------------------------------


def _check_offer(demand: Demand, listing: Listing, plan: PricePlan, price: Any) -> None:
    if demand.organization_id == listing.organization_id:
        raise MarketError(_("An organisation cannot answer its own demand."), code="own_demand")
    if listing.status != ListingStatus.PUBLISHED:
        raise MarketError(_("This listing is not on the exchange."), code="listing_not_published")
    if plan.listing_id != listing.pk or not plan.is_active:
        raise MarketError(_("This plan is not offered on the listing."), code="plan_not_offered")
    if price is None or Decimal(price) < 0:
        raise ValidationError({"price": _("The price cannot be negative.")})
    if Offer.objects.filter(demand=demand, listing=listing, status=OfferStatus.PENDING).exists():
        raise MarketError(_("This listing already has a pending offer on the demand."), code="offer_pending")


@transaction.atomic
def offer_make(
    *, demand: Demand, listing: Listing, plan: PricePlan, price: Decimal, by: Any, message: str = ""
) -> Offer:
    """A merchant answers a demand with one of its published listings, an active plan and a price."""
    demand = Demand.objects.select_for_update().get(pk=demand.pk)  # one pending offer per listing: offers queue here
    listing = Listing.objects.select_related("organization").get(pk=listing.pk)
    plan = PricePlan.objects.get(pk=plan.pk)
    merchant = listing.organization
    require_role(user=by, organization=merchant, action="add")
    _require_merchant(merchant)
    _require_open(demand, for_offers=True)
    _check_offer(demand, listing, plan, price)
    offer = Offer(demand=demand, organization=merchant, listing=listing, plan=plan, price=price,
                  message=(message or "").strip(), created_by=person_of(by))  # fmt: skip
    offer.full_clean()
    offer.save()
    grant_to_organization(offer, merchant)
    grant_to_organization(offer, demand.organization)
    data = {"demand": demand.pk, "listing": listing.pk, "plan": plan.pk, "price": str(offer.price)}
    audit_record(action="offer.made", obj=offer, actor=by, organization_id=merchant.pk, data=data)
    _notify_offer(offer)
    return offer


def _locked_offer(offer: Offer) -> Offer:
    return Offer.objects.select_for_update().select_related("demand__organization", "organization").get(pk=offer.pk)


@transaction.atomic
def offer_withdraw(*, offer: Offer, by: Any) -> Offer:
    """The merchant takes back a pending offer."""
    offer = _locked_offer(offer)
    require_role(user=by, organization=offer.organization, action="change")
    offer.transition_to(OfferStatus.WITHDRAWN, by=by)
    return offer


@transaction.atomic
def offer_decline(*, offer: Offer, by: Any, reason: str = "") -> Offer:
    """The buyer turns a pending offer down (the reason, if given, is shown to the merchant)."""
    offer = _locked_offer(offer)
    require_role(user=by, organization=offer.demand.organization, action="change")
    offer.transition_to(OfferStatus.DECLINED, by=by, reason=(reason or "").strip())
    _notify_offer(offer)
    return offer


@transaction.atomic
def offer_accept(
    *, offer: Offer, by: Any, purpose: str = "", ip_address: str | None = None, close_demand: bool = False
) -> Contract:
    """The buyer accepts an offer: a contract starts at the offer's price, signed by both sides."""
    demand = Demand.objects.select_for_update().select_related("organization").get(pk=offer.demand_id)
    offer = _locked_offer(offer)
    require_role(user=by, organization=demand.organization, action="add")
    _require_open(demand)
    if offer.status != OfferStatus.PENDING:
        raise MarketError(_("Only a pending offer can be accepted."), code="offer_not_pending")
    contract = contracts.contract_request(
        listing=offer.listing, plan=offer.plan, buyer=demand.organization, by=by,
        purpose=(purpose or "").strip() or demand.need, ip_address=ip_address, offer=offer,
    )  # fmt: skip
    offer.transition_to(OfferStatus.ACCEPTED, by=by, data={"contract": contract.number})
    _notify_offer(offer)
    if close_demand:
        _close(demand, DemandStatus.FULFILLED, by=by, reason=_("Fulfilled by contract %(number)s.") % {
            "number": contract.number})  # fmt: skip
    return contract


def decline_reasons(offers: list[Offer]) -> dict[int, str]:
    """Why the buyer declined each of these offers, from the ledger (the offer keeps no reason of its own)."""
    ids = [str(offer.pk) for offer in offers if offer.status == OfferStatus.DECLINED]
    if not ids:
        return {}
    events = AuditEvent.objects.filter(object_type=Offer._meta.label_lower, object_id__in=ids, action="offer.declined")
    return {int(event.object_id): event.data.get("reason", "") for event in events}


def _notify_offer(offer: Offer) -> None:
    """A new offer is mailed to the buyer, an accepted or declined one to the merchant (after the commit)."""
    from marketplace.tasks.demands import notify_offer

    transaction.on_commit(lambda: notify_offer.delay(offer.pk))
