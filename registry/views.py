"""Web pages of the data asset registry: a merchant's products, their versions, documents and certificates, and the
public certificate check.

Every write calls a service from registry.services; every lookup goes through `restrict(user, action)`, so another
organisation's product, version or document answers 404 like a missing one. The masked sample is the only row-level
data any page shows.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.dateparse import parse_datetime
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.choices import VerificationStatus
from accounts.models import Membership
from accounts.web import can, form_status, organization_view, paginate, submit, user_memberships
from core.errors import DomainError
from registry import column_rules, services
from registry.choices import ColumnType, ProductStatus
from registry.forms import CertificateLookupForm, DocumentForm, ProductFilterForm, ProductForm, VersionUploadForm
from registry.masking import mask_free_text, mask_value
from registry.models import DataProduct, ProductVersion, ProfileStatus, SupportingDocument, VersionStatus
from registry.pii import PiiKind
from registry.services import NegativeListViolation

QUALITY_DIMENSIONS = ("completeness", "uniqueness", "validity", "consistency", "timeliness", "overall")
UNUSABLE_STATES = (ProductStatus.SUBMITTED, ProductStatus.REJECTED, ProductStatus.REVOKED)


# --- lookups and permissions ------------------------------------------------------------------------------------


def _product_or_404(request: HttpRequest, pk: int) -> DataProduct:
    products = DataProduct.objects.restrict(request.user, "view").select_related("organization")
    return get_object_or_404(products, pk=pk)


def _version_or_404(request: HttpRequest, pk: int) -> ProductVersion:
    versions = ProductVersion.objects.restrict(request.user, "view").select_related(
        "product__organization", "created_by"
    )
    return get_object_or_404(versions, pk=pk)


def _membership_for(request: HttpRequest, product: DataProduct) -> Membership | None:
    """The user's membership of the organisation owning the product (not necessarily the active one)."""
    return next((m for m in user_memberships(request) if m.organization_id == product.organization_id), None)


def _can_change(request: HttpRequest, product: DataProduct) -> bool:
    """Whether to offer forms and buttons; the services check again and have the last word."""
    membership = _membership_for(request, product)
    return can(membership, "change") and membership.organization.status != VerificationStatus.SUSPENDED


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _error_messages(request: HttpRequest, exc: DomainError | ValidationError) -> int:
    """Show a service's refusal as messages (naming the product field at fault); return the HTTP status."""
    if isinstance(exc, DomainError):
        messages.error(request, str(exc.message))
        return exc.status
    for field, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
        label = _field_label(field)
        for error in errors:
            messages.error(request, _("%(field)s: %(error)s") % {"field": label, "error": error} if label else error)
    return 400


