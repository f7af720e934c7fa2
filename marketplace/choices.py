"""Code lists of the marketplace."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ListingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_REVIEW = "pending_review", _("Under review")
    PUBLISHED = "published", _("Published")
    REJECTED = "rejected", _("Rejected")
    DELISTED = "delisted", _("Delisted")


class PlanKind(models.TextChoices):
    LICENCE = "licence", _("One-off licence (download)")
    SUBSCRIPTION = "subscription", _("Subscription (new versions while it runs)")
    METERED_API = "metered_api", _("Metered API (per call)")
    SANDBOX = "sandbox", _("Sandbox access (compute, never download)")


class BillingPeriod(models.TextChoices):
    MONTH = "month", _("Month")
    YEAR = "year", _("Year")


class Territory(models.TextChoices):
    MAINLAND = "mainland", _("Mainland China")
    CITY = "city", _("This city only")
    WORLDWIDE = "worldwide", _("Worldwide (subject to cross-border data rules)")


class ContractStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved by the merchant")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    TERMINATED = "terminated", _("Terminated")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


class Party(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    MERCHANT = "merchant", _("Merchant")


class PaymentStatus(models.TextChoices):
    CREATED = "created", pgettext_lazy("payment status", "Created")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", pgettext_lazy("payment status", "Failed")
    REFUNDED = "refunded", _("Refunded")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")


class PaymentPurpose(models.TextChoices):
    CONTRACT = "contract", _("Contract price")
    USAGE = "usage", _("Metered usage")


class EntitlementKind(models.TextChoices):
    DOWNLOAD = "download", _("Download")
    API = "api", _("Metered API")
    SANDBOX = "sandbox", _("Sandbox access")


class EntitlementStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


class SettlementKind(models.TextChoices):
    SALE = "sale", _("Sale")
    USAGE = "usage", _("Metered usage")
    REFUND = "refund", _("Refund")
    PAYOUT = "payout", _("Payout")


class PayoutStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")


class DemandStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("demand status", "Open")
    FULFILLED = "fulfilled", _("Fulfilled")
    CLOSED = "closed", _("Closed")


class OfferStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ComplaintKind(models.TextChoices):
    QUALITY = "quality", _("Data quality")
    DELIVERY = "delivery", _("Delivery")
    RIGHTS = "rights", _("Rights or compliance")
    OTHER = "other", _("Other")


class ComplaintStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")
    DISMISSED = "dismissed", _("Dismissed")
