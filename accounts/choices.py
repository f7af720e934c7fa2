from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    REGULATOR = "regulator", _("Regulator")


class VerificationStatus(models.TextChoices):
    PENDING = "pending", _("Pending verification")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Administrator")
    EDITOR = "editor", _("Editor")
    VIEWER = "viewer", _("Viewer")


class ApiKeyScope(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")
    MANAGE = "manage", _("Read, write and manage")


# What each role may do inside its own organisation. "manage" covers members, invitations and API keys.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset({"view"}),
    Role.EDITOR: frozenset({"view", "add", "change"}),
    Role.ADMIN: frozenset({"view", "add", "change", "delete", "manage"}),
    Role.OWNER: frozenset({"view", "add", "change", "delete", "manage"}),
}
# What each API key scope lets a key do in its organisation: `manage` is an administrator's powers (members,
# invitations, the profile, sandbox export decisions), granted only by someone who holds them (accounts.services).
SCOPE_ACTIONS: dict[str, frozenset[str]] = {
    ApiKeyScope.READ: frozenset({"view"}),
    ApiKeyScope.WRITE: frozenset({"view", "add", "change", "delete"}),
    ApiKeyScope.MANAGE: frozenset({"view", "add", "change", "delete", "manage"}),
}


def scope_for(action: str) -> str:
    """The narrowest API key scope that allows `action`."""
    return next(scope for scope in ApiKeyScope.values if action in SCOPE_ACTIONS[scope])
