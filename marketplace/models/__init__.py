"""Models of the marketplace, one module per aggregate; import them from here."""

from marketplace.models.contract import HOLDING_STATES, Contract, Demand, DemandMatch, Offer, Signature
from marketplace.models.delivery import Download, Entitlement, UsageRecord
from marketplace.models.feedback import Complaint, Review
from marketplace.models.listing import CatalogueSearchEntry, Listing, PricePlan
from marketplace.models.payment import Payment, Refund, StripeEvent
from marketplace.models.settlement import Payout, SettlementEntry

__all__ = [
    "HOLDING_STATES",
    "CatalogueSearchEntry",
    "Complaint",
    "Contract",
    "Demand",
    "DemandMatch",
    "Download",
    "Entitlement",
    "Listing",
    "Offer",
    "Payment",
    "Payout",
    "PricePlan",
    "Refund",
    "Review",
    "SettlementEntry",
    "Signature",
    "StripeEvent",
    "UsageRecord",
]
