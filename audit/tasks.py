from celery import shared_task

from audit.services import ledger_verify as _ledger_verify


@shared_task(name="audit.ledger_verify")
def ledger_verify() -> dict:
    """Check the whole audit chain (scheduled nightly in production)."""
    return _ledger_verify().as_dict()
