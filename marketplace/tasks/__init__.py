"""Celery tasks of the marketplace, one module per area (autodiscovery imports this package)."""

from marketplace.tasks.contracts import expire_contracts
from marketplace.tasks.delivery import *  # noqa: F403
from marketplace.tasks.demands import *  # noqa: F403
from marketplace.tasks.payments import *  # noqa: F403

__all__ = ["expire_contracts"]
