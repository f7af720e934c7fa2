"""Write operations of the registry: products, versions, submission, regulator decisions and certificates."""

import logging
import re
from collections.abc import Callable
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organization, User
from accounts.services import grant_to_organization, person_of, require_regulator, require_role, require_verified
from audit.services import audit_record
from core.errors import DomainError, NotFoundError
from registry import encoding as enc
from registry import rules
from registry.choices import AcquisitionMethod, ProductStatus
from registry.column_rules import clean_column_rules
from registry.models import (
    DataProduct,
    ProductVersion,
    ProfileStatus,
    RegistrationCertificate,
    SupportingDocument,
    Tag,
    VersionStatus,
    fingerprint,
)
from registry.storage import HashingFile, read_head

logger = logging.getLogger(__name__)

PRODUCT_FIELDS = frozenset({
    "title", "summary", "description", "sector", "acquisition_method", "acquisition_note", "legal_basis",
    "right_holding", "right_processing", "right_operation", "classification", "sensitivity_level",
    "has_personal_info", "deidentification_note", "update_frequency", "coverage_start", "coverage_end",
    "spatial_coverage", "licence_template", "contact_name", "contact_email",
})  # fmt: skip
ALLOWED_SUFFIXES = {".csv", ".tsv", ".tab", ".parquet", ".pq", ".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
# What a refused file looks like, when registry.encoding words it rather than names an encoding.
DETECTED_ENCODINGS = {
    enc.SINGLE_BYTE: gettext_lazy("a single-byte encoding such as Latin-1 or Windows-1252"),
    enc.UTF16_NO_BOM: gettext_lazy("UTF-16 without a byte-order mark"),
}
DOCUMENT_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".docx", ".xlsx", ".odt", ".ods", ".txt"}
TAG_RE = re.compile(r"^[\w\-\u4e00-\u9fff ]{1,40}$")


class ProductNotEditable(DomainError):
    code = "product_not_editable"
    status = 409


class AlreadySubmitted(DomainError):
    code = "already_submitted"
    status = 409


# --- products ---------------------------------------------------------------------------------------------------


def _apply_fields(product: DataProduct, fields: dict[str, Any]) -> list[str]:
    unknown = set(fields) - PRODUCT_FIELDS - {"tags"}
    if unknown:
        raise ValidationError(_("These fields cannot be set: %(f)s") % {"f": ", ".join(sorted(unknown))})
    changed = [k for k, v in fields.items() if k != "tags" and getattr(product, k) != v]
    for key in changed:
        setattr(product, key, fields[key])
    _clean_product(product)
    return changed


def _clean_product(product: DataProduct) -> None:
    product.full_clean(exclude=["organization", "created_by", "tags"])
    errors = {}
    if product.acquisition_method == AcquisitionMethod.OTHER and not product.acquisition_note.strip():
        errors["acquisition_note"] = _("Explain how the data was obtained.")
    if product.coverage_start and product.coverage_end and product.coverage_start > product.coverage_end:
        errors["coverage_end"] = _("The coverage cannot end before it starts.")
    if errors:
        raise ValidationError(errors)


def _set_tags(product: DataProduct, tags: list[str] | None) -> None:
    if tags is None:
        return
    names = sorted({t.strip().lower() for t in tags if t.strip()})
    bad = [t for t in names if not TAG_RE.match(t)]
    if bad or len(names) > 20:
        raise ValidationError({"tags": _("Up to 20 tags of letters, digits, spaces and hyphens (40 characters).")})
    product.tags.set([Tag.objects.get_or_create(name=name)[0] for name in names])


def _set_column_rules(product: DataProduct, column_rules: dict | None) -> bool:
    """Replace the column rules (None leaves them); True when they changed. New uploads are profiled with them."""
    if column_rules is None:
        return False
    cleaned = clean_column_rules(column_rules)
    changed, product.column_rules = cleaned != product.column_rules, cleaned
    return changed


@transaction.atomic
def product_create(
    *,
    organization: Organization,
    by: User,
    tags: list[str] | None = None,
    column_rules: dict | None = None,
    **fields: Any,
) -> DataProduct:
    """Create a draft product (unverified organisations may draft; they cannot submit)."""
    require_role(user=by, organization=organization, action="add")
    product = DataProduct(organization=organization, created_by=person_of(by))
    _set_column_rules(product, column_rules)
    _apply_fields(product, fields)
    product.save()
    _set_tags(product, tags)
    grant_to_organization(product, organization)
    audit_record(
        action="dataproduct.created",
        obj=product,
        actor=by,
        organization_id=organization.pk,
        data={"title": product.title, "sector": product.sector},
    )
    return product