def _field_label(name: str | None) -> str:
    if not name or name == "__all__":
        return ""
    try:
        return capfirst(str(DataProduct._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:  # e.g. "file": the message says enough
        return ""


# --- product list and form --------------------------------------------------------------------------------------


@require_GET
@organization_view
def product_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The active organisation's products, filtered, with the latest version's quality score."""
    filters = ProductFilterForm(request.GET or None)
    latest = ProductVersion.objects.filter(product=OuterRef("pk")).order_by("-number")
    products = filters.filter(
        DataProduct.objects.restrict(request.user, "view").filter(organization=membership.organization)
    ).annotate(
        latest_number=Subquery(latest.values("number")[:1]),
        latest_quality=Subquery(latest.values("quality_score")[:1]),
        latest_profile_status=Subquery(latest.values("profile_status")[:1]),
    )
    context = {
        "membership": membership,
        "organization": membership.organization,
        "can_add": can(membership, "add"),
        "filters": filters,
        "products_page": paginate(request, products),
    }
    return render(request, "registry/product_list.html", context)


@organization_view
def product_create(request: HttpRequest, membership: Membership) -> HttpResponse:
    organization = membership.organization
    if request.method != "POST" and not can(membership, "add"):
        raise PermissionDenied(_("Your role lets you read the organisation's products, not create them."))
    form = ProductForm(request.POST if request.method == "POST" else None)
    product = form.is_valid() and submit(
        request, form, services.product_create, organization=organization, by=request.user, **form.service_data()
    )
    if product:
        messages.success(request, _("The product is saved as a draft. Next, upload a data file."))
        return redirect("registry:product_detail", pk=product.pk)
    context = {"form": form, "organization": organization, "product": None, "profiled": None}
    return render(request, "registry/product_form.html", context, status=form_status(form))


@login_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product_or_404(request, pk)
    if request.method != "POST":
        if not can(_membership_for(request, product), "change"):
            raise PermissionDenied(_("Your role lets you read the product, not change it."))
        if not product.is_editable:
            messages.warning(
                request,
                _("The product is %(status)s: its description cannot be changed now.")
                % {"status": product.get_status_display()},
            )
            return redirect("registry:product_detail", pk=product.pk)
    profiled = _latest_profiled(product)
    form = ProductForm.for_product(
        product,
        request.POST if request.method == "POST" else None,
        column_names=[column.get("name", "") for column in profiled.columns] if profiled else (),
    )
    updated = form.is_valid() and submit(
        request, form, services.product_update, product=product, by=request.user, **form.service_data()
    )
    if updated:
        messages.success(request, _("The changes are saved."))
        return redirect("registry:product_detail", pk=product.pk)
    context = {"form": form, "organization": product.organization, "product": product, "profiled": profiled}
    return render(request, "registry/product_form.html", context, status=form_status(form))


def _latest_profiled(product: DataProduct) -> ProductVersion | None:
    """The newest profiled version: the form offers its column names for the column rules."""
    versions = ProductVersion.objects.filter(product=product, profile_status=ProfileStatus.DONE)
    return versions.only("pk", "number", "profile").order_by("-number").first()


# --- product page -----------------------------------------------------------------------------------------------


@require_GET
@login_required
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _product_page(request, _product_or_404(request, pk))


def _product_page(
    request: HttpRequest,
    product: DataProduct,
    *,
    document_form: DocumentForm | None = None,
    violations: list | None = None,
    status: int = 200,
) -> HttpResponse:
    versions = ProductVersion.objects.restrict(request.user, "view").filter(product=product).order_by("-number")
    # The latest version, and whether any version is under review, in one query.
    latest = versions.annotate(any_under_review=Exists(versions.filter(status=VersionStatus.SUBMITTED))).first()
    documents = SupportingDocument.objects.restrict(request.user, "view").filter(product=product)
    can_change = _can_change(request, product)
    under_review = latest is not None and latest.any_under_review
    context = {
        "product": product,
        "organization": product.organization,
        "can_change": can_change,
        "can_upload": can_change and product.status not in UNUSABLE_STATES and not under_review,
        "can_submit": can_change and product.is_editable,
        "can_submit_version": can_change and _awaits_change_registration(product, latest),
        "can_add_document": can_change and product.is_editable,
        "latest": latest,
        "versions_page": paginate(request, versions.select_related("created_by"), "versions_page"),
        "documents_page": paginate(request, documents.select_related("uploaded_by"), "documents_page"),
        "document_form": document_form or DocumentForm(),
        "violations": violations,
        "certificate": product.certificates.current().first(),
        "tags": product.tags.all(),
        "column_rules": _rule_rows(product.column_rules, latest.columns if latest else ()),
        "upload_error": _upload_error(product.upload_error),
    }
    return render(request, "registry/product_detail.html", context, status=status)


def _rule_rows(rules: dict, columns: list[dict]) -> list[dict[str, str]]:
    """The product's column rules in the latest file's column order, with the type's label."""
    names = [column.get("name", "") for column in columns]
    return [
        {"name": name, "type_label": _type_label(rule.get("type")), "pattern": rule.get("pattern", "")}
        for name, rule in column_rules.ordered(rules, names)
    ]


def _type_label(declared: str | None) -> str:
    return str(ColumnType(declared).label) if declared in ColumnType.values else declared or ""


UPLOAD_ERRORS = {
    "empty": gettext_lazy("The file is empty."),
    "no_rows": gettext_lazy("The file has a header but no data rows."),
    "binary_content": gettext_lazy("The file holds binary data, not text."),
    "encoding": gettext_lazy(
        "The text is not in an accepted encoding (UTF-8, GBK/GB18030, or UTF-16 with a byte-order mark), or bytes "
        "further down the file break it. Save the file as UTF-8 and upload it again."
    ),
    "malformed": gettext_lazy(
        "The file cannot be read as a table: a row has more or fewer fields than the header, or a quote is not closed."
    ),
    "format_mismatch": gettext_lazy("The content does not match the file name's extension."),
    "unsupported_format": gettext_lazy("This format is not supported. JSON files must hold one object per line."),
    "resources": gettext_lazy("The file is too large or too complex to profile. Split it, or contact the exchange."),
}


def _upload_error(error: dict) -> dict | None:
    """The last refused upload for the product page: a message per error code, and the profiler's own words
    without the row it quotes (a file's raw rows are never shown) and with personal information masked."""
    if not error:
        return None
    code = error.get("code", "")
    return {
        "file": error.get("file", ""),
        "code": code,
        "line": error.get("line"),
        "text": UPLOAD_ERRORS.get(code, ""),
        "detail": _error_detail(error.get("message")),
        "at": parse_datetime(error["at"]) if error.get("at") else None,
    }


def _error_detail(message: str | None) -> str:
    """An error message from the profiler or DuckDB without the row of the file it may quote ("Original Line: …"),
    and with personal information masked: a file's raw rows are never shown."""
    lines = str(message or "").splitlines()
    return mask_free_text("\n".join(line for line in lines if not line.strip().lower().startswith("original line")))


def _awaits_change_registration(product: DataProduct, version: ProductVersion | None) -> bool:
    """A new, profiled draft version of a registered product can go to change registration."""
    return (
        product.status == ProductStatus.REGISTERED
        and version is not None
        and version.status == VersionStatus.DRAFT
        and version.is_profiled
    )


@require_POST
@login_required
def product_submit(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product_or_404(request, pk)
    try:
        with transaction.atomic():
            services.product_submit(product=product, by=request.user)
    except NegativeListViolation as exc:
        messages.error(request, _("The negative list does not allow submitting this product yet; see below."))
        return _product_page(request, product, violations=exc.results, status=exc.status)
    except (DomainError, ValidationError) as exc:
        return _product_page(request, product, status=_error_messages(request, exc))
    messages.success(request, _("The product is submitted. A regulator will review it; the decision is shown here."))
    return redirect("registry:product_detail", pk=product.pk)


@require_POST
@login_required
def document_add(request: HttpRequest, pk: int) -> HttpResponse:
    product = _product_or_404(request, pk)
    form = DocumentForm(request.POST, request.FILES)
    document = form.is_valid() and submit(
        request,
        form,
        services.document_add,
        product=product,
        by=request.user,
        title=form.cleaned_data["title"],
        file=form.cleaned_data["file"],
    )
    if document:
        messages.success(request, _("The document “%(title)s” is attached.") % {"title": document.title})
        return redirect(reverse("registry:product_detail", args=[product.pk]) + "#documents")
    return _product_page(request, product, document_form=form, status=form_status(form))


@require_GET
@login_required
def document_download(request: HttpRequest, pk: int) -> FileResponse:
    """Stream a private supporting document to members of the owning organisation; anyone else gets 404."""
    # Members only: `restrict` alone would also let a two-factor superuser in, who reads documents in the admin.
    documents = SupportingDocument.objects.restrict(request.user, "view").filter(
        product__organization__memberships__user=request.user
    )
    document = get_object_or_404(documents, pk=pk)
    if not document.file:
        raise Http404
    filename = document.file.name.rsplit("/", 1)[-1]
    response = FileResponse(document.file.open("rb"), as_attachment=True, filename=filename)
    patch_cache_control(response, private=True, no_store=True)
    return response


# --- versions ---------------------------------------------------------------------------------------------------


@login_required
def version_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """A multipart upload form; registry.js posts it with XMLHttpRequest (Accept: JSON) to show progress."""
    product = _product_or_404(request, pk)
    if request.method != "POST":
        if not can(_membership_for(request, product), "change"):
            raise PermissionDenied(_("Your role lets you read the product, not upload versions."))
        return _upload_page(request, product, VersionUploadForm())
    form = VersionUploadForm(request.POST, request.FILES)
    version = form.is_valid() and submit(
        request, form, services.version_upload, product=product, by=request.user, upload=form.cleaned_data["file"]
    )
    if version:
        return _uploaded(request, product, version)
    if _wants_json(request):
        return _upload_errors_json(request, form)
    return _upload_page(request, product, form, status=form_status(form))


def _upload_page(request: HttpRequest, product: DataProduct, form: VersionUploadForm, status: int = 200):
    context = {
        "product": product,
        "organization": product.organization,
        "form": form,
        "max_upload_bytes": settings.REGISTRY_MAX_UPLOAD_BYTES,
    }
    return render(request, "registry/version_upload.html", context, status=status)


def _uploaded(request: HttpRequest, product: DataProduct, version: ProductVersion) -> HttpResponse:
    """Go to the new version; when profiling already ran (eager Celery) and refused the file, to the product."""
    profile_status = ProductVersion.objects.filter(pk=version.pk).values_list("profile_status", flat=True).first()
    if profile_status is not None:
        # With eager Celery (tests, the one-command run) profiling has already finished here.
        if profile_status == ProfileStatus.DONE:
            text = _("Version %(n)s is uploaded and profiled.")
        else:
            text = _("Version %(n)s is uploaded and is being profiled.")
        messages.success(request, text % {"n": version.number})
        url = reverse("registry:version_detail", args=[version.pk])
    else:
        messages.error(request, _("The file could not be used; see the error below."))
        url = reverse("registry:product_detail", args=[product.pk])
    if _wants_json(request):
        return JsonResponse({"url": url, "version": version.number}, status=201)
    return redirect(url)


def _upload_errors_json(request: HttpRequest, form: VersionUploadForm) -> JsonResponse:
    """The form's errors as the API shapes them: a stable code, a message for people and the field errors."""
    fields = form.errors.get_json_data()
    detail = [str(m) for m in messages.get_messages(request)]  # a DomainError's message; consumed, not shown again
    codes = [e["code"] for errors in fields.values() for e in errors if e.get("code")]
    payload = {
        "code": codes[0] if codes else "invalid",
        "detail": " ".join(detail) or " ".join(e["message"] for errors in fields.values() for e in errors),
        "fields": {name: [e["message"] for e in errors] for name, errors in fields.items()},
    }
    return JsonResponse(payload, status=form_status(form) if detail else 400)


@require_GET
@login_required
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version_or_404(request, pk)
    product = version.product
    latest = ProductVersion.objects.filter(product=product).order_by("-number").first()
    context = {
        "version": version,
        "product": product,
        "organization": product.organization,
        "can_submit_version": _can_change(request, product)
        and latest == version
        and _awaits_change_registration(product, version),
        "can_edit_rules": product.is_editable and _can_change(request, product),
        **_profile_context(version),
    }
    return render(request, "registry/version_detail.html", context)


@require_GET
@login_required
def version_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Profiling progress for the version page to poll; a version removed because its file was refused is gone."""
    version = ProductVersion.objects.restrict(request.user, "view").filter(pk=pk).first()
    if version is None:
        response = JsonResponse({"status": "gone", "progress": 0, "stage": "", "error": None}, status=404)
    else:
        response = JsonResponse(
            {
                "status": version.profile_status,
                "status_label": version.get_profile_status_display(),
                "progress": version.progress,
                "stage": version.progress_stage,
                "stage_label": str(STAGE_LABELS.get(version.progress_stage, version.progress_stage)),
                "error": _error_detail(version.error_message) or None,
            }
        )
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_POST
@login_required
def version_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit a new version of a registered product for change registration."""
    version = _version_or_404(request, pk)
    try:
        with transaction.atomic():
            services.version_submit(version=version, by=request.user)
    except NegativeListViolation as exc:
        messages.error(request, _("The negative list does not allow submitting this version yet; see below."))
        return _product_page(request, version.product, violations=exc.results, status=exc.status)
    except (DomainError, ValidationError) as exc:
        return _product_page(request, version.product, status=_error_messages(request, exc))
    messages.success(request, _("Version %(n)s is submitted for change registration.") % {"n": version.number})
    return redirect("registry:product_detail", pk=version.product_id)


# --- the profile as the version page shows it -----------------------------------------------------------------

STAGE_LABELS = {
    "": "",
    "sniff": gettext_lazy("Recognising the format"),
    "encoding": gettext_lazy("Detecting the encoding"),
    "load": gettext_lazy("Reading the file"),
    "stats": gettext_lazy("Computing column statistics"),
    "quality": gettext_lazy("Scoring quality"),
    "sample": gettext_lazy("Taking a masked sample"),
    "done": gettext_lazy("Done"),
}
DIMENSION_LABELS = {
    "completeness": gettext_lazy("Completeness"),
    "uniqueness": gettext_lazy("Uniqueness"),
    "validity": gettext_lazy("Validity"),
    "consistency": gettext_lazy("Consistency"),
    "timeliness": gettext_lazy("Timeliness"),
    "overall": gettext_lazy("Overall"),
}
PII_LABELS = {
    PiiKind.ID_NUMBER: gettext_lazy("Identity card number"),
    PiiKind.MOBILE: gettext_lazy("Mobile number"),
    PiiKind.BANK_CARD: gettext_lazy("Bank card number"),
    PiiKind.EMAIL: gettext_lazy("E-mail address"),
    PiiKind.PERSON_NAME: gettext_lazy("Person's name"),
}
CONFIDENCE_LABELS = {"high": gettext_lazy("high"), "medium": gettext_lazy("medium"), "low": gettext_lazy("low")}


def _profile_context(version: ProductVersion) -> dict[str, Any]:
    """What the version page draws: quality bars, one row per column, PII findings and the masked sample."""
    if not version.is_profiled:
        return {
            "stage_label": STAGE_LABELS.get(version.progress_stage, version.progress_stage),
            "error_detail": _error_detail(version.error_message),
        }
    findings = _findings_by_column(version.pii_findings)
    names = [column.get("name", "") for column in version.columns]
    return {
        "quality_rows": _quality_rows(version.quality),
        "column_rows": [_column_row(column, findings.get(column.get("name"), [])) for column in version.columns],
        "findings": [finding for column in names for finding in findings.get(column, [])],
        # JSON objects keep no order on PostgreSQL (jsonb): the profile's column order is the table's.
        "sample_columns": names,
        "sample_rows": [[row.get(name) for name in names] for row in version.masked_sample],
        "warnings": version.profile.get("warnings", []),
        **_validity_context(version),
    }


def _validity_context(version: ProductVersion) -> dict[str, Any]:
    """The declared columns and how many of their values did not fit (counts only: no value is shown)."""
    rules = version.profile.get("column_rules", {})
    present = {column.get("name") for column in version.columns}
    rows = [_validity_row(column, version.row_count or 0) for column in version.columns if _is_declared(column)]
    return {
        "validity_rows": rows,
        "validity_failed": [row for row in rows if row["invalid"]],
        "rules_missing": sorted(name for name in rules if name not in present),
        "rules_changed": rules != version.product.column_rules,
    }


def _is_declared(column: dict) -> bool:
    return bool(column.get("declared_type") or column.get("pattern"))


def _validity_row(column: dict, rows: int) -> dict[str, Any]:
    checked = rows - int(column.get("null_count") or 0)
    invalid = int(column.get("invalid_count") or 0)
    return {
        "name": column.get("name", ""),
        "type_label": _type_label(column.get("declared_type")),
        "pattern": column.get("pattern"),
        "checked": checked,
        "invalid": invalid,
        "percent": round(100 * invalid / checked, 1) if checked else 0.0,
    }


def _score_level(score: float) -> str:
    return "good" if score >= 80 else "fair" if score >= 60 else "poor"


def _quality_rows(quality: dict) -> list[dict[str, Any]]:
    rows = []
    for key in QUALITY_DIMENSIONS:
        score = quality.get(key)
        rows.append(
            {
                "key": key,
                "label": DIMENSION_LABELS[key],
                "score": score,
                "width": f"{max(0.0, min(100.0, score)):.1f}" if score is not None else "0",
                "level": _score_level(score) if score is not None else "none",
            }
        )
    return rows


def _findings_by_column(pii_findings: list[dict]) -> dict[str, list[dict]]:
    by_column: dict[str, list[dict]] = {}
    for finding in pii_findings:
        kind = finding.get("kind", "")
        by_column.setdefault(finding.get("column", ""), []).append(
            {
                **finding,
                "kind_label": PII_LABELS.get(kind, kind),
                "confidence_label": CONFIDENCE_LABELS.get(finding.get("confidence"), finding.get("confidence")),
                "percent": round(100 * float(finding.get("match_rate") or 0), 1),
            }
        )
    return by_column


def _column_row(column: dict, findings: list[dict]) -> dict[str, Any]:
    """A column's statistics; min, max and top values of a column holding personal information are values of single
    rows, so they are shown masked, and its mean not at all."""
    kind = findings[0]["kind"] if findings else None
    null_rate = float(column.get("null_rate") or 0)
    top = column.get("top_values")
    return {
        "name": column.get("name", ""),
        "type": column.get("type", ""),
        "null_percent": round(null_rate * 100, 1),
        "null_width": f"{max(0.0, min(100.0, null_rate * 100)):.1f}",
        "distinct": column.get("distinct_count"),
        "min": _safe_value(kind, column.get("min")),
        "max": _safe_value(kind, column.get("max")),
        "mean": None if kind else column.get("mean"),
        "top_values": None if top is None else [(_safe_value(kind, t["value"]), t["count"]) for t in top],
        "findings": findings,
    }


def _safe_value(kind: str | None, value: Any) -> str | None:
    """Profiles are stored masked (registry.tasks.mask_profile); mask again whatever still looks raw, e.g. in
    versions profiled before the task masked them."""
    if value is None:
        return None
    text = str(value)
    if not kind:
        return mask_free_text(text)
    return text if "*" in text else mask_value(PiiKind(kind), text)


# --- certificates (public) --------------------------------------------------------------------------------------


@require_GET
def certificate_lookup(request: HttpRequest) -> HttpResponse:
    """Anyone types a certificate number and is sent to its verification page."""
    form = CertificateLookupForm(request.GET or None)
    if form.is_valid():
        return redirect("registry:certificate_verify", number=form.cleaned_data["number"])
    return render(request, "registry/certificate_lookup.html", {"form": form})


@require_GET
def certificate_verify(request: HttpRequest, number: str) -> HttpResponse:
    """Whether a certificate still vouches for what is registered: anyone may ask, no sign-in."""
    try:
        result = services.certificate_verify(number)
    except DomainError as exc:
        context = {"form": CertificateLookupForm(initial={"number": number}), "not_found": number, "error": exc.message}
        return render(request, "registry/certificate_lookup.html", context, status=404)
    product = result["product"]
    newer = None
    if not result["current"]:
        newer = product.certificates.current().first()
    context = {**result, "verdict": _verdict(result), "newer": newer, "organization": product.organization}
    return render(request, "registry/certificate_detail.html", context)


def _verdict(result: dict) -> str:
    """One word for the page: the product's standing first, then supersession, then the content check."""
    if result["valid"]:
        return "valid"
    if result["product_status"] in (ProductStatus.SUSPENDED, ProductStatus.REVOKED):
        return result["product_status"]
    if not result["current"]:
        return "superseded"
    if not (result["record_intact"] and result["content_matches"]):
        return "changed"
    return "not_registered"
