"""Write operations for users, organisations, memberships, invitations and API keys."""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm

from accounts.apps import REGULATORS_GROUP
from accounts.choices import ROLE_ACTIONS, SCOPE_ACTIONS, ApiKeyScope, OrganizationKind, Role, VerificationStatus
from accounts.models import ApiKey, Invitation, Membership, Organization, User
from audit.services import audit_record
from core.errors import DomainError, OrganizationNotVerified, PermissionDeniedError
from core.mail import send_mail_to

OWNED_OBJECT_ACTIONS = ("view", "change", "delete")
LICENCE_CONTENT_TYPES = {"application/pdf", "image/png", "image/jpeg"}
API_KEY_PREFIX = "dbk"


# --- permissions -----------------------------------------------------------------------------------------------


def role_of(*, user: Any, organization: Organization) -> str | None:
    """The user's role in the organisation, or None for a non-member."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "api_key", None) is not None:
        return None
    return Membership.objects.filter(user=user, organization=organization).values_list("role", flat=True).first()


def require_role(*, user: Any, organization: Organization, action: str) -> None:
    """Raise PermissionDeniedError unless the user's role (or the API key's scope) allows `action` here."""
    if getattr(user, "is_superuser", False):
        return
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        allowed = api_key.organization_id == organization.pk and action in SCOPE_ACTIONS[api_key.scope]
        allowed = allowed and (action != "manage" or _issuer_manages(api_key))
    else:
        role = role_of(user=user, organization=organization)
        allowed = role is not None and action in ROLE_ACTIONS[role]
    if not allowed:
        raise PermissionDeniedError(_("Your role in %(org)s does not allow this.") % {"org": organization.name})
    if action != "view" and organization.status == VerificationStatus.SUSPENDED:
        raise OrganizationNotVerified(
            _("%(org)s is suspended: it can only read until a regulator reinstates it.") % {"org": organization.name}
        )


def _issuer_manages(api_key: ApiKey) -> bool:
    """A `manage` key manages only while the person who issued it still may: a demoted issuer's key is demoted too."""
    role = role_of(user=api_key.created_by, organization=api_key.organization)
    return role is not None and "manage" in ROLE_ACTIONS[role]


def person_of(actor: Any) -> User:
    """The person behind an actor, for "created by" columns: the user, or the issuer of an API key.

    The audit ledger still records the key itself as the actor.
    """
    api_key = getattr(actor, "api_key", None)
    return api_key.created_by if api_key is not None else actor


def require_verified(organization: Organization) -> None:
    """Raise OrganizationNotVerified unless the organisation is verified (drafting is allowed before that)."""
    if not organization.is_verified:
        raise OrganizationNotVerified(
            _("%(org)s: %(status)s. Only verified organisations can do this.")
            % {"org": organization.name, "status": organization.get_status_display()}
        )


def grant_to_organization(obj: models.Model, organization: Organization) -> None:
    """Give the organisation's group view/change/delete on an object it owns (django-guardian)."""
    model_name = obj._meta.model_name
    for action in OWNED_OBJECT_ACTIONS:
        assign_perm(f"{obj._meta.app_label}.{action}_{model_name}", organization.group, obj)


# --- users and organisations ------------------------------------------------------------------------------------


