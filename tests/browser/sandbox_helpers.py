"""Helpers of the sandbox journey (issue 8, journey 4): holding the dataset build so the page can be seen while it
is being prepared."""

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def held_dataset_builds(monkeypatch) -> Iterator[list[int]]:
    """While open, `sandbox.prepare_dataset` is not run when a publish commits (eager Celery would build the file
    inside the request, before the page could show its progress); the ids of the datasets waiting are collected.
    Run them with `prepare_dataset.apply(...)`, as a worker would."""
    from sandbox import tasks

    held: list[int] = []
    with monkeypatch.context() as patch:
        patch.setattr(tasks.prepare_dataset, "delay", held.append)
        yield held
