"""Valuations and batch revaluations run on Celery workers (eagerly in the one-command run)."""

from celery import shared_task

from valuation import services
from valuation.models import RevaluationBatch


@shared_task(name="valuation.run", acks_late=True)
def valuation_run(valuation_id: int) -> dict:
    """Compute a queued valuation; a failure is kept on the valuation with its reason."""
    valuation = services.valuation_execute(valuation_id=valuation_id)
    return {"status": valuation.status, "value": str(valuation.value) if valuation.value is not None else None}


@shared_task(name="valuation.revalue", acks_late=True)
def revaluation_run(batch_id: int, product_ids: list[int]) -> dict:
    """Revalue products one by one, counting progress on the batch as it goes."""
    RevaluationBatch.objects.filter(pk=batch_id).update(status="running")
    batch = RevaluationBatch.objects.get(pk=batch_id)
    for product_id in product_ids:
        services.revalue_product(batch=batch, product_id=product_id)
    batch = services.revaluation_finish(batch_id=batch_id)
    return {"completed": batch.completed, "failed": batch.failed}
