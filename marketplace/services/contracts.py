"""Contracts: the buyer's request, the terms snapshot and both signatures, approval, activation and ending.

    requested → (approved, when the plan needs the merchant's approval) → awaiting_payment → active
    → expired | terminated | refunded;  requested | approved | awaiting_payment → cancelled

A plan that needs no approval carries the merchant's standing offer (signed when the listing was submitted) as the
merchant's signature. A free plan (price 0) is active as soon as both sides have signed. Exclusive plans: the plan
row is locked and a partial unique constraint admits one holding contract, so racing buyers get one contract.
"""

import datetime
import hashlib
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.services import grant_to_organization, person_of, require_role, require_verified
from audit.services import audit_record
from marketplace.choices import BillingPeriod, ContractStatus, ListingStatus, Party, PlanKind
from marketplace.models import Contract, Listing, Offer, PricePlan, Signature
from marketplace.services import delivery
from marketplace.services.common import MarketConflict, MarketError, is_regulator, require_reason
from registry.models import canonical_json
from valuation.accounting import add_months

OPEN_STATES = (ContractStatus.REQUESTED, ContractStatus.APPROVED, ContractStatus.AWAITING_PAYMENT)


# --- terms ------------------------------------------------------------------------------------------------------


def terms_snapshot(*, listing: Listing, plan: PricePlan, buyer: Organization, price: Decimal, purpose: str) -> dict:
    """Everything the parties agree to, frozen: the listing's licence terms, the plan, the price, who and why."""
    product = listing.product
    return {
        "listing": {"id": listing.pk, "title": listing.title},
        "product": {"id": product.pk, "title": product.title, "sector": product.sector},
        "merchant": {"name": listing.organization.name, "credit_code": listing.organization.credit_code},
        "buyer": {"name": buyer.name, "credit_code": buyer.credit_code},
        "plan": {
            "id": plan.pk, "kind": plan.kind, "name": plan.name, "billing_period": plan.billing_period,
            "price_per_call": str(plan.price_per_call) if plan.price_per_call is not None else None,
            "free_calls": plan.free_calls, "rate_limit_per_minute": plan.rate_limit_per_minute,
            "download_days": plan.download_days, "exclusive": plan.exclusive,
        },
        "price": str(price),
        "currency": "CNY",
        "purpose": purpose,
        "licence": listing.terms(),
    }  # fmt: skip


def terms_hash(terms: dict) -> str:
    """SHA-256 of the canonical JSON of the terms (sorted keys, no spaces, UTF-8): what each party signs."""
    return hashlib.sha256(canonical_json(terms).encode("utf-8")).hexdigest()


def _sign(contract: Contract, party: str, organization: Organization, user: User, ip: str | None, **kw) -> Signature:
    signature = Signature.objects.create(
        contract=contract, party=party, organization=organization, user=user, ip_address=ip,
        terms_sha256=contract.terms_sha256, **kw,
    )  # fmt: skip
    audit_record(action=f"contract.signed_by_{party}", obj=contract, actor=user, organization_id=organization.pk,
                 data={"terms_sha256": contract.terms_sha256, "ip": ip, "standing": signature.standing})  # fmt: skip
    return signature


def _standing_signature(contract: Contract, listing: Listing) -> Signature:
    return _sign(contract, Party.MERCHANT, listing.organization, listing.offer_signed_by, listing.offer_signed_ip,
                 signed_at=listing.offer_signed_at or timezone.now(), standing=True)  # fmt: skip


# --- requesting -------------------------------------------------------------------------------------------------


def _check_purchase(listing: Listing, plan: PricePlan, buyer: Organization, by: Any) -> None:
    require_role(user=by, organization=buyer, action="add")
    require_verified(buyer)
    if listing.status != ListingStatus.PUBLISHED:
        raise MarketError(_("This listing is not on the exchange."), code="listing_not_published")
    if plan.listing_id != listing.pk or not plan.is_active:
        raise MarketError(_("This plan is not offered on the listing."), code="plan_not_offered")
    if buyer.pk == listing.organization_id:
        raise MarketError(_("An organisation cannot buy its own listing."), code="own_listing")
    if not buyer.can_buy:
        raise MarketError(_("%(org)s is not registered as a buyer.") % {"org": buyer.name}, code="not_a_buyer")


def _number(contract: Contract) -> str:
    return f"DBC-{contract.created_at:%Y}-{contract.pk:06d}"


