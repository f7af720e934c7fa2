"""The schema-wide API tests share one world per module (building it takes seconds): it is written once inside an
outer transaction, each test runs in a savepoint within it, and the outer transaction is rolled back at the end.
So no test here may use `transactional_db` (its flush would empty the world)."""

import pytest
from django.core import signals
from django.db import close_old_connections, transaction

from tests.api.world import World, build_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> World:
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _media_and_cache():
    """Overrides the suite's fixture of that name: the world's files must outlive a test; the cache (throttles,
    rate limits) still starts empty."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the real WSGI handler, whose start and end close a connection that is inside a
    transaction: Django's test client disconnects the same handler for the same reason."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