@transaction.atomic
def user_create(*, email: str, password: str, full_name: str, by: Any = None) -> User:
    """Create a user who signs in with their e-mail address (signing up, or added by an administrator: `by`)."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": _("A user with this e-mail address already exists.")}, code="duplicate")
    user = User(email=email, full_name=full_name.strip())
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}, code="password") from exc
    user.set_password(password)
    user.full_clean()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"email": _("A user with this e-mail address already exists.")}, code="duplicate"
        ) from exc
    audit_record(action="user.created", obj=user, actor=by or user)
    return user


@transaction.atomic
def organization_register(*, user: User, name: str, credit_code: str, **profile: Any) -> Organization:
    """Register an enterprise (pending verification) with `user` as its owner."""
    return _register(user=user, name=name, credit_code=credit_code, kind=OrganizationKind.ENTERPRISE, profile=profile)


@transaction.atomic
def regulator_register(*, user: User, name: str, credit_code: str, **profile: Any) -> Organization:
    """Register a regulator organisation (platform set-up only: seed data or a superuser's command)."""
    org = _register(user=user, name=name, credit_code=credit_code, kind=OrganizationKind.REGULATOR, profile=profile)
    return organization_verify(organization=org, by=None, reason="Regulator registered by the platform.")


def _register(*, user: User, name: str, credit_code: str, kind: str, profile: dict[str, Any]) -> Organization:
    unknown = set(profile) - ORGANIZATION_EDITABLE
    if unknown:
        raise ValidationError(_("These fields cannot be set: %(f)s") % {"f": ", ".join(sorted(unknown))})
    credit_code = credit_code.strip().upper()
    _check_organization_unique(name=name, credit_code=credit_code)
    org = Organization(name=name.strip(), credit_code=credit_code, kind=kind, **profile)
    org.group = Group(name=f"org:{credit_code}")
    org.full_clean(exclude=["group"])
    try:
        with transaction.atomic():
            org.group.save()
            org.save()
    except IntegrityError as exc:  # a concurrent registration won the race past the checks above
        raise ValidationError(
            _("An organisation with this name or credit code is already registered."), code="duplicate"
        ) from exc
    grant_to_organization(org, org)
    membership_add(organization=org, user=user, role=Role.OWNER, by=user)
    audit_record(
        action="organization.registered",
        obj=org,
        actor=user,
        organization_id=org.pk,
        data={"name": org.name, "credit_code": org.credit_code, "kind": org.kind},
    )
    return org


def _check_organization_unique(*, name: str, credit_code: str, exclude_pk: int | None = None) -> None:
    others = Organization.objects.exclude(pk=exclude_pk)
    errors = {}
    if others.filter(credit_code=credit_code).exists():
        errors["credit_code"] = _("An organisation with this unified social credit code is already registered.")
    if others.filter(name__iexact=name.strip()).exists():
        errors["name"] = _("An organisation with this name is already registered.")
    if errors:
        raise ValidationError(errors, code="duplicate")


ORGANIZATION_EDITABLE = {
    "address",
    "contact_name",
    "contact_email",
    "contact_phone",
    "can_sell",
    "can_buy",
    "can_operate_public_data",
    "can_appraise",
}


@transaction.atomic
def organization_update(*, organization: Organization, by: User, **fields: Any) -> Organization:
    """Change an organisation's profile; name and credit code are fixed once registered."""
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    require_role(user=by, organization=org, action="manage")
    unknown = set(fields) - ORGANIZATION_EDITABLE
    if unknown:
        raise ValidationError(_("These fields cannot be changed: %(f)s") % {"f": ", ".join(sorted(unknown))})
    changed = {k: v for k, v in fields.items() if getattr(org, k) != v}
    for key, value in changed.items():
        setattr(org, key, value)
    org.full_clean()
    org.save()
    if changed:
        audit_record(
            action="organization.updated", obj=org, actor=by, organization_id=org.pk, data={"fields": sorted(changed)}
        )
    return org


@transaction.atomic
def organization_upload_licence(*, organization: Organization, by: User, licence: UploadedFile) -> Organization:
    """Attach a business licence for review; a rejected organisation goes back to pending."""
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    require_role(user=by, organization=org, action="manage")
    if org.status not in (VerificationStatus.PENDING, VerificationStatus.REJECTED):
        raise DomainError(
            _("The licence can only be changed while verification is pending or was rejected."), code="licence_locked"
        )
    _check_licence_file(licence)
    org.business_licence.save(licence.name, licence, save=False)
    org.licence_uploaded_at = timezone.now()
    org.save(update_fields=["business_licence", "licence_uploaded_at"])
    audit_record(
        action="organization.licence_uploaded",
        obj=org,
        actor=by,
        organization_id=org.pk,
        data={"file": org.business_licence.name, "size": licence.size},
    )
    if org.status == VerificationStatus.REJECTED:
        org.transition_to(VerificationStatus.PENDING, by=by, reason="licence resubmitted")
    return org


def _check_licence_file(licence: UploadedFile) -> None:
    if licence.size > settings.BUSINESS_LICENCE_MAX_BYTES:
        raise ValidationError({"business_licence": _("The licence file is too large.")}, code="file_too_large")
    head = licence.read(8)
    licence.seek(0)
    if not (head.startswith(b"%PDF") or head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8\xff")):
        raise ValidationError(
            {"business_licence": _("Upload the licence as a PDF, PNG or JPEG file.")}, code="file_type"
        )


def require_regulator(user: Any) -> None:
    """Raise PermissionDeniedError unless `user` is a regulator, a superuser or the system (None)."""
    if user is None or getattr(user, "is_superuser", False):
        return
    if not Membership.objects.filter(user=user, organization__kind=OrganizationKind.REGULATOR).exists():
        raise PermissionDeniedError(_("Only a regulator can make this decision."))


def _require_licence(org: Organization) -> None:
    if not org.business_licence and not org.is_regulator:
        raise DomainError(_("No business licence has been uploaded yet."), code="licence_missing")


def _decide(organization: Organization, new: str, *, by: Any, reason: str, check: Any = None) -> Organization:
    require_regulator(by)
    if not reason.strip():
        raise ValidationError({"reason": _("A reason is required; the organisation will see it.")}, code="required")
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    if check is not None:
        check(org)
    org.status_reason = reason.strip()
    org.transition_to(new, by=by, reason=org.status_reason)
    transaction.on_commit(lambda: _mail_decision(org))
    return org


@transaction.atomic
def organization_verify(*, organization: Organization, by: Any, reason: str) -> Organization:
    """A regulator accepts the organisation's verification (its business licence must be on file)."""
    return _decide(organization, VerificationStatus.VERIFIED, by=by, reason=reason, check=_require_licence)


@transaction.atomic
def organization_reject(*, organization: Organization, by: Any, reason: str) -> Organization:
    """A regulator rejects the verification; the organisation may upload a new licence."""
    return _decide(organization, VerificationStatus.REJECTED, by=by, reason=reason)


@transaction.atomic
def organization_suspend(*, organization: Organization, by: Any, reason: str) -> Organization:
    """A regulator suspends a verified organisation; its API keys stop working."""
    return _decide(organization, VerificationStatus.SUSPENDED, by=by, reason=reason)


@transaction.atomic
def organization_reinstate(*, organization: Organization, by: Any, reason: str) -> Organization:
    """A regulator lifts a suspension."""
    return _decide(organization, VerificationStatus.VERIFIED, by=by, reason=reason)


def _mail_decision(org: Organization) -> None:
    # The decision stands whether or not the notice could be mailed; the members also see it on their page. A contact
    # address that is nobody's account is written to in the owner's language.
    owners = Membership.objects.filter(organization=org, role=Role.OWNER).order_by("pk")
    send_mail_to(
        [org.contact_email],
        lambda: _("Databourse: %(org)s is now %(status)s") % {"org": org.name, "status": org.get_status_display()},
        "accounts/email/verification_decision.txt",
        {"organization": org},
        language=owners.values_list("user__language", flat=True).first(),
    )


# --- memberships ------------------------------------------------------------------------------------------------


def _sync_staff(user: User) -> None:
    """Members of a regulator organisation are staff (the admin), in the Regulators group."""
    is_regulator = user.memberships.filter(organization__kind=OrganizationKind.REGULATOR).exists()
    regulators, _created = Group.objects.get_or_create(name=REGULATORS_GROUP)
    if is_regulator:
        user.groups.add(regulators)
    else:
        user.groups.remove(regulators)
    if user.is_staff != (is_regulator or user.is_superuser):
        user.is_staff = is_regulator or user.is_superuser
        user.save(update_fields=["is_staff"])


@transaction.atomic
def membership_add(*, organization: Organization, user: User, role: str, by: Any) -> Membership:
    """Make `user` a member with `role`; adds them to the organisation's permission group."""
    if Membership.objects.filter(organization=organization, user=user).exists():
        raise ValidationError(_("%(user)s is already a member.") % {"user": user.email}, code="duplicate")
    membership = Membership.objects.create(organization=organization, user=user, role=role)
    grant_to_organization(membership, organization)
    user.groups.add(organization.group)
    _sync_staff(user)
    audit_record(
        action="membership.added",
        obj=membership,
        actor=by,
        organization_id=organization.pk,
        data={"user": user.email, "role": role},
    )
    return membership


def _guard_owners(membership: Membership, *, by: User, new_role: str | None) -> None:
    touches_owner = Role.OWNER in (membership.role, new_role)
    by_owner = (
        getattr(by, "is_superuser", False) or role_of(user=by, organization=membership.organization) == Role.OWNER
    )
    if touches_owner and not by_owner:
        raise PermissionDeniedError(_("Only an owner can grant or take away the owner role."))
    owners = Membership.objects.filter(organization=membership.organization, role=Role.OWNER)
    if membership.role == Role.OWNER and new_role != Role.OWNER and owners.count() == 1:
        raise DomainError(_("An organisation must keep at least one owner."), code="last_owner")


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, by: User) -> Membership:
    """Change a member's role; only owners touch the owner role and the last owner stays."""
    membership = Membership.objects.select_for_update().select_related("organization").get(pk=membership.pk)
    require_role(user=by, organization=membership.organization, action="manage")
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")}, code="invalid")
    _guard_owners(membership, by=by, new_role=role)
    old, membership.role = membership.role, role
    membership.save(update_fields=["role"])
    audit_record(
        action="membership.role_changed",
        obj=membership,
        actor=by,
        organization_id=membership.organization_id,
        data={"user": membership.user.email, "from": old, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, by: User) -> None:
    """Remove a member (members may also leave); the last owner cannot go."""
    membership = Membership.objects.select_for_update().select_related("organization", "user").get(pk=membership.pk)
    leaving = getattr(by, "api_key", None) is None and membership.user_id == by.pk
    if not leaving:
        require_role(user=by, organization=membership.organization, action="manage")
    _guard_owners(membership, by=by, new_role=None)
    user, org = membership.user, membership.organization
    audit_record(
        action="membership.removed",
        obj=membership,
        actor=by,
        organization_id=org.pk,
        data={"user": user.email, "role": membership.role},
    )
    membership.delete()
    user.groups.remove(org.group)
    _sync_staff(user)


# --- invitations ------------------------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(*, organization: Organization, email: str, role: str, by: User) -> tuple[Invitation, str]:
    """Invite someone by e-mail; returns the invitation and the one-time token sent in the link."""
    organization = Organization.objects.get(pk=organization.pk)
    require_role(user=by, organization=organization, action="manage")
    email = email.strip().lower()
    if role == Role.OWNER:
        _guard_owners(Membership(organization=organization, role=Role.VIEWER), by=by, new_role=Role.OWNER)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError({"email": _("This person is already a member.")}, code="duplicate")
    if organization.invitations.open().filter(email__iexact=email).exists():
        raise ValidationError({"email": _("An invitation to this address is already open.")}, code="duplicate")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=_token_hash(token),
        invited_by=person_of(by),  # a `manage` key's invitation is sent in the name of the key's issuer
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS),
    )
    grant_to_organization(invitation, organization)
    audit_record(
        action="invitation.created",
        obj=invitation,
        actor=by,
        organization_id=organization.pk,
        data={"email": email, "role": role},
    )
    transaction.on_commit(lambda: _mail_invitation(invitation, token))
    return invitation, token


