"""Contracts whose term is over end on a schedule (CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from marketplace.services import contracts


@shared_task(name="marketplace.expire_contracts")
def expire_contracts() -> int:
    """Expire every active contract whose term has ended; their access ends with them."""
    return contracts.expire_due()
