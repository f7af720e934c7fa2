"""Celery tasks of the marketplace: demands. List the task names in `__all__`."""

__all__: list[str] = []
