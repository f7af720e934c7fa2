"""Code lists of partner integrations: the events an endpoint can subscribe to, and where a delivery stands."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    """Events partners subscribe to (`webhook.test` is sent on request only, to one endpoint)."""

    PRODUCT_REGISTERED = "product.registered", _("Product registered")
    PRODUCT_REJECTED = "product.rejected", _("Product rejected")
    LISTING_PUBLISHED = "listing.published", _("Listing published")
    CONTRACT_REQUESTED = "contract.requested", _("Contract requested")
    CONTRACT_ACTIVE = "contract.active", _("Contract active")
    CONTRACT_EXPIRED = "contract.expired", _("Contract expired")
    PAYMENT_SUCCEEDED = "payment.succeeded", _("Payment succeeded")
    PAYMENT_REFUNDED = "payment.refunded", _("Payment refunded")
    VALUATION_DONE = "valuation.done", _("Valuation done")
    EXPORT_APPROVED = "export.approved", _("Export approved")
    WEBHOOK_TEST = "webhook.test", _("Test event")


SUBSCRIBABLE = [choice for choice in EventType if choice != EventType.WEBHOOK_TEST]

EVENT_DESCRIPTIONS = {
    EventType.PRODUCT_REGISTERED: _("A regulator registered one of your data products (its certificate is issued)."),
    EventType.PRODUCT_REJECTED: _("A regulator rejected one of your data products; the reason is included."),
    EventType.LISTING_PUBLISHED: _("One of your listings was approved and is in the catalogue."),
    EventType.CONTRACT_REQUESTED: _("A buyer requested a contract (sent to the buyer and the merchant)."),
    EventType.CONTRACT_ACTIVE: _("A contract started: access is granted (sent to the buyer and the merchant)."),
    EventType.CONTRACT_EXPIRED: _("A contract reached its end date (sent to the buyer and the merchant)."),
    EventType.PAYMENT_SUCCEEDED: _("A payment for a contract or its usage went through (buyer and merchant)."),
    EventType.PAYMENT_REFUNDED: _("A payment was refunded in full or in part (buyer and merchant)."),
    EventType.VALUATION_DONE: _("A valuation finished (the appraiser and the product's owner)."),
    EventType.EXPORT_APPROVED: _("The operator released a sandbox result your organisation asked to export."),
    EventType.WEBHOOK_TEST: _("Sent when you press “Send a test event”; never sent otherwise."),
}


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed, will retry")
    GIVING_UP = "giving_up", _("Gave up")


FINISHED = frozenset({DeliveryStatus.SUCCEEDED, DeliveryStatus.GIVING_UP})
