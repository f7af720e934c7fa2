"""Permission scoping shared by every model an organisation owns (NetBox `RestrictedQuerySet`)."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Cast
from guardian.models import GroupObjectPermission

from accounts.choices import ROLE_ACTIONS, SCOPE_ACTIONS, VerificationStatus

# Queryset actions map onto Django/guardian permission codenames; "manage" needs the change permission.
ACTION_PERMISSIONS = {"view": "view", "add": "change", "change": "change", "delete": "delete", "manage": "change"}


def groups_allowed(user: Any, action: str) -> models.QuerySet:
    """Ids of the organisation groups through which `user` (or an API-key principal) may perform `action`."""
    from accounts.models import Membership, Organization

    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        if action not in SCOPE_ACTIONS[api_key.scope]:
            return Organization.objects.none().values("group_id")
        orgs = Organization.objects.filter(pk=api_key.organization_id, status=VerificationStatus.VERIFIED)
        return orgs.values("group_id")
    roles = [role for role, actions in ROLE_ACTIONS.items() if action in actions]
    memberships = Membership.objects.filter(user=user, role__in=roles)
    if action != "view":
        # A suspended organisation's members keep read access only.
        memberships = memberships.exclude(organization__status=VerificationStatus.SUSPENDED)
    return memberships.values("organization__group_id")


class RestrictedQuerySet(models.QuerySet):
    """A queryset that can be narrowed to what a user may see or do."""

    def restrict(self, user: Any, action: str = "view") -> "RestrictedQuerySet":
        """Objects `user` may `action`: granted (django-guardian) to a group their role lets them act through."""
        if user is None or not user.is_authenticated:
            return self.none()
        if getattr(user, "is_superuser", False) and _otp_verified(user):
            return self
        content_type = ContentType.objects.get_for_model(self.model)
        granted = GroupObjectPermission.objects.filter(
            content_type=content_type,
            permission__content_type=content_type,
            permission__codename=f"{ACTION_PERMISSIONS[action]}_{content_type.model}",
            group_id__in=groups_allowed(user, action),
        ).values_list(Cast("object_pk", output_field=models.BigIntegerField()))
        return self.filter(pk__in=granted)


def _otp_verified(user: Any) -> bool:
    """A superuser sees everything only in a session verified by two-factor (django-otp sets `is_verified`)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified()) if callable(is_verified) else False