@transaction.atomic
def product_update(
    *, product: DataProduct, by: User, tags: list[str] | None = None, column_rules: dict | None = None, **fields: Any
) -> DataProduct:
    """Change a draft (or a product whose changes were requested); registered metadata is frozen."""
    product = DataProduct.objects.select_for_update().select_related("organization").get(pk=product.pk)
    require_role(user=by, organization=product.organization, action="change")
    _require_editable(product)
    rules_changed = _set_column_rules(product, column_rules)
    changed = _apply_fields(product, fields) + (["column_rules"] if rules_changed else [])
    product.save()
    _set_tags(product, tags)
    audit_record(
        action="dataproduct.updated",
        obj=product,
        actor=by,
        organization_id=product.organization_id,
        data={"fields": sorted(changed) + (["tags"] if tags is not None else [])},
    )
    return product


def _require_editable(product: DataProduct) -> None:
    if not product.is_editable:
        raise ProductNotEditable(
            _("“%(title)s” is %(status)s and cannot be changed now.")
            % {"title": product.title, "status": product.get_status_display()}
        )


@transaction.atomic
def document_add(*, product: DataProduct, by: User, title: str, file: UploadedFile) -> SupportingDocument:
    """Attach a supporting document (legal basis, authorisation, consent) to an editable product."""
    product = DataProduct.objects.select_for_update().get(pk=product.pk)
    require_role(user=by, organization=product.organization, action="change")
    _require_editable(product)
    _check_file_name(file.name)
    if PurePosixPath(file.name).suffix.lower() not in DOCUMENT_SUFFIXES:
        raise _file_error(_("Upload the document as PDF, an image, a Word or Excel file, or plain text."), "file_type")
    document = SupportingDocument(product=product, title=title.strip() or file.name, uploaded_by=person_of(by))
    document.full_clean(exclude=["file"])
    document.file.save(PurePosixPath(file.name).name, file, save=False)
    document.save()
    grant_to_organization(document, product.organization)
    audit_record(
        action="supportingdocument.added",
        obj=document,
        actor=by,
        organization_id=product.organization_id,
        data={"product": product.pk, "title": document.title},
    )
    return document


# --- versions ---------------------------------------------------------------------------------------------------


def _file_error(message: str, code: str) -> ValidationError:
    return ValidationError({"file": ValidationError(message, code=code)})


def _check_file_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name != PureWindowsPath(name).name or name.startswith("."):
        raise _file_error(_("The file name must be a plain name, without folders."), "file_name")
    if len(name) > 200:
        raise _file_error(_("The file name is too long (200 characters at most)."), "file_name")
    return name


def _check_upload(upload: UploadedFile) -> str:
    """Cheap checks before anything is stored; the full parse happens in the profiling task."""
    name = _check_file_name(upload.name)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise _file_error(_("Upload CSV, TSV, Parquet or JSON Lines."), "file_type")
    if upload.size == 0:
        raise _file_error(_("The file is empty."), "empty")
    if upload.size > settings.REGISTRY_MAX_UPLOAD_BYTES:
        limit = settings.REGISTRY_MAX_UPLOAD_BYTES // (1024 * 1024)
        raise _file_error(_("The file is larger than the limit of %(mb)s MiB.") % {"mb": limit}, "file_too_large")
    if suffix in PARQUET_SUFFIXES:
        return name
    head = read_head(upload)
    if head.startswith(b"PAR1") or enc.looks_binary(head):
        raise _file_error(_("This is not a text file: it looks like binary data."), "binary")
    _check_encoding(read_head(upload, enc.ENCODING_SAMPLE_BYTES))
    return name


def _check_encoding(sample: bytes) -> None:
    """Only UTF-8, GBK/GB18030 and UTF-16 with a BOM are read (registry.encoding); say what else the file looks like.

    The profiling task judges the same sample the same way, and also refuses a file whose later bytes break it.
    """
    try:
        enc.sniff_encoding(sample)
    except enc.UndecodableError as exc:
        detected = getattr(exc, "detected", None)
        label = DETECTED_ENCODINGS.get(detected, detected)
        message = (
            _("The text encoding of the file looks like %(encoding)s.") % {"encoding": label}
            if label
            else _("The file is not text in any encoding we recognise.")
        )
        accepted = _("Only UTF-8 and GBK/GB18030 text is accepted (and UTF-16 with a byte-order mark); "
                     "save the file as UTF-8 and upload it again.")  # fmt: skip
        raise _file_error(f"{message} {accepted}", "encoding") from exc


