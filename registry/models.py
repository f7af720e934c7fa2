"""Data products, their versions, negative-list rules and registration certificates."""

import hashlib
import json
import re
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.querysets import RestrictedQuerySet
from core.state import StateMachineMixin
from registry.choices import (
    AcquisitionMethod,
    Classification,
    LicenceTemplate,
    ProductStatus,
    Sector,
    SensitivityLevel,
    UpdateFrequency,
)


class Tag(models.Model):
    """A free keyword merchants attach to products (shared vocabulary, lower case)."""

    name = models.CharField(_("name"), max_length=40, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class DataProductQuerySet(RestrictedQuerySet):
    def registered(self) -> "DataProductQuerySet":
        return self.filter(status=ProductStatus.REGISTERED)

    def in_sector(self, sector: str) -> "DataProductQuerySet":
        return self.filter(sector=sector)

    def awaiting_review(self) -> "DataProductQuerySet":
        return self.filter(status=ProductStatus.SUBMITTED)

    def visible_to(self, user: Any) -> "DataProductQuerySet":
        """Registered products for everyone, plus every product of the user's own organisations."""
        own = self.restrict(user, "view").values("pk")
        return self.filter(models.Q(status=ProductStatus.REGISTERED) | models.Q(pk__in=own))


class DataProduct(StateMachineMixin):
    """A data product an organisation registers: what it is, where it comes from, what rights are claimed."""

    TRANSITIONS: ClassVar = {
        ProductStatus.DRAFT: frozenset({ProductStatus.SUBMITTED}),
        ProductStatus.SUBMITTED: frozenset(
            {ProductStatus.CHANGES_REQUESTED, ProductStatus.REGISTERED, ProductStatus.REJECTED}
        ),
        ProductStatus.CHANGES_REQUESTED: frozenset({ProductStatus.SUBMITTED}),
        ProductStatus.REGISTERED: frozenset({ProductStatus.SUSPENDED, ProductStatus.REVOKED}),
        ProductStatus.SUSPENDED: frozenset({ProductStatus.REGISTERED, ProductStatus.REVOKED}),
    }
    EDITABLE_STATES = frozenset({ProductStatus.DRAFT, ProductStatus.CHANGES_REQUESTED})

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="products")
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    sector = models.CharField(_("sector"), max_length=30, choices=Sector, db_index=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="products")
    acquisition_method = models.CharField(_("source and acquisition"), max_length=30, choices=AcquisitionMethod)
    acquisition_note = models.TextField(_("how the data was obtained"), blank=True)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    right_holding = models.BooleanField(_("resource holding right"), default=False)
    right_processing = models.BooleanField(_("processing and use right"), default=False)
    right_operation = models.BooleanField(_("product operation right"), default=False)
    classification = models.CharField(
        _("classification"), max_length=20, choices=Classification, default=Classification.GENERAL
    )
    sensitivity_level = models.PositiveSmallIntegerField(
        _("sensitivity level"), choices=SensitivityLevel, default=SensitivityLevel.INTERNAL
    )
    has_personal_info = models.BooleanField(_("contains personal information"), default=False)
    deidentification_note = models.TextField(_("how personal information was de-identified"), blank=True)
    update_frequency = models.CharField(_("update frequency"), max_length=20, choices=UpdateFrequency)
    coverage_start = models.DateField(_("covers from"), null=True, blank=True)
    coverage_end = models.DateField(_("covers until"), null=True, blank=True)
    spatial_coverage = models.CharField(_("area covered"), max_length=200, blank=True)
    licence_template = models.CharField(
        _("licence template"), max_length=20, choices=LicenceTemplate, default=LicenceTemplate.STANDARD
    )
    contact_name = models.CharField(_("contact person"), max_length=100)
    contact_email = models.EmailField(_("contact e-mail"))
    status = models.CharField(
        _("status"), max_length=20, choices=ProductStatus, default=ProductStatus.DRAFT, db_index=True
    )
    status_reason = models.TextField(_("reason for the last decision"), blank=True)
    column_rules = models.JSONField(
        _("column rules"),
        default=dict,
        blank=True,
        help_text=_("Column name → declared type and optional pattern, checked when a file is profiled (validity)."),
    )
    rule_results = models.JSONField(_("negative-list check"), default=list, blank=True)
    upload_error = models.JSONField(_("last failed upload"), default=dict, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = DataProductQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("data product")
        verbose_name_plural = _("data products")
        indexes = [models.Index(fields=["status", "sector"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE_STATES

    @property
    def rights_claimed(self) -> list[str]:
        fields = ["right_holding", "right_processing", "right_operation"]
        return [str(self._meta.get_field(f).verbose_name) for f in fields if getattr(self, f)]

    @property
    def sandbox_only(self) -> bool:
        """Level-4 data may only be offered through the sandbox (a built-in negative-list restriction)."""
        return self.sensitivity_level >= SensitivityLevel.HIGHLY_SENSITIVE

    def on_transition(self, old: str, new: str) -> None:
        now = timezone.now()
        if new == ProductStatus.SUBMITTED:
            self.submitted_at = now
        elif new == ProductStatus.REGISTERED and old == ProductStatus.SUBMITTED:
            self.registered_at = now


def document_upload_to(instance: "SupportingDocument", filename: str) -> str:
    return f"private/products/{instance.product_id}/documents/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class SupportingDocument(models.Model):
    """A document backing the legal basis or the rights claimed (contract, authorisation, consent form)."""

    product = models.ForeignKey(DataProduct, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=document_upload_to)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at"]
        verbose_name = _("supporting document")
        verbose_name_plural = _("supporting documents")

    def __str__(self) -> str:
        return self.title


class ProfileStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be profiled")
    RUNNING = "running", _("Profiling")
    DONE = "done", _("Profiled")
    FAILED = "failed", _("Profiling failed")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Under review")
    REGISTERED = "registered", _("Registered")
    REJECTED = "rejected", _("Rejected")


class ProductVersionQuerySet(RestrictedQuerySet):
    def registered(self) -> "ProductVersionQuerySet":
        return self.filter(status=VersionStatus.REGISTERED)


class ProductVersion(models.Model):
    """One uploaded file of a product: its digest, profile, quality, PII findings and masked sample."""

    product = models.ForeignKey(DataProduct, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    file = models.FileField(_("file"), max_length=300)
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    file_format = models.CharField(_("format"), max_length=10)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    status = models.CharField(_("review"), max_length=20, choices=VersionStatus, default=VersionStatus.DRAFT)
    profile_status = models.CharField(
        _("profiling"), max_length=20, choices=ProfileStatus, default=ProfileStatus.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    progress_stage = models.CharField(_("stage"), max_length=30, blank=True)
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    row_count = models.PositiveBigIntegerField(_("rows"), null=True, blank=True)
    profile = models.JSONField(_("profile"), default=dict, blank=True)
    quality_score = models.FloatField(_("quality score"), null=True, blank=True)
    pii_findings = models.JSONField(_("personal information found"), default=list, blank=True)
    masked_sample = models.JSONField(_("masked sample"), default=list, blank=True)
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    review_reason = models.TextField(_("reason for the last decision"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    objects = ProductVersionQuerySet.as_manager()

    class Meta:
        ordering = ["product", "-number"]
        verbose_name = _("product version")
        verbose_name_plural = _("product versions")
        constraints = [models.UniqueConstraint(fields=["product", "number"], name="version_unique_number")]

    def __str__(self) -> str:
        return f"{self.product} v{self.number}"

    @property
    def is_profiled(self) -> bool:
        return self.profile_status == ProfileStatus.DONE

    @property
    def quality(self) -> dict:
        return self.profile.get("quality", {}) if self.profile else {}

    @property
    def columns(self) -> list[dict]:
        return self.profile.get("columns", []) if self.profile else []


class RuleKind(models.TextChoices):
    CORE_DATA = "core_data", _("Built in: core data cannot be registered for trading")
    PII_NOT_DEIDENTIFIED = "pii_not_deidentified", _("Built in: personal information must be de-identified")
    LEVEL4_SANDBOX_ONLY = "level4_sandbox_only", _("Built in: level-4 data only through the sandbox")
    CUSTOM = "custom", _("Custom rule")


class RuleOutcome(models.TextChoices):
    PASS = "pass", _("Passed")
    FAIL = "fail", _("Failed")
    RESTRICT = "restrict", _("Passed with a restriction")


class NegativeListRule(models.Model):
    """A rule of the data-trading negative list; custom rules match by sector, column name pattern or PII kind."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=RuleKind, default=RuleKind.CUSTOM)
    message = models.TextField(_("message shown to the merchant"))
    sector = models.CharField(_("sector"), max_length=30, choices=Sector, blank=True)
    column_pattern = models.CharField(
        _("column name pattern"), max_length=200, blank=True, help_text=_("A regular expression, case-insensitive.")
    )
    pii_kind = models.CharField(_("personal information kind"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("negative-list rule")
        verbose_name_plural = _("negative-list rules")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from registry.pii import PiiKind

        errors = {}
        if self.column_pattern:
            try:
                re.compile(self.column_pattern)
            except re.error as exc:
                errors["column_pattern"] = _("Not a valid regular expression: %(error)s") % {"error": exc}
        if self.pii_kind and self.pii_kind not in {k.value for k in PiiKind}:
            errors["pii_kind"] = _("Unknown kind of personal information.")
        if self.kind == RuleKind.CUSTOM and not (self.sector or self.column_pattern or self.pii_kind):
            errors["sector"] = _(
                "A custom rule needs a sector, a column name pattern or a kind of personal information."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def is_builtin(self) -> bool:
        return self.kind != RuleKind.CUSTOM


class CertificateQuerySet(models.QuerySet):
    def current(self) -> "CertificateQuerySet":
        return self.filter(superseded_at__isnull=True)


class RegistrationCertificate(models.Model):
    """Proof of registration: a number, a time and the SHA-256 fingerprint of what was registered."""

    product = models.ForeignKey(DataProduct, on_delete=models.PROTECT, related_name="certificates")
    version = models.ForeignKey(ProductVersion, on_delete=models.PROTECT, related_name="certificates")
    number = models.CharField(_("certificate number"), max_length=20, unique=True)
    issued_at = models.DateTimeField(_("issued at"))
    payload = models.JSONField(_("registered content"))
    fingerprint = models.CharField(_("fingerprint (SHA-256)"), max_length=64)
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("registration certificate")
        verbose_name_plural = _("registration certificates")

    def __str__(self) -> str:
        return self.number


def canonical_json(data: Any) -> str:
    """Sorted keys, no spaces, UTF-8: the form fingerprints are computed over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fingerprint(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()
