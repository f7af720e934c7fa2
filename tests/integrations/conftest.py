from unittest import mock

import pytest

from accounts.choices import Role
from integrations import tasks
from tests.factories import member
from tests.factories.integrations import endpoint_for


@pytest.fixture(autouse=True)
def _local_endpoints(settings):
    """Tests post to http://127.0.0.1 (allowed only in development and tests)."""
    settings.INTEGRATIONS_ALLOW_HTTP = True


@pytest.fixture
def queued():
    """Tasks are recorded instead of run: `queued.deliver` and `queued.fan_out` are mocks of `apply_async`/`delay`."""
    with (
        mock.patch.object(tasks.deliver, "apply_async") as deliver,
        mock.patch.object(tasks.fan_out, "delay", side_effect=tasks.fan_out) as fan_out,
    ):
        yield mock.Mock(deliver=deliver, fan_out=fan_out)


@pytest.fixture
def endpoint(org):
    return endpoint_for(org)


@pytest.fixture
def viewer(org):
    return member(org, Role.VIEWER)


@pytest.fixture
def editor(org):
    return member(org, Role.EDITOR)


@pytest.fixture(autouse=True)
def _fresh_subscriptions():
    """Each test reads the endpoints' subscriptions afresh (a process remembers them for a second)."""
    from integrations.events import forget_subscriptions

    forget_subscriptions()
    yield
    forget_subscriptions()
