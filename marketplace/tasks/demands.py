"""Mail about demands and offers, and matching open demands again as new listings are published.

The services queue these after their transaction commits; each task reads the rows again, so a notice describes the
state as it is when the mail goes out. A mail server that refuses is logged, not retried: the same facts are on the
pages of the people concerned.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import User
from marketplace.choices import OfferStatus
from marketplace.models import Demand, Listing, Offer
from marketplace.services import demands

__all__ = ["notify_demand_match", "notify_offer", "rematch_open_demands"]
logger = logging.getLogger(__name__)
MANAGER_ROLES = (Role.OWNER, Role.ADMIN)


def manager_emails(organization_id: int) -> list[str]:
    """The addresses of an organisation's owners and administrators who can still sign in."""
    users = User.objects.filter(
        is_active=True, memberships__organization_id=organization_id, memberships__role__in=MANAGER_ROLES
    )
    return sorted(set(users.values_list("email", flat=True)))


def _mail(subject: str, template: str, context: dict, recipients: list[str]) -> int:
    if not recipients:
        return 0
    context = {**context, "site_url": settings.SITE_URL}
    try:
        send_mail(subject=subject, message=render_to_string(template, context), from_email=None,
                  recipient_list=recipients)  # fmt: skip
    except OSError:
        logger.warning("Could not mail %s to %d recipients", template, len(recipients), exc_info=True)
        return 0
    return len(recipients)


@shared_task(name="marketplace.notify_demand_match")
def notify_demand_match(demand_id: int, organization_id: int) -> int:
    """Tell a merchant that a buyer's demand matches some of its listings; returns how many were mailed."""
    demand = Demand.objects.select_related("organization").filter(pk=demand_id).first()
    if demand is None:
        return 0
    listings = Listing.objects.filter(demand_matches__demand=demand, organization_id=organization_id).order_by("pk")
    path = reverse("marketplace:demand_detail", args=[demand.pk])
    context = {"demand": demand, "listings": list(listings), "path": path}
    subject = _("Databourse: a buyer needs data like yours — %(title)s") % {"title": demand.title}
    return _mail(subject, "accounts/email/demand_match.txt", context, manager_emails(organization_id))


@shared_task(name="marketplace.notify_offer")
def notify_offer(offer_id: int) -> int:
    """A pending offer is news for the buyer; an accepted or declined one for the merchant."""
    related = ("demand__organization", "demand__created_by", "organization", "listing", "plan", "created_by")
    offer = Offer.objects.select_related(*related).filter(pk=offer_id).first()
    if offer is None or offer.status == OfferStatus.WITHDRAWN:
        return 0
    path = reverse("marketplace:demand_detail", args=[offer.demand_id])
    reason = demands.decline_reasons([offer]).get(offer.pk, "")
    context = {"offer": offer, "demand": offer.demand, "path": path, "reason": reason}
    if offer.status == OfferStatus.PENDING:
        subject = _("Databourse: a new offer on your demand %(title)s") % {"title": offer.demand.title}
        recipients = sorted({*manager_emails(offer.demand.organization_id), offer.demand.created_by.email})
        return _mail(subject, "accounts/email/offer_received.txt", context, recipients)
    if offer.status == OfferStatus.ACCEPTED:
        subject = _("Databourse: your offer on %(title)s was accepted") % {"title": offer.demand.title}
    else:
        subject = _("Databourse: your offer on %(title)s was declined") % {"title": offer.demand.title}
    recipients = sorted({*manager_emails(offer.organization_id), offer.created_by.email})
    return _mail(subject, "accounts/email/offer_decided.txt", context, recipients)


@shared_task(name="marketplace.rematch_open_demands")
def rematch_open_demands() -> int:
    """Match every open demand again, telling merchants of newly published listings (CELERY_BEAT_SCHEDULE)."""
    return demands.rematch_open()