def version_upload(*, product: DataProduct, by: User, upload: UploadedFile) -> ProductVersion:
    """Store a new version, streaming it to storage and hashing it in the same pass, then queue its profiling.

    Storage is not transactional: if anything after the file is stored fails, the file is deleted again.
    """
    stored: list[str] = []
    try:
        return _version_upload(product=product, by=by, upload=upload, stored=stored)
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise


@transaction.atomic
def _version_upload(*, product: DataProduct, by: User, upload: UploadedFile, stored: list[str]) -> ProductVersion:
    product = DataProduct.objects.select_for_update().select_related("organization").get(pk=product.pk)
    require_role(user=by, organization=product.organization, action="change")
    _require_uploadable(product)
    name = _check_upload(upload)
    number = (product.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = ProductVersion(
        product=product,
        number=number,
        original_name=name,
        size=upload.size,
        sha256="",
        file_format=PurePosixPath(name).suffix.lower().lstrip("."),
        created_by=person_of(by),
    )
    hashing = HashingFile(upload)
    path = f"private/products/{product.organization_id}/{product.pk}/v{number}/{name}"
    version.file.save(path, hashing, save=False)
    stored.append(version.file.name)
    version.sha256 = hashing.sha256.hexdigest()
    version.save()
    grant_to_organization(version, product.organization)
    if product.upload_error:
        DataProduct.objects.filter(pk=product.pk).update(upload_error={})
    audit_record(
        action="productversion.uploaded",
        obj=version,
        actor=by,
        organization_id=product.organization_id,
        data={"product": product.pk, "number": number, "sha256": version.sha256, "size": version.size},
    )
    transaction.on_commit(lambda: _queue_profile(version.pk))
    return version


def _require_uploadable(product: DataProduct) -> None:
    if product.status in (ProductStatus.SUBMITTED, ProductStatus.REJECTED, ProductStatus.REVOKED):
        raise ProductNotEditable(
            _("No new version can be uploaded while the product is %(status)s.")
            % {"status": product.get_status_display()}
        )
    if product.versions.filter(status=VersionStatus.SUBMITTED).exists():
        raise ProductNotEditable(_("A version of this product is under review."))


def _queue_profile(version_id: int) -> None:
    from registry.tasks import version_profile

    version_profile.delay(version_id)


# --- profiling results (called by registry.tasks) --------------------------------------------------------------


def version_progress(*, version_id: int, percent: int, stage: str) -> None:
    """Record profiling progress; its own tiny write so pages and the API can poll it."""
    ProductVersion.objects.filter(pk=version_id).update(
        progress=percent, progress_stage=stage, profile_status=ProfileStatus.RUNNING
    )


@transaction.atomic
def version_profiled(
    *, version_id: int, profile: dict, pii_findings: list[dict], masked_sample: list[dict], encoding: str | None
) -> ProductVersion:
    """Store a finished profile; only the masked sample is kept, never raw rows."""
    version = ProductVersion.objects.select_for_update().select_related("product").get(pk=version_id)
    version.profile = profile
    version.row_count = profile.get("row_count")
    version.quality_score = (profile.get("quality") or {}).get("overall")
    version.pii_findings, version.masked_sample = pii_findings, masked_sample
    version.encoding = encoding or ""
    version.profile_status, version.progress, version.progress_stage = ProfileStatus.DONE, 100, "done"
    version.error_code = version.error_message = ""
    version.save()
    audit_record(
        action="productversion.profiled",
        obj=version,
        organization_id=version.product.organization_id,
        data={
            "rows": version.row_count,
            "quality": version.quality_score,
            "pii": sorted({f["kind"] for f in pii_findings}),
        },
    )
    return version


@transaction.atomic
def version_rejected_file(*, version_id: int, code: str, message: str, line: int | None) -> None:
    """The file itself is unusable (empty, ragged, binary, undecodable): remove the version and its file."""
    version = ProductVersion.objects.select_for_update().select_related("product").filter(pk=version_id).first()
    if version is None:
        return
    product, name = version.product, version.file.name
    error = {
        "file": version.original_name,
        "code": code,
        "message": message,
        "line": line,
        "at": timezone.now().isoformat(),
    }
    DataProduct.objects.filter(pk=product.pk).update(upload_error=error)
    audit_record(
        action="productversion.file_rejected", obj=version, organization_id=product.organization_id, data=error
    )
    version.delete()
    transaction.on_commit(lambda: default_storage.delete(name))


@transaction.atomic
def version_profile_failed(*, version_id: int, message: str) -> None:
    """Profiling broke for another reason (a bug, resources): keep the version, marked failed with the reason."""
    version = ProductVersion.objects.select_for_update().select_related("product").get(pk=version_id)
    version.profile_status, version.error_code, version.error_message = ProfileStatus.FAILED, "internal", message
    version.save(update_fields=["profile_status", "error_code", "error_message"])
    audit_record(
        action="productversion.profile_failed",
        obj=version,
        organization_id=version.product.organization_id,
        data={"message": message},
    )


# --- submission and review --------------------------------------------------------------------------------------


class NegativeListViolation(DomainError):
    """Submission refused by the negative list; `results` names each failing rule."""

    code = "negative_list"
    status = 422

    def __init__(self, failing: list[rules.RuleResult]) -> None:
        self.results = failing
        names = "; ".join(f"{r.name}: {r.message}" for r in failing)
        super().__init__(_("The negative list forbids this: %(rules)s") % {"rules": names})


def _latest_version(product: DataProduct, status: str = VersionStatus.DRAFT) -> ProductVersion:
    version = product.versions.filter(status=status).order_by("-number").first()
    if version is None:
        raise DomainError(_("Upload a data file before submitting."), code="no_version")
    if version.profile_status != ProfileStatus.DONE:
        raise DomainError(_("Wait until version %(n)s has been profiled.") % {"n": version.number}, code="not_profiled")
    return version


def _check_submission(product: DataProduct, version: ProductVersion) -> list[rules.RuleResult]:
    errors = {}
    if not (product.right_holding or product.right_processing or product.right_operation):
        errors["right_holding"] = _("Claim at least one data right.")
    if not product.legal_basis.strip():
        errors["legal_basis"] = _("State the legal basis for holding and trading the data.")
    if errors:
        raise ValidationError(errors)
    results = rules.evaluate(product, version)
    product.rule_results = [r.as_dict() for r in results]
    failing = rules.failures(results)
    if failing:
        raise NegativeListViolation(failing)
    return results


@transaction.atomic
def product_submit(*, product: DataProduct, by: User) -> DataProduct:
    """Submit a product with its latest profiled version for registration, after the negative list passes."""
    product = DataProduct.objects.select_for_update().select_related("organization").get(pk=product.pk)
    require_role(user=by, organization=product.organization, action="change")
    require_verified(product.organization)
    if product.status not in product.EDITABLE_STATES:
        raise AlreadySubmitted(
            _("“%(title)s” is already %(status)s.") % {"title": product.title, "status": product.get_status_display()}
        )
    version = _latest_version(product)
    results = _check_submission(product, version)
    version.status = VersionStatus.SUBMITTED
    version.save(update_fields=["status"])
    product.status_reason = ""
    product.transition_to(
        ProductStatus.SUBMITTED, by=by, data={"version": version.number, "rules": [r.as_dict() for r in results]}
    )
    return product


def _decision(product: DataProduct, new: str, *, by: User, reason: str) -> DataProduct:
    require_regulator(by)
    if not reason.strip():
        raise ValidationError({"reason": _("A reason is required; the merchant will see it.")}, code="required")
    product = DataProduct.objects.select_for_update().select_related("organization").get(pk=product.pk)
    product.status_reason = reason.strip()
    product.transition_to(new, by=by, reason=product.status_reason)
    return product


@transaction.atomic
def product_approve(*, product: DataProduct, by: User, reason: str) -> RegistrationCertificate:
    """Register the product and its submitted version, and issue the certificate."""
    product = _decision(product, ProductStatus.REGISTERED, by=by, reason=reason)
    version = product.versions.select_for_update().get(status=VersionStatus.SUBMITTED)
    _register_version(version, by=by, reason=product.status_reason)
    return certificate_issue(product=product, version=version, by=by)


@transaction.atomic
def product_request_changes(*, product: DataProduct, by: User, reason: str) -> DataProduct:
    """Send the product back to the merchant; the submitted version becomes a draft again."""
    product = _decision(product, ProductStatus.CHANGES_REQUESTED, by=by, reason=reason)
    product.versions.filter(status=VersionStatus.SUBMITTED).update(status=VersionStatus.DRAFT)
    return product


@transaction.atomic
def product_reject(*, product: DataProduct, by: User, reason: str) -> DataProduct:
    """Refuse registration for good."""
    product = _decision(product, ProductStatus.REJECTED, by=by, reason=reason)
    product.versions.filter(status=VersionStatus.SUBMITTED).update(status=VersionStatus.REJECTED)
    return product


# Apps built on the registry subscribe here from their AppConfig.ready() (the marketplace delists the product's
# listings). The registry cannot import them (dependencies point one way), so it calls them: in the same
# transaction, so a withdrawal and what follows from it commit together or not at all.
WITHDRAWAL_HOOKS: list[Callable[..., None]] = []


def on_product_withdrawn(hook: Callable[..., None]) -> Callable[..., None]:
    """Register `hook(product=..., by=..., reason=...)`, called when a product is suspended or revoked."""
    if hook not in WITHDRAWAL_HOOKS:
        WITHDRAWAL_HOOKS.append(hook)
    return hook


def _withdrawn(product: DataProduct, *, by: User, reason: str) -> DataProduct:
    for hook in WITHDRAWAL_HOOKS:
        hook(product=product, by=by, reason=reason)
    return product


@transaction.atomic
def product_suspend(*, product: DataProduct, by: User, reason: str) -> DataProduct:
    """Take a registered product off the market while a question is settled."""
    return _withdrawn(_decision(product, ProductStatus.SUSPENDED, by=by, reason=reason), by=by, reason=reason)


@transaction.atomic
def product_reinstate(*, product: DataProduct, by: User, reason: str) -> DataProduct:
    """Lift a suspension."""
    return _decision(product, ProductStatus.REGISTERED, by=by, reason=reason)


@transaction.atomic
def product_revoke(*, product: DataProduct, by: User, reason: str) -> DataProduct:
    """Revoke the registration for good; its certificate stops verifying."""
    return _withdrawn(_decision(product, ProductStatus.REVOKED, by=by, reason=reason), by=by, reason=reason)


def _register_version(version: ProductVersion, *, by: User, reason: str) -> None:
    version.status, version.registered_at, version.review_reason = VersionStatus.REGISTERED, timezone.now(), reason
    version.save(update_fields=["status", "registered_at", "review_reason"])
    audit_record(
        action="productversion.registered",
        obj=version,
        actor=by,
        organization_id=version.product.organization_id,
        data={"number": version.number, "sha256": version.sha256},
    )


# --- change registration of a new version of a registered product -----------------------------------------------

# Like WITHDRAWAL_HOOKS: apps built on the registry subscribe from their AppConfig.ready() (the marketplace reindexes
# the product's published listings) and are called in the approval's transaction.
CHANGE_HOOKS: list[Callable[..., None]] = []


def on_product_changed(hook: Callable[..., None]) -> Callable[..., None]:
    """Register `hook(product=..., by=...)`, called when a change registration of a registered product is approved."""
    if hook not in CHANGE_HOOKS:
        CHANGE_HOOKS.append(hook)
    return hook


def _changed(product: DataProduct, *, by: User) -> None:
    for hook in CHANGE_HOOKS:
        hook(product=product, by=by)


@transaction.atomic
def version_submit(*, version: ProductVersion, by: User) -> ProductVersion:
    """Submit a new version of a registered product for change registration (buyers see it only once approved)."""
    version = ProductVersion.objects.select_for_update().select_related("product__organization").get(pk=version.pk)
    product = version.product
    require_role(user=by, organization=product.organization, action="change")
    require_verified(product.organization)
    if product.status != ProductStatus.REGISTERED:
        raise DomainError(
            _("Only a new version of a registered product goes through change registration."), code="not_registered"
        )
    if version.status != VersionStatus.DRAFT:
        raise AlreadySubmitted(
            _("Version %(n)s is already %(status)s.") % {"n": version.number, "status": version.get_status_display()}
        )
    latest = _latest_version(product)
    if latest.pk != version.pk:
        raise DomainError(_("Submit the latest version."), code="not_latest")
    results = _check_submission(product, version)
    product.save(update_fields=["rule_results", "updated_at"])
    version.status, version.review_reason = VersionStatus.SUBMITTED, ""
    version.save(update_fields=["status", "review_reason"])
    audit_record(
        action="productversion.submitted",
        obj=version,
        actor=by,
        organization_id=product.organization_id,
        data={"number": version.number, "rules": [r.as_dict() for r in results]},
    )
    return version


@transaction.atomic
def version_approve(*, version: ProductVersion, by: User, reason: str) -> RegistrationCertificate:
    """Approve a change registration: the version is registered and a new certificate supersedes the old one."""
    require_regulator(by)
    version = ProductVersion.objects.select_for_update().select_related("product").get(pk=version.pk)
    if version.status != VersionStatus.SUBMITTED or version.product.status != ProductStatus.REGISTERED:
        raise DomainError(_("This version is not awaiting change registration."), code="invalid_transition")
    _require_reason(reason)
    version.review_reason = reason.strip()
    _register_version(version, by=by, reason=version.review_reason)
    certificate = certificate_issue(product=version.product, version=version, by=by)
    _changed(version.product, by=by)
    return certificate


@transaction.atomic
def version_reject(*, version: ProductVersion, by: User, reason: str) -> ProductVersion:
    """Refuse a change registration; buyers keep seeing the previously registered version."""
    require_regulator(by)
    version = ProductVersion.objects.select_for_update().select_related("product").get(pk=version.pk)
    if version.status != VersionStatus.SUBMITTED or version.product.status != ProductStatus.REGISTERED:
        raise DomainError(_("This version is not awaiting change registration."), code="invalid_transition")
    _require_reason(reason)
    version.status, version.review_reason = VersionStatus.REJECTED, reason.strip()
    version.save(update_fields=["status", "review_reason"])
    audit_record(
        action="productversion.rejected",
        obj=version,
        actor=by,
        organization_id=version.product.organization_id,
        data={"reason": reason.strip()},
    )
    return version


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise ValidationError({"reason": _("A reason is required; the merchant will see it.")}, code="required")


# --- certificates -----------------------------------------------------------------------------------------------


def certificate_payload(product: DataProduct) -> dict:
    """What a certificate vouches for: the registered metadata and the digests of every registered version."""
    versions = product.versions.filter(status=VersionStatus.REGISTERED).order_by("number")
    return {
        "product": product.pk,
        "organization": {"name": product.organization.name, "credit_code": product.organization.credit_code},
        **{name: getattr(product, name) for name in sorted(PRODUCT_FIELDS)},
        "tags": sorted(product.tags.values_list("name", flat=True)),
        "versions": [{"number": v.number, "sha256": v.sha256, "size": v.size} for v in versions],
    }


def certificate_issue(*, product: DataProduct, version: ProductVersion, by: User) -> RegistrationCertificate:
    """Issue the product's current certificate (superseding the previous one) with its fingerprint."""
    now = timezone.now()
    product.certificates.filter(superseded_at__isnull=True).update(superseded_at=now)
    payload = _json_round_trip(certificate_payload(product))
    certificate = RegistrationCertificate.objects.create(
        product=product,
        version=version,
        number=f"pending-{product.pk}-{version.pk}",
        issued_at=now,
        payload=payload,
        fingerprint=fingerprint(payload),
    )
    certificate.number = f"DB-{now:%Y}-{certificate.pk:06d}"
    certificate.save(update_fields=["number"])
    audit_record(
        action="registrationcertificate.issued",
        obj=certificate,
        actor=by,
        organization_id=product.organization_id,
        data={"number": certificate.number, "fingerprint": certificate.fingerprint},
    )
    return certificate


def _json_round_trip(data: dict) -> dict:
    import json

    from registry.models import canonical_json

    return json.loads(canonical_json(data))


def certificate_verify(number: str) -> dict:
    """Does the registered content still match the certificate? Anyone may ask, by number."""
    cert = (
        RegistrationCertificate.objects.select_related("product__organization", "version")
        .filter(number=number.strip().upper())
        .first()
    )
    if cert is None:
        raise NotFoundError(_("No certificate has this number."), code="certificate_not_found")
    product = cert.product
    intact = fingerprint(cert.payload) == cert.fingerprint
    current = fingerprint(_json_round_trip(certificate_payload(product))) == cert.fingerprint
    valid = intact and current and cert.superseded_at is None and product.status == ProductStatus.REGISTERED
    return {
        "certificate": cert,
        "product": product,
        "record_intact": intact,
        "content_matches": current,
        "current": cert.superseded_at is None,
        "product_status": product.status,
        "valid": valid,
    }
