"""Users, organisations, memberships, invitations, API keys, and the API's `Idempotency-Key` records."""

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager, Group
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import ApiKeyScope, OrganizationKind, Role, VerificationStatus
from accounts.querysets import RestrictedQuerySet
from accounts.validators import validate_credit_code
from core.state import StateMachineMixin


class UserManager(BaseUserManager):
    use_in_migrations = True

    def build(self, email: str, password: str | None, **extra: Any) -> "User":
        """An unsaved user with a normalised e-mail address and a hashed password."""
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        user = self.build(email, password, **extra)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        """Through the audited service, so `createsuperuser` (and anything else asking) lands in the ledger."""
        from accounts.access_services import superuser_create  # that module imports this one

        return superuser_create(email=email, password=password, **extra)


class User(AbstractUser):
    """A person who signs in with an e-mail address."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("The language of the mail the exchange sends; blank: the site's default."),
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]
    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


def licence_upload_to(instance: "Organization", filename: str) -> str:
    return f"private/licences/{instance.credit_code}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class OrganizationQuerySet(RestrictedQuerySet):
    def verified(self) -> "OrganizationQuerySet":
        return self.filter(status=VerificationStatus.VERIFIED)

    def pending_review(self) -> "OrganizationQuerySet":
        return self.filter(status=VerificationStatus.PENDING)


class Organization(StateMachineMixin):
    """A member of the exchange: an enterprise with capabilities, or a regulator."""

    TRANSITIONS: ClassVar = {
        VerificationStatus.PENDING: frozenset({VerificationStatus.VERIFIED, VerificationStatus.REJECTED}),
        VerificationStatus.REJECTED: frozenset({VerificationStatus.PENDING}),
        VerificationStatus.VERIFIED: frozenset({VerificationStatus.SUSPENDED}),
        VerificationStatus.SUSPENDED: frozenset({VerificationStatus.VERIFIED}),
    }

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganizationKind, default=OrganizationKind.ENTERPRISE)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_credit_code]
    )
    can_sell = models.BooleanField(_("sells data (data merchant)"), default=False)
    can_buy = models.BooleanField(_("buys data"), default=True)
    can_operate_public_data = models.BooleanField(_("operates public data"), default=False)
    can_appraise = models.BooleanField(_("appraises data assets"), default=False)
    address = models.CharField(_("address"), max_length=300)
    contact_name = models.CharField(_("contact person"), max_length=100)
    contact_email = models.EmailField(_("contact e-mail"))
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    status = models.CharField(
        _("verification"), max_length=20, choices=VerificationStatus, default=VerificationStatus.PENDING, db_index=True
    )
    status_reason = models.TextField(_("reason for the last decision"), blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    business_licence = models.FileField(_("business licence"), upload_to=licence_upload_to, blank=True)
    licence_uploaded_at = models.DateTimeField(_("licence uploaded at"), null=True, blank=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="organization", editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [models.UniqueConstraint(Lower("name"), name="organization_unique_name_ci")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.status == VerificationStatus.VERIFIED

    @property
    def is_regulator(self) -> bool:
        return self.kind == OrganizationKind.REGULATOR

    def capability_labels(self) -> list[str]:
        """Human names of what the organisation does, for badges."""
        if self.is_regulator:
            return [str(_("Regulator"))]
        flags = ["can_sell", "can_buy", "can_operate_public_data", "can_appraise"]
        return [str(self._meta.get_field(f).verbose_name) for f in flags if getattr(self, f)]

    def on_transition(self, old: str, new: str) -> None:
        if new == VerificationStatus.VERIFIED:
            self.verified_at = timezone.now()

    def audit_organization_id(self) -> int | None:
        return self.pk


class MembershipQuerySet(RestrictedQuerySet):
    def owners(self) -> "MembershipQuerySet":
        return self.filter(role=Role.OWNER)


class Membership(models.Model):
    """A user's role in an organisation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role, default=Role.VIEWER)
    created_at = models.DateTimeField(_("joined at"), auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["organization__name", "user__email"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="membership_unique_user_org")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.get_role_display()})"


class InvitationQuerySet(RestrictedQuerySet):
    def open(self) -> "InvitationQuerySet":
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An e-mailed invitation to join an organisation with a role; the token is stored hashed."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=20, choices=Role, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class ApiKeyQuerySet(RestrictedQuerySet):
    def active(self) -> "ApiKeyQuerySet":
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """A partner system's credential for one organisation: shown once, stored as prefix + SHA-256."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scope = models.CharField(_("scope"), max_length=10, choices=ApiKeyScope, default=ApiKeyScope.READ)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class ApiKeyPrincipal:
    """What `request.user` is for a request authenticated by an API key: the organisation, within the key's scope."""

    is_authenticated = True
    is_anonymous = False
    is_superuser = False
    is_staff = False
    is_active = True
    pk = None
    id = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.organization = api_key.organization

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False


class IdempotencyRecord(models.Model):
    """A caller's `Idempotency-Key` on an API POST: claimed while the request runs, then its response for replays."""

    # `api_key:<id>` or `user:<id>`: keys are the caller's own, as at Stripe (core.idempotency).
    principal = models.CharField(_("caller"), max_length=40)
    key = models.CharField(_("key"), max_length=255)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=2000)
    request_hash = models.CharField(_("request SHA-256"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)  # null: still running
    content_type = models.CharField(_("response content type"), max_length=255, blank=True)
    body = models.BinaryField(_("response body"), blank=True, default=b"")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_unique_principal_key"),
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"
