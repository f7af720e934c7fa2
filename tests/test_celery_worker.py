"""Celery tasks through a real worker on Redis (not eager), as production runs them.

`make test` exports CELERY_BROKER_URL=redis://127.0.0.1:63799/0 and CELERY_RESULT_BACKEND=redis://…/1
(scripts/services.sh starts that Redis). Without a redis:// broker (plain SQLite/dev runs) these tests
are skipped. The worker runs in a thread of this process (celery.contrib.testing.worker, solo pool) and
talks to the test database through its own connection, so the tests use transaction=True: rows written
here are committed and visible to the worker.
"""

import os
import threading
import uuid
from collections.abc import Iterator

import pytest
from celery import shared_task
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult, EagerResult
from celery.signals import task_postrun
from django.db import connections

from config import celery_app

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "") or BROKER_URL

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(
        not BROKER_URL.startswith("redis://"),
        reason="needs a Redis broker: set CELERY_BROKER_URL=redis://... (make test does)",
    ),
]

_OVERRIDES = {
    "task_always_eager": False,
    "broker_url": BROKER_URL,
    "result_backend": RESULT_BACKEND,
    # Leave pytest's logging alone: the embedded worker must not take over the root logger.
    "worker_hijack_root_logger": False,
}


@shared_task(name="tests.worker_sees_group")
def worker_sees_group(name: str) -> dict:
    """Test-only task: does the worker's own database connection see a row committed by the test?"""
    from django.contrib.auth.models import Group

    return {"found": Group.objects.filter(name=name).exists(), "thread": threading.get_ident()}


def _forget_connections() -> None:
    """Drop the app's cached broker pool and this thread's result backend, so changed URLs apply.

    (Not `celery_app.close()`: that also unregisters the app, and shared tasks imported afterwards
    would then not be bound to it.)
    """
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    vars(celery_app._local).pop("backend", None)  # the result backend is cached per thread


def _close_worker_db_connections(**kwargs) -> None:
    # Runs in the worker thread after each task: leave no connection open there, or the test
    # database could not be dropped at the end of the session.
    connections.close_all()


@pytest.fixture
def real_worker() -> Iterator[object]:
    """A Celery worker consuming from Redis for the duration of one test; eager mode restored after."""
    saved = {key: celery_app.conf.get(key) for key in _OVERRIDES}
    urls_change = (saved["broker_url"], saved["result_backend"]) != (BROKER_URL, RESULT_BACKEND)
    celery_app.conf.update(_OVERRIDES)
    if urls_change:
        _forget_connections()
    task_postrun.connect(_close_worker_db_connections, weak=False)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
            yield worker
    finally:
        task_postrun.disconnect(_close_worker_db_connections)
        celery_app.conf.update(saved)
        if urls_change:
            _forget_connections()


@pytest.mark.django_db(transaction=True)
def test_ledger_verify_runs_on_a_real_worker(real_worker):
    from audit.tasks import ledger_verify

    result = ledger_verify.delay()

    assert isinstance(result, AsyncResult)
    assert not isinstance(result, EagerResult), "the task ran eagerly instead of on the worker"
    outcome = result.get(timeout=30)
    assert result.successful()
    assert outcome["ok"] is True, outcome
    assert outcome["error"] is None, outcome


@pytest.mark.django_db(transaction=True)
def test_worker_reads_rows_committed_by_the_test(real_worker):
    from django.contrib.auth.models import Group

    name = f"worker-{uuid.uuid4().hex}"
    Group.objects.create(name=name)

    outcome = worker_sees_group.delay(name).get(timeout=30)

    assert outcome["found"] is True
    assert outcome["thread"] != threading.get_ident(), "the task ran in the test's thread, not the worker's"
