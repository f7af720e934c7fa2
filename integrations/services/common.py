"""What the integration services share: who may manage endpoints, and the errors they raise."""

from typing import Any

from accounts.models import Organization
from accounts.services import require_role
from core.errors import DomainError


class IntegrationError(DomainError):
    """A webhook rule refused the request; `code` says which."""

    status = 400


class IntegrationConflict(IntegrationError):
    """The endpoint or delivery is not in a state that allows this (409)."""

    status = 409


def require_manager(by: Any, organization: Organization) -> None:
    """People need a role that manages the organisation (owner, admin); an API key needs the write scope.

    An endpoint's secret lets its holder forge events to the partner, so editors and viewers only read.
    """
    action = "change" if getattr(by, "api_key", None) is not None else "manage"
    require_role(user=by, organization=organization, action=action)