def _mail_invitation(invitation: Invitation, token: str) -> None:
    from django.urls import reverse

    # The invitation exists either way; the inviter can withdraw it and invite again. Someone without an account
    # yet is written to in the inviter's language, the best guess at a colleague's.
    send_mail_to(
        [invitation.email],
        lambda: _("You are invited to join %(org)s on Databourse") % {"org": invitation.organization.name},
        "accounts/email/invitation.txt",
        {"invitation": invitation, "path": reverse("accounts:invitation_accept", args=[token])},
        language=invitation.invited_by.language,
    )


def invitation_for_token(token: str, *, lock: bool = False) -> Invitation:
    """The open invitation a token belongs to, or a DomainError saying why it cannot be used."""
    invitations = Invitation.objects.select_for_update() if lock else Invitation.objects.all()
    invitation = invitations.select_related("organization").filter(token_hash=_token_hash(token)).first()
    if invitation is None:
        raise DomainError(_("This invitation link is not valid."), code="invitation_invalid")
    if invitation.revoked_at:
        raise DomainError(_("This invitation was withdrawn."), code="invitation_revoked")
    if invitation.accepted_at:
        raise DomainError(_("This invitation has already been used."), code="invitation_used")
    if invitation.expires_at <= timezone.now():
        raise DomainError(_("This invitation has expired; ask for a new one."), code="invitation_expired")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the organisation an invitation is for; the signed-in e-mail must match the invited one."""
    invitation = invitation_for_token(token, lock=True)
    if invitation.email.lower() != user.email.lower():
        raise DomainError(
            _("This invitation was sent to %(email)s; sign in with that address to accept it.")
            % {"email": invitation.email},
            code="invitation_wrong_user",
        )
    if Membership.objects.filter(organization=invitation.organization, user=user).exists():
        raise DomainError(
            _("You are already a member of %(org)s.") % {"org": invitation.organization.name}, code="already_member"
        )
    membership = membership_add(organization=invitation.organization, user=user, role=invitation.role, by=user)
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(action="invitation.accepted", obj=invitation, actor=user, organization_id=invitation.organization_id)
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by: User) -> Invitation:
    """Withdraw an open invitation."""
    invitation = Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
    require_role(user=by, organization=invitation.organization, action="manage")
    if not invitation.is_open:
        raise DomainError(_("Only an open invitation can be withdrawn."), code="invitation_closed")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(action="invitation.revoked", obj=invitation, actor=by, organization_id=invitation.organization_id)
    return invitation


# --- API keys ---------------------------------------------------------------------------------------------------


def api_key_hash(raw_key: str) -> str:
    """SHA-256 of the whole key: keys carry 256 random bits, so a slow password hash would add nothing."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *, organization: Organization, name: str, scope: str, by: User, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Issue a key for a verified organisation; the raw key is returned once and never stored."""
    organization = Organization.objects.get(pk=organization.pk)
    require_role(user=by, organization=organization, action="manage")
    require_verified(organization)
    if scope not in ApiKeyScope.values:
        raise ValidationError({"scope": _("Choose read, write or manage.")}, code="invalid")
    if not SCOPE_ACTIONS[scope] <= _grantable_actions(by, organization):
        raise ValidationError({"scope": _("Your role does not allow issuing a key with this scope.")}, code="invalid")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")}, code="invalid")
    if not name.strip():
        raise ValidationError({"name": _("Give the key a name.")}, code="required")
    prefix = f"{API_KEY_PREFIX}_{secrets.token_hex(4)}"
    raw_key = f"{prefix}_{secrets.token_hex(32)}"
    key = ApiKey.objects.create(
        organization=organization,
        name=name.strip(),
        prefix=prefix,
        key_hash=api_key_hash(raw_key),
        scope=scope,
        expires_at=expires_at,
        created_by=by,
    )
    grant_to_organization(key, organization)
    audit_record(
        action="apikey.created",
        obj=key,
        actor=by,
        organization_id=organization.pk,
        data={
            "name": key.name,
            "prefix": prefix,
            "scope": scope,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return key, raw_key


def _grantable_actions(by: Any, organization: Organization) -> frozenset[str]:
    """What the issuer may do in the organisation: a key is never issued with more than its issuer's own powers."""
    if getattr(by, "is_superuser", False):
        return SCOPE_ACTIONS[ApiKeyScope.MANAGE]
    role = role_of(user=by, organization=organization)
    return ROLE_ACTIONS[role] if role is not None else frozenset()


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, by: User) -> ApiKey:
    """Revoke a key at once; it can never be used again (an owner or admin, or a key with the manage scope)."""
    key = ApiKey.objects.select_for_update().select_related("organization").get(pk=api_key.pk)
    require_role(user=by, organization=key.organization, action="manage")
    if key.revoked_at:
        raise DomainError(_("This key is already revoked."), code="api_key_revoked")
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit_record(
        action="apikey.revoked", obj=key, actor=by, organization_id=key.organization_id, data={"prefix": key.prefix}
    )
    return key


class ApiKeyRejected(DomainError):
    status = 401


def api_key_authenticate(raw_key: str, *, ip: str | None = None) -> ApiKey:
    """The active key for a raw value, or ApiKeyRejected with a code saying why; records when it was used."""
    raw_key = raw_key.strip()
    parts = raw_key.split("_")
    prefix = "_".join(parts[:2]) if len(parts) == 3 else None
    key = ApiKey.objects.select_related("organization").filter(prefix=prefix).first() if prefix else None
    if key is None or not secrets.compare_digest(key.key_hash, api_key_hash(raw_key)):
        raise ApiKeyRejected(_("Invalid API key."), code="api_key_invalid")
    if key.revoked_at:
        raise ApiKeyRejected(_("This API key has been revoked."), code="api_key_revoked")
    if key.is_expired:
        raise ApiKeyRejected(_("This API key has expired."), code="api_key_expired")
    if not key.organization.is_verified:
        raise ApiKeyRejected(OrganizationNotVerified.default_message, code=OrganizationNotVerified.code)
    _touch(key, ip)
    return key


def _touch(key: ApiKey, ip: str | None) -> None:
    """Record use at most once a minute per key, so a busy key does not write on every request."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1) or key.last_used_ip != ip:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)
        key.last_used_at, key.last_used_ip = now, ip
