"""Checks every marketplace service shares: regulators, reasons, client addresses."""

from typing import Any

from django.utils.translation import gettext as _

from accounts.choices import OrganizationKind
from accounts.models import Membership
from accounts.services import require_regulator
from core.errors import DomainError

__all__ = ["MarketConflict", "MarketError", "is_regulator", "require_reason", "require_regulator"]


class MarketError(DomainError):
    """A marketplace rule refused the request; `code` says which."""

    status = 400


class MarketConflict(MarketError):
    """The object's state does not allow this (409)."""

    status = 409


def require_reason(reason: str) -> str:
    """Decisions that others must live with carry a reason they can read."""
    if not (reason or "").strip():
        raise MarketError(_("Give a reason: the other side sees it."), code="reason_required")
    return reason.strip()


def is_regulator(user: Any) -> bool:
    """A member of a regulator organisation, a superuser, or the platform itself (None)."""
    if user is None or getattr(user, "is_superuser", False):
        return True
    if getattr(user, "api_key", None) is not None:
        return False
    return Membership.objects.filter(user=user, organization__kind=OrganizationKind.REGULATOR).exists()