@transaction.atomic
def contract_request(
    *,
    listing: Listing,
    plan: PricePlan,
    buyer: Organization,
    by: Any,
    purpose: str,
    ip_address: str | None = None,
    offer: Offer | None = None,
) -> Contract:
    """The buyer asks for a contract on a plan and signs its terms; the merchant's approval or payment comes next."""
    plan = PricePlan.objects.select_for_update().get(pk=plan.pk)  # exclusive plans: one buyer at a time
    listing = Listing.objects.select_related("product", "organization", "offer_signed_by").get(pk=listing.pk)
    buyer = Organization.objects.get(pk=buyer.pk)
    _check_purchase(listing, plan, buyer, by)
    purpose = (purpose or "").strip()
    if not purpose:
        raise MarketError(_("Say what you will use the data for: the licence permits some purposes only."),
                          code="purpose_required")  # fmt: skip
    price = offer.price if offer is not None else plan.price
    terms = terms_snapshot(listing=listing, plan=plan, buyer=buyer, price=price, purpose=purpose)
    contract = _create(listing, plan, buyer, by, price, purpose, terms, offer)
    _sign(contract, Party.BUYER, buyer, person_of(by), ip_address)
    if offer is not None:  # an offer is the merchant's signature of these terms
        _sign(contract, Party.MERCHANT, listing.organization, offer.created_by, None)
        return _advance(contract, by=by)
    if not plan.requires_approval:
        _standing_signature(contract, listing)
        return _advance(contract, by=by)
    return contract


def _create(listing, plan, buyer, by, price, purpose, terms, offer) -> Contract:
    contract = Contract(
        number="", listing=listing, plan=plan, offer=offer, buyer=buyer, merchant=listing.organization, price=price,
        purpose=purpose, terms=terms, terms_sha256=terms_hash(terms), requested_by=person_of(by),
        holds_exclusive=plan.exclusive,
    )  # fmt: skip
    try:
        with transaction.atomic():
            contract.save()
    except IntegrityError as exc:
        raise MarketError(_("This plan is exclusive and another buyer holds it."), code="exclusive_taken") from exc
    contract.number = _number(contract)
    contract.save(update_fields=["number"])
    grant_to_organization(contract, buyer)
    grant_to_organization(contract, listing.organization)
    audit_record(action="contract.requested", obj=contract, actor=by, organization_id=listing.organization_id,
                 data={"number": contract.number, "buyer": buyer.pk, "plan": plan.pk, "price": str(price),
                       "terms_sha256": contract.terms_sha256})  # fmt: skip
    return contract


def _advance(contract: Contract, *, by: Any) -> Contract:
    """Both sides have signed: pay, or (free) start at once."""
    if contract.price > 0:
        contract.transition_to(ContractStatus.AWAITING_PAYMENT, by=by)
        return contract
    return contract_activate_locked(contract=contract, by=by)  # created or locked by the caller


# --- the merchant's answer, cancelling --------------------------------------------------------------------------


def _locked(contract: Contract) -> Contract:
    # of=("self",): lock the contract row only, not the listing, plan and organisations joined in.
    related = Contract.objects.select_related("plan", "listing", "buyer", "merchant")
    return related.select_for_update(of=("self",)).get(pk=contract.pk)


@transaction.atomic
def contract_approve(*, contract: Contract, by: Any, ip_address: str | None = None) -> Contract:
    """The merchant accepts a request on a plan that needs approval, signing the same terms."""
    contract = _locked(contract)
    require_role(user=by, organization=contract.merchant, action="change")
    contract.transition_to(ContractStatus.APPROVED, by=by)
    _sign(contract, Party.MERCHANT, contract.merchant, person_of(by), ip_address)
    return _advance(contract, by=by)


@transaction.atomic
def contract_decline(*, contract: Contract, by: Any, reason: str) -> Contract:
    """The merchant refuses a request, with a reason the buyer sees."""
    contract = _locked(contract)
    require_role(user=by, organization=contract.merchant, action="change")
    if contract.status != ContractStatus.REQUESTED:
        raise MarketConflict(_("Only a request can be declined."), code="not_requested")
    return _cancel(contract, by=by, reason=require_reason(reason))


