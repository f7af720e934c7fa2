"""Periodic housekeeping of the shared API machinery (scheduled in CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from core import idempotency


@shared_task(name="core.idempotency_purge")
def idempotency_purge() -> int:
    """Delete the `Idempotency-Key` records past their retention (IDEMPOTENCY_TTL_HOURS); how many."""
    return idempotency.records_purge()
