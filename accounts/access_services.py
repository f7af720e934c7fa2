"""Writes to who may get in: platform administrators, users' access flags and passwords, groups, TOTP devices.

The Django admin, `createsuperuser` (through `UserManager.create_superuser`), `seed_demo` and the two-factor page
all call these, so each of those changes lands in the audit ledger like every other state change.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.apps import REGULATORS_GROUP
from accounts.models import User
from audit.services import audit_record
from core.errors import DomainError, PermissionDeniedError

USER_ACCESS_FIELDS = ("email", "full_name", "is_active", "is_staff", "is_superuser")
TOTP_DEVICE_FIELDS = ("user_id", "name", "confirmed", "key", "step", "t0", "digits", "tolerance", "drift")
# Secrets are named in the ledger when they change, never written into it.
SECRET_FIELDS = frozenset({"key"})


def require_superuser(by: Any) -> None:
    """Raise PermissionDeniedError unless `by` is a platform administrator."""
    if not getattr(by, "is_superuser", False):
        raise PermissionDeniedError(_("Only a platform administrator can change accounts and access."))


def membership_groups() -> models.Q:
    """Groups that follow memberships (an organisation's group, the Regulators group): never edited by hand."""
    return models.Q(organization__isnull=False) | models.Q(name=REGULATORS_GROUP)


def _changes(stored: models.Model, edited: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """Field → [old, new] for every field that differs; secret fields show only that they changed."""
    changes = {}
    for name in fields:
        old, new = getattr(stored, name), getattr(edited, name)
        if old != new:
            changes[name] = "changed" if name in SECRET_FIELDS else [old, new]
    return changes


# --- platform administrators and users -------------------------------------------------------------------------


@transaction.atomic
def superuser_create(*, email: str, password: str | None, by: Any = None, **extra: Any) -> User:
    """Create a platform administrator (createsuperuser, seed_demo); the ledger records who and by whom."""
    user = User.objects.build(email, password, **{**extra, "is_staff": True, "is_superuser": True})
    user.save()
    audit_record(action="user.superuser_created", obj=user, actor=by, data={"email": user.email})
    return user


@transaction.atomic
def user_update_access(*, user: User, groups: Iterable[Group] | None, by: Any) -> User:
    """Save an administrator's edit of a user (name, e-mail, active, staff, superuser, groups) with one event."""
    require_superuser(by)
    stored = User.objects.select_for_update().get(pk=user.pk)
    changes = _changes(stored, user, USER_ACCESS_FIELDS)
    added, removed = _set_groups(stored, groups) if groups is not None else ([], [])
    if changes:
        user.save(update_fields=list(changes))
    if changes or added or removed:
        data = {"changes": changes, "groups_added": added, "groups_removed": removed}
        audit_record(action="user.access_changed", obj=user, actor=by, data=data)
    return user


def _set_groups(user: User, groups: Iterable[Group]) -> tuple[list[str], list[str]]:
    """Set the hand-managed groups; groups that follow memberships stay as they are."""
    current = set(user.groups.exclude(membership_groups()))
    wanted = set(Group.objects.filter(pk__in=[g.pk for g in groups]).exclude(membership_groups()))
    user.groups.remove(*(current - wanted))
    user.groups.add(*(wanted - current))
    return sorted(g.name for g in wanted - current), sorted(g.name for g in current - wanted)


@transaction.atomic
def user_set_password(*, user: User, password: str | None, by: Any) -> User:
    """An administrator sets a user's password, or disables password sign-in when `password` is None."""
    require_superuser(by)
    user = User.objects.select_for_update().get(pk=user.pk)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        action="user.password_set", obj=user, actor=by, data={"email": user.email, "usable": password is not None}
    )
    return user


@transaction.atomic
def user_delete(*, user: User, by: Any) -> None:
    """An administrator deletes a user account (the admin refuses when protected rows still point at it)."""
    require_superuser(by)
    user = User.objects.select_for_update().get(pk=user.pk)
    audit_record(action="user.deleted", obj=user, actor=by, data={"email": user.email})
    user.delete()


# --- permission groups -----------------------------------------------------------------------------------------


class GroupManaged(DomainError):
    code = "group_managed"
    status = 409
    default_message = gettext_lazy("This group follows memberships: change the membership instead.")


@transaction.atomic
def group_save(*, group: Group, permissions: Iterable[Permission], by: Any) -> Group:
    """Create or change a hand-managed permission group and its permissions, with one event."""
    require_superuser(by)
    created = group.pk is None
    stored = None if created else Group.objects.select_for_update().get(pk=group.pk)
    if stored is not None and Group.objects.filter(membership_groups(), pk=group.pk).exists():
        raise GroupManaged
    group.save()
    before = set() if stored is None else set(stored.permissions.all())
    after = set(permissions)
    group.permissions.set(after)
    data = {
        "name": group.name,
        "renamed_from": stored.name if stored is not None and stored.name != group.name else None,
        "permissions_added": sorted(p.codename for p in after - before),
        "permissions_removed": sorted(p.codename for p in before - after),
    }
    audit_record(action="group.created" if created else "group.changed", obj=group, actor=by, data=data)
    return group


@transaction.atomic
def group_delete(*, group: Group, by: Any) -> None:
    """Delete a hand-managed permission group."""
    require_superuser(by)
    group = Group.objects.select_for_update().get(pk=group.pk)
    if Group.objects.filter(membership_groups(), pk=group.pk).exists():
        raise GroupManaged
    audit_record(action="group.deleted", obj=group, actor=by, data={"name": group.name})
    group.delete()


# --- two-factor devices ----------------------------------------------------------------------------------------


@transaction.atomic
def totp_device_create(
    *, user: User, name: str, by: Any, confirmed: bool = False, key: str | None = None
) -> TOTPDevice:
    """Give a user a TOTP device (a new random secret unless `key` is given); the secret stays out of the ledger."""
    device = TOTPDevice(user=user, name=name, confirmed=confirmed)
    if key is not None:
        device.key = key
    device.full_clean()
    device.save()
    audit_record(action="totp_device.created", obj=device, actor=by, data=_device_data(device))
    return device


def _device_data(device: TOTPDevice) -> dict[str, Any]:
    return {"user": device.user.email, "name": device.name, "confirmed": device.confirmed}


@transaction.atomic
def totp_device_for_setup(user: User) -> TOTPDevice | None:
    """The user's unconfirmed TOTP device, created on first visit; None when a confirmed device exists."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return None
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or totp_device_create(user=user, name=_("Authenticator app"), by=user)


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, token: str, by: User) -> bool:
    """Confirm the device when `token` is its current code; records the confirmation in the ledger."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(action="totp_device.confirmed", obj=device, actor=by, data={"user": by.email})
    return True


@transaction.atomic
def totp_device_save(*, device: TOTPDevice, by: Any) -> TOTPDevice:
    """An administrator adds or edits a TOTP device in the admin; one event names what changed."""
    require_superuser(by)
    if device.pk is None:
        device.save()
        audit_record(action="totp_device.created", obj=device, actor=by, data=_device_data(device))
        return device
    stored = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    changes = _changes(stored, device, TOTP_DEVICE_FIELDS)
    device.save()
    if changes:
        data = {**_device_data(device), "changes": changes}
        audit_record(action="totp_device.changed", obj=device, actor=by, data=data)
    return device


@transaction.atomic
def totp_device_delete(*, device: TOTPDevice, by: Any) -> None:
    """An administrator removes a TOTP device (its owner sets up a new one at the next admin sign-in)."""
    require_superuser(by)
    device = TOTPDevice.objects.select_for_update().select_related("user").get(pk=device.pk)
    audit_record(action="totp_device.deleted", obj=device, actor=by, data=_device_data(device))
    device.delete()