@transaction.atomic
def contract_cancel(*, contract: Contract, by: Any, reason: str = "") -> Contract:
    """The buyer withdraws before paying (or the merchant, or a regulator)."""
    contract = _locked(contract)
    if not is_regulator(by):
        side = contract.buyer if _is_member(by, contract.buyer) else contract.merchant
        require_role(user=by, organization=side, action="change")
    return _cancel(contract, by=by, reason=reason or _("Cancelled before payment."))


def _is_member(user: Any, organization: Organization) -> bool:
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return api_key.organization_id == organization.pk
    return organization.memberships.filter(user=user).exists()


def _cancel(contract: Contract, *, by: Any, reason: str) -> Contract:
    if contract.status not in OPEN_STATES:
        raise MarketConflict(_("Only a contract that has not started can be cancelled."), code="not_cancellable")
    contract.status_reason = reason
    contract.transition_to(ContractStatus.CANCELLED, by=by, reason=reason)
    return contract


# --- running and ending -----------------------------------------------------------------------------------------


def contract_end_date(contract: Contract, start: datetime.datetime) -> datetime.datetime:
    """A subscription runs one billing period; every other plan the listing's licence term."""
    plan = contract.terms["plan"]
    if plan["kind"] == PlanKind.SUBSCRIPTION:
        months = 12 if plan["billing_period"] == BillingPeriod.YEAR else 1
    else:
        months = int(contract.terms["licence"]["term_months"])
    local = timezone.localtime(start)
    day = add_months(local.date(), months)
    return local.replace(year=day.year, month=day.month, day=day.day)


@transaction.atomic
def contract_activate(*, contract: Contract, by: Any = None) -> Contract:
    """Turn a paid (or free) contract on and grant what it sells."""
    return contract_activate_locked(contract=_locked(contract), by=by)


def contract_activate_locked(*, contract: Contract, by: Any = None) -> Contract:
    """`contract_activate` for a caller whose transaction already holds the contract's row lock (and loaded its plan,
    which the transition reads): the payments service, and a contract this module has just locked or created."""
    _require_signed(contract)
    start = timezone.now()
    contract.starts_at, contract.ends_at = start, contract_end_date(contract, start)
    contract.transition_to(ContractStatus.ACTIVE, by=by, data={"ends_at": contract.ends_at.isoformat()})
    delivery.entitlements_grant(contract=contract)
    return contract


def _require_signed(contract: Contract) -> None:
    # Only _advance moves a contract to awaiting payment, once both sides have signed: a paid one needs no recount.
    # Requested (free plans) or approved → active is allowed too, and those are counted here.
    if contract.status != ContractStatus.AWAITING_PAYMENT and contract.signatures.count() < 2:
        raise MarketConflict(_("Both sides must sign before the contract starts."), code="not_signed")


def _end(contract: Contract, new: str, *, by: Any, reason: str) -> Contract:
    contract.status_reason = reason
    contract.transition_to(new, by=by, reason=reason)
    delivery.entitlements_end(contract=contract, reason=reason)
    return contract


@transaction.atomic
def contract_expire(*, contract: Contract) -> Contract:
    """The term is over: access ends (run by the `marketplace.expire_contracts` task)."""
    contract = _locked(contract)
    if contract.ends_at is None or contract.ends_at > timezone.now():
        raise MarketError(_("The contract's term has not ended."), code="not_due")
    return _end(contract, ContractStatus.EXPIRED, by=None, reason=_("The term ended."))


@transaction.atomic
def contract_terminate(*, contract: Contract, by: Any, reason: str) -> Contract:
    """End an active contract early (a regulator, or the merchant for a breach), with a reason both sides see."""
    contract = _locked(contract)
    if not is_regulator(by):
        require_role(user=by, organization=contract.merchant, action="change")
    return _end(contract, ContractStatus.TERMINATED, by=by, reason=require_reason(reason))


@transaction.atomic
def contract_refunded(*, contract: Contract, by: Any, reason: str) -> Contract:
    """A full refund ends the contract and its access (called by the payments service)."""
    contract = _locked(contract)
    return _end(contract, ContractStatus.REFUNDED, by=by, reason=reason)


def expire_due(now: datetime.datetime | None = None) -> int:
    """Expire every active contract whose term has ended; returns how many."""
    due = Contract.objects.filter(status=ContractStatus.ACTIVE, ends_at__lte=now or timezone.now()).values_list(
        "pk", flat=True
    )
    count = 0
    for pk in list(due):
        contract_expire(contract=Contract(pk=pk))
        count += 1
    return count
