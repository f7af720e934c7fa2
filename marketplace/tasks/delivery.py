"""Celery tasks of the marketplace: delivery. List the task names in `__all__`."""

__all__: list[str] = []
