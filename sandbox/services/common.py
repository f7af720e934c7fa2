"""Errors and checks every sandbox service shares."""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organization
from accounts.querysets import groups_allowed
from accounts.services import require_verified
from core.errors import DomainError

__all__ = [
    "MAX_SQL_CHARS",
    "QuotaExceeded",
    "SandboxConflict",
    "SandboxError",
    "SandboxNotFound",
    "acts_for",
    "clean_sql",
    "require_operator",
    "require_reason",
]

MAX_SQL_CHARS = 20_000


class SandboxError(DomainError):
    """A sandbox rule refused the request; `code` says which."""

    status = 400


class SandboxConflict(SandboxError):
    """The object's state does not allow this (409)."""

    status = 409


class SandboxNotFound(SandboxError):
    """Missing, or another organisation's: the same answer (404)."""

    status = 404
    code = "not_found"
    default_message = gettext_lazy("Not found.")


class QuotaExceeded(SandboxError):
    """The contract's daily query or scanned-rows quota is used up (429 in the API)."""

    status = 429
    code = "quota_exceeded"


def acts_for(user: Any, organization: Organization, action: str = "view") -> bool:
    """True when `user` (a person or an API key) may `action` for `organization` (superusers included)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    return Organization.objects.filter(pk=organization.pk, group_id__in=groups_allowed(user, action)).exists()


def require_operator(organization: Organization) -> None:
    """Only a verified organisation that operates public data publishes sandbox datasets."""
    require_verified(organization)
    if not organization.can_operate_public_data:
        raise SandboxError(
            _("%(org)s does not operate public data.") % {"org": organization.name}, code="not_an_operator"
        )


def require_reason(reason: str) -> str:
    """Decisions that others must live with carry a reason they can read."""
    if not (reason or "").strip():
        raise SandboxError(_("Give a reason: the other side sees it."), code="reason_required")
    return reason.strip()


def clean_sql(sql: str) -> str:
    """The SQL as submitted, trimmed: not empty and at most MAX_SQL_CHARS characters."""
    sql = (sql or "").strip()
    if not sql:
        raise SandboxError(_("Write a query first."), code="sql_required")
    if len(sql) > MAX_SQL_CHARS:
        raise SandboxError(
            _("A query may be at most %(n)s characters long.") % {"n": f"{MAX_SQL_CHARS:,}"}, code="sql_too_long"
        )
    return sql
