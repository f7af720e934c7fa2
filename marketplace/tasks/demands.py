"""Mail about demands and offers, and matching open demands again as new listings are published.

The services queue these after their transaction commits; each task reads the rows again, so a notice describes the
state as it is when the mail goes out. A mail server that refuses is logged, not retried: the same facts are on the
pages of the people concerned. Each notice is written in its recipient's language (core.mail.send_mail_to).
"""

from celery import shared_task
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.choices import Role
from accounts.models import User
from core.mail import send_mail_to
from marketplace.choices import OfferStatus
from marketplace.models import Demand, Listing, Offer
from marketplace.services import demands

__all__ = ["notify_demand_match", "notify_offer", "rematch_open_demands"]
MANAGER_ROLES = (Role.OWNER, Role.ADMIN)
OFFER_SUBJECTS = {
    OfferStatus.PENDING: gettext_lazy("Databourse: a new offer on your demand %(title)s"),
    OfferStatus.ACCEPTED: gettext_lazy("Databourse: your offer on %(title)s was accepted"),
    OfferStatus.DECLINED: gettext_lazy("Databourse: your offer on %(title)s was declined"),
}


def managers(organization_id: int) -> QuerySet[User]:
    """An organisation's owners and administrators who can still sign in."""
    users = User.objects.filter(
        is_active=True, memberships__organization_id=organization_id, memberships__role__in=MANAGER_ROLES
    )
    return users.distinct().order_by("email")


@shared_task(name="marketplace.notify_demand_match")
def notify_demand_match(demand_id: int, organization_id: int) -> int:
    """Tell a merchant that a buyer's demand matches some of its listings; returns how many were mailed."""
    demand = Demand.objects.select_related("organization").filter(pk=demand_id).first()
    if demand is None:
        return 0
    listings = Listing.objects.filter(demand_matches__demand=demand, organization_id=organization_id).order_by("pk")
    path = reverse("marketplace:demand_detail", args=[demand.pk])
    context = {"demand": demand, "listings": list(listings), "path": path}
    return send_mail_to(
        managers(organization_id),
        lambda: _("Databourse: a buyer needs data like yours — %(title)s") % {"title": demand.title},
        "accounts/email/demand_match.txt",
        context,
    )


@shared_task(name="marketplace.notify_offer")
def notify_offer(offer_id: int) -> int:
    """A pending offer is news for the buyer; an accepted or declined one for the merchant."""
    related = ("demand__organization", "demand__created_by", "organization", "listing", "plan", "created_by")
    offer = Offer.objects.select_related(*related).filter(pk=offer_id).first()
    if offer is None or offer.status not in OFFER_SUBJECTS:
        return 0
    path = reverse("marketplace:demand_detail", args=[offer.demand_id])
    reason = demands.decline_reasons([offer]).get(offer.pk, "")
    context = {"offer": offer, "demand": offer.demand, "path": path, "reason": reason}
    if offer.status == OfferStatus.PENDING:
        recipients, template = [*managers(offer.demand.organization_id), offer.demand.created_by], "offer_received"
    else:
        recipients, template = [*managers(offer.organization_id), offer.created_by], "offer_decided"
    subject = OFFER_SUBJECTS[offer.status]
    return send_mail_to(
        recipients, lambda: subject % {"title": offer.demand.title}, f"accounts/email/{template}.txt", context
    )


@shared_task(name="marketplace.rematch_open_demands")
def rematch_open_demands() -> int:
    """Match every open demand again, telling merchants of newly published listings (CELERY_BEAT_SCHEDULE)."""
    return demands.rematch_open()
