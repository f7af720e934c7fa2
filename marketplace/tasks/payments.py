"""Celery tasks of the marketplace: payments. List the task names in `__all__`."""

__all__: list[str] = []
