"""Regulator console for the registry: the registration and change-registration queues, rules and certificates.

Everything merchants wrote (titles, notes, column names, sample values) reaches the page only through
`format_html`/`format_html_join` or Django's own escaping. Raw data never does: the sample shown is the stored
masked sample, and the extremes of the profile are masked like the sample before they are shown.
"""

import json
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, OuterRef, Subquery
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent
from core.admin import Decision, DecisionAdminMixin
from core.errors import DomainError
from registry import column_rules, rule_services, rules, services
from registry.choices import ColumnType, ProductStatus
from registry.masking import HIDDEN, mask_free_text, mask_value
from registry.models import (
    DataProduct,
    NegativeListRule,
    ProductVersion,
    RegistrationCertificate,
    RuleOutcome,
    VersionStatus,
)
from registry.pii import PiiKind

AUDIT_TRAIL_LIMIT = 50
PII_KIND_LABELS = {
    PiiKind.ID_NUMBER: _("Resident identity card number"),
    PiiKind.MOBILE: _("Mobile phone number"),
    PiiKind.BANK_CARD: _("Bank card number"),
    PiiKind.EMAIL: _("E-mail address"),
    PiiKind.PERSON_NAME: _("Person's name"),
}
PII_KIND_CHOICES = [(kind.value, PII_KIND_LABELS.get(kind, kind.value)) for kind in PiiKind]
QUALITY_DIMENSIONS = [
    ("completeness", _("Completeness")),
    ("validity", _("Validity")),
    ("uniqueness", _("Uniqueness")),
    ("consistency", _("Consistency")),
    ("timeliness", _("Timeliness")),
    ("overall", _("Overall")),
]


# --- rendering helpers, shared by the product and version pages ----------------------------------------------------


def html_table(headers: Iterable[Any], rows: Iterable[Iterable[Any]], *, empty: Any = "—") -> SafeString | Any:
    """An escaped HTML table; cells already marked safe (links built with format_html) stay as they are."""
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((c,) for c in r)),) for r in rows)
    )
    if not body:
        return empty
    head = format_html_join("", '<th scope="col">{}</th>', ((h,) for h in headers))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def _pairs(pairs: Iterable[tuple[Any, Any]]) -> SafeString:
    rows = format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', pairs)
    return format_html("<table><tbody>{}</tbody></table>", rows)


def _when(value: Any) -> str:
    return formats.localize(timezone.localtime(value)) if value else "—"


def _count(value: int | None) -> str:
    return "—" if value is None else formats.number_format(value, force_grouping=True)


def _percent(rate: Any) -> str:
    return f"{rate * 100:.1f} %" if isinstance(rate, int | float) else "—"


def _score(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else _("n/a")


def _pii_label(kind: str) -> str:
    return str(PII_KIND_LABELS.get(kind, kind))


def pii_kinds(findings: list[dict] | None) -> list[str]:
    return sorted({str(f.get("kind", "")) for f in findings or []})


def _masked_extreme(value: Any, kind: str | None) -> str:
    """A column minimum or maximum as masked as the sample. Profiling masks them before storing them
    (registry.tasks.mask_profile); this keeps profiles stored before that from showing raw values here."""
    if value is None:
        return ""
    text = str(value)
    if kind is None:
        return mask_free_text(text)
    if "*" in text:  # masked when profiled; masking again would hide it completely
        return text
    try:
        return mask_value(PiiKind(kind), text)
    except ValueError:
        return HIDDEN


def render_version_summary(version: ProductVersion | None) -> Any:
    if version is None:
        return _("No version has been uploaded.")
    return _pairs([
        (_("version"), version.number),
        (_("review"), version.get_status_display()),
        (_("file name"), version.original_name),
        (_("format"), version.file_format),
        (_("encoding"), version.encoding or "—"),
        (_("size in bytes"), _count(version.size)),
        (_("SHA-256"), version.sha256),
        (_("profiling"), version.get_profile_status_display()),
        (_("rows"), _count(version.row_count)),
        (_("uploaded at"), _when(version.created_at)),
        (_("registered at"), _when(version.registered_at)),
        *([(_("error"), version.error_message)] if version.error_message else []),
    ])  # fmt: skip


def render_profile(version: ProductVersion | None) -> Any:
    if version is None or not version.columns:
        return _("Not profiled yet.")
    kinds = {f.get("column"): f.get("kind") for f in version.pii_findings}
    rows = (
        (
            c.get("name", ""),
            c.get("type", ""),
            _percent(c.get("null_rate")),
            c.get("distinct_count", ""),
            _masked_extreme(c.get("min"), kinds.get(c.get("name"))),
            _masked_extreme(c.get("max"), kinds.get(c.get("name"))),
            _rule_text(c.get("declared_type"), c.get("pattern")),
            _not_fitting(c, version.row_count),
        )
        for c in version.columns
    )
    headers = [_("column"), _("type"), _("null rate"), _("distinct values"), _("minimum"), _("maximum"),
               _("declared rule"), _("not fitting the rule")]  # fmt: skip
    table = html_table(headers, rows)
    warnings = version.profile.get("warnings") or []
    if not warnings:
        return table
    return format_html("{}<ul>{}</ul>", table, format_html_join("", "<li>{}</li>", ((w,) for w in warnings)))


def _rule_text(declared_type: str | None, pattern: str | None) -> str:
    parts = [str(ColumnType(declared_type).label) if declared_type in ColumnType.values else declared_type or ""]
    if pattern:
        parts.append(f"/{pattern}/")
    return " ".join(part for part in parts if part) or "—"


def _not_fitting(column: dict, rows: int | None) -> str:
    if not (column.get("declared_type") or column.get("pattern")):
        return "—"
    checked = (rows or 0) - int(column.get("null_count") or 0)
    invalid = int(column.get("invalid_count") or 0)
    return f"{_count(invalid)} / {_count(checked)}" + (f" ({invalid / checked * 100:.1f} %)" if checked else "")


def render_column_rules(rules: dict) -> Any:
    rows = ((name, _rule_text(rule.get("type"), rule.get("pattern"))) for name, rule in column_rules.ordered(rules))
    return html_table([_("column"), _("declared rule")], rows, empty=_("No column rules declared."))


def render_quality(version: ProductVersion | None) -> Any:
    quality = version.quality if version else {}
    if not quality:
        return _("Not profiled yet.")
    return html_table(
        [label for _key, label in QUALITY_DIMENSIONS], [[_score(quality.get(k)) for k, _l in QUALITY_DIMENSIONS]]
    )


def render_pii_findings(version: ProductVersion | None) -> Any:
    if version is None or not version.is_profiled:
        return _("Not profiled yet.")
    rows = (
        (
            f.get("column", ""),
            _pii_label(f.get("kind", "")),
            _percent(f.get("match_rate")),
            f"{f.get('matched', '?')} / {f.get('checked', '?')}",
            f.get("confidence", ""),
        )
        for f in version.pii_findings
    )
    headers = [_("column"), _("kind"), _("match rate"), _("matched / checked"), _("confidence")]
    return html_table(headers, rows, empty=_("No personal information was found."))


def render_masked_sample(version: ProductVersion | None) -> Any:
    """The stored masked sample, in the file's column order (JSON objects from PostgreSQL come back key-sorted)."""
    sample = version.masked_sample if version else []
    if not sample:
        return _("No sample.")
    names = [c.get("name") for c in version.columns] or list(sample[0])
    names += [k for k in dict.fromkeys(k for row in sample for k in row) if k not in names]
    rows = ([_cell(row.get(name)) for name in names] for row in sample)
    return html_table(names, rows)


def _cell(value: Any) -> Any:
    return format_html("<em>{}</em>", "NULL") if value is None else value


def render_rule_results(results: list[dict]) -> Any:
    def outcome(value: str) -> str:
        try:
            return str(RuleOutcome(value).label)
        except ValueError:
            return value

    rows = (
        (r.get("code", ""), r.get("name", ""), outcome(r.get("outcome", "")), r.get("message", ""))
        for r in rules.localised(results)
    )
    headers = [_("code"), _("name"), _("outcome"), _("message")]
    return html_table(headers, rows, empty=_("The negative list has not been checked yet."))


def render_audit_trail(obj: models.Model) -> Any:
    events = AuditEvent.objects.for_object(obj).order_by("-sequence")[:AUDIT_TRAIL_LIMIT]
    rows = ((_when(e.created_at), e.action, e.actor_label, _event_details(e.data)) for e in events)
    return html_table([_("time"), _("action"), _("actor"), _("details")], rows)


def _event_details(data: dict) -> str:
    """A transition as `from → to — reason`; any other event as its (shortened) data."""
    parts = [f"{data['from']} → {data['to']}"] if "from" in data and "to" in data else []
    parts += [data["reason"]] if data.get("reason") else []
    if parts:
        return " — ".join(parts)
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:200] + "…"


# --- list filters ------------------------------------------------------------------------------------------------


class QueueFilter(admin.SimpleListFilter):
    """A status filter that opens on the review queue; "All" (or a search) looks everywhere."""

    parameter_name = "status"
    ALL = "all"
    queue: tuple[str, Any]
    statuses: Iterable[tuple[str, Any]]

    def value(self) -> str:
        searching = bool(self.request.GET.get(SEARCH_VAR, "").strip())
        return super().value() or (self.ALL if searching else self.queue[0])

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [self.queue, *((value, label) for value, label in self.statuses if value != self.queue[0])]

    def choices(self, changelist: ChangeList):
        counts = self.get_facet_queryset(changelist) if changelist.add_facets else {}
        yield {
            "selected": self.value() == self.ALL,
            "query_string": changelist.get_query_string({self.parameter_name: self.ALL}),
            "display": _("All"),
        }
        for i, (value, label) in enumerate(self.lookup_choices):
            yield {
                "selected": self.value() == str(value),
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": f"{label} ({counts[f'{i}__c']})" if f"{i}__c" in counts else label,
            }

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        value = self.value()
        if value == self.queue[0]:
            return self.queue_queryset(queryset)
        if value in {v for v, _label in self.statuses}:
            return queryset.filter(status=value)
        return queryset

    def queue_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        return queryset.filter(status=self.queue[0])


class ProductQueueFilter(QueueFilter):
    title = _("status")
    queue = (ProductStatus.SUBMITTED.value, _("Awaiting review"))
    statuses = ProductStatus.choices


class VersionQueueFilter(QueueFilter):
    title = _("review")
    queue = ("change_registration", _("Awaiting change registration"))
    statuses = VersionStatus.choices

    def queue_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        return queryset.filter(status=VersionStatus.SUBMITTED, product__status=ProductStatus.REGISTERED)


# --- shared admin behaviour --------------------------------------------------------------------------------------


class ReviewAdminMixin(DecisionAdminMixin):
    """Read-only review pages: regulators decide through the decision buttons and actions, never by editing."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # decisions check the model's change permission themselves (DecisionAdminMixin._may_decide)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionDisplayMixin:
    """The version's profile, quality, PII findings and masked sample; `review_version` says which version."""

    def review_version(self, obj: Any) -> ProductVersion | None:
        raise NotImplementedError

    @admin.display(description=_("version"))
    def version_summary(self, obj: Any) -> Any:
        return render_version_summary(self.review_version(obj))

    @admin.display(description=_("quality scores"))
    def version_quality(self, obj: Any) -> Any:
        return render_quality(self.review_version(obj))

    @admin.display(description=_("columns"))
    def version_profile(self, obj: Any) -> Any:
        return render_profile(self.review_version(obj))

    @admin.display(description=_("findings"))
    def version_pii_findings(self, obj: Any) -> Any:
        return render_pii_findings(self.review_version(obj))

    @admin.display(description=_("masked rows"))
    def version_masked_sample(self, obj: Any) -> Any:
        return render_masked_sample(self.review_version(obj))

    @admin.display(description=_("events, newest first"))
    def audit_trail(self, obj: Any) -> Any:
        return render_audit_trail(obj)


# --- data products -----------------------------------------------------------------------------------------------


def _latest_versions() -> models.QuerySet:
    return ProductVersion.objects.filter(product=OuterRef("pk")).order_by("-number")


@admin.register(DataProduct)
class DataProductAdmin(VersionDisplayMixin, ReviewAdminMixin, admin.ModelAdmin):
    decisions = {
        "approve": Decision.calling(
            _("Approve registration"), services.product_approve, "product", ProductStatus.SUBMITTED
        ),
        "request_changes": Decision.calling(
            _("Request changes"), services.product_request_changes, "product", ProductStatus.SUBMITTED
        ),
        "reject": Decision.calling(_("Reject"), services.product_reject, "product", ProductStatus.SUBMITTED),
        "suspend": Decision.calling(_("Suspend"), services.product_suspend, "product", ProductStatus.REGISTERED),
        "reinstate": Decision.calling(_("Reinstate"), services.product_reinstate, "product", ProductStatus.SUSPENDED),
        "revoke": Decision.calling(
            _("Revoke registration"),
            services.product_revoke,
            "product",
            ProductStatus.REGISTERED,
            ProductStatus.SUSPENDED,
        ),
    }
    list_display = [
        "title",
        "organization",
        "sector",
        "classification",
        "sensitivity_level",
        "status",
        "submitted_at",
        "latest_quality",
        "personal_information",
    ]
    list_filter = [ProductQueueFilter, "sector", "classification", "sensitivity_level"]
    list_select_related = ["organization"]
    search_fields = ["title", "organization__name", "organization__credit_code"]
    ordering = [F("submitted_at").asc(nulls_last=True), "-pk"]  # the queue is first come, first served
    fieldsets = [
        (_("Review"), {"fields": ["status", "status_reason", "submitted_at", "registered_at"]}),
        (
            _("Metadata"),
            {
                "fields": [
                    "title",
                    "organization",
                    "credit_code",
                    "summary",
                    "description",
                    "sector",
                    "tags",
                    "update_frequency",
                    "coverage_start",
                    "coverage_end",
                    "spatial_coverage",
                    "licence_template",
                    "contact_name",
                    "contact_email",
                    "created_by",
                    "created_at",
                    "column_rule_table",
                ]
            },
        ),
        (
            _("Source, acquisition and legal basis"),
            {"fields": ["acquisition_method", "acquisition_note", "legal_basis"]},
        ),
        (_("Rights claimed"), {"fields": ["right_holding", "right_processing", "right_operation"]}),
        (_("Classification and grading"), {"fields": ["classification", "sensitivity_level", "sandbox_only"]}),
        (_("Personal information"), {"fields": ["has_personal_info", "deidentification_note"]}),
        (_("Supporting documents"), {"fields": ["document_list"]}),
        (_("Version under review"), {"fields": ["version_summary", "version_quality", "version_profile"]}),
        (_("Personal information found"), {"fields": ["version_pii_findings"]}),
        (_("Masked sample"), {"fields": ["version_masked_sample"]}),
        (_("Negative-list check"), {"fields": ["rule_result_table"]}),
        (_("Registration certificates"), {"fields": ["certificate_list"]}),
        (_("Audit trail"), {"fields": ["audit_trail"]}),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        latest = _latest_versions()
        return (
            super()
            .get_queryset(request)
            .annotate(
                latest_quality_score=Subquery(latest.values("quality_score")[:1]),
                latest_pii_findings=Subquery(latest.values("pii_findings")[:1], output_field=models.JSONField()),
            )
        )

    @admin.display(description=_("quality"), ordering="latest_quality_score")
    def latest_quality(self, obj: DataProduct) -> str:
        return _score(obj.latest_quality_score) if obj.latest_quality_score is not None else "—"

    @admin.display(description=_("personal information"))
    def personal_information(self, obj: DataProduct) -> str:
        found = ", ".join(_pii_label(kind) for kind in pii_kinds(obj.latest_pii_findings))
        declared = _("declared") if obj.has_personal_info else _("not declared")
        return f"{declared}; {_('found')}: {found}" if found else (str(declared) if obj.has_personal_info else "—")

    @admin.display(description=_("unified social credit code"))
    def credit_code(self, obj: DataProduct) -> str:
        return obj.organization.credit_code

    @admin.display(description=_("only through the sandbox"), boolean=True)
    def sandbox_only(self, obj: DataProduct) -> bool:
        return obj.sandbox_only

    def review_version(self, obj: DataProduct) -> ProductVersion | None:
        """The submitted version, else the newest one (cached on the object: several fields read it)."""
        if not hasattr(obj, "_review_version"):
            versions = obj.versions.order_by("-number")
            obj._review_version = versions.filter(status=VersionStatus.SUBMITTED).first() or versions.first()
        return obj._review_version

    @admin.display(description=_("documents"))
    def document_list(self, obj: DataProduct) -> Any:
        rows = (
            (format_html('<a href="{}">{}</a>', self._document_url(obj, d), d.title), _when(d.uploaded_at))
            for d in obj.documents.all()
        )
        return html_table([_("title"), _("uploaded at")], rows, empty=_("No documents."))

    def _document_url(self, product: DataProduct, document: Any) -> str:
        return reverse(f"{self.admin_site.name}:registry_dataproduct_document", args=[product.pk, document.pk])

    @admin.display(description=_("column rules"))
    def column_rule_table(self, obj: DataProduct) -> Any:
        return render_column_rules(obj.column_rules)

    @admin.display(description=_("rules at submission"))
    def rule_result_table(self, obj: DataProduct) -> Any:
        return render_rule_results(obj.rule_results)

    @admin.display(description=_("certificates"))
    def certificate_list(self, obj: DataProduct) -> Any:
        certificates = obj.certificates.select_related("version").order_by("-issued_at")
        rows = ((self._certificate_link(c), _when(c.issued_at), c.version.number, c.fingerprint,
                 _when(c.superseded_at) if c.superseded_at else _("current")) for c in certificates)  # fmt: skip
        headers = [_("number"), _("issued at"), _("version"), _("fingerprint (SHA-256)"), _("superseded at")]
        return html_table(headers, rows, empty=_("No certificate has been issued."))

    def _certificate_link(self, certificate: RegistrationCertificate) -> SafeString:
        url = reverse(f"{self.admin_site.name}:registry_registrationcertificate_change", args=[certificate.pk])
        return format_html('<a href="{}">{}</a>', url, certificate.number)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.document_view)
        route = path("<int:product_id>/documents/<int:document_id>/", view, name="registry_dataproduct_document")
        return [route, *super().get_urls()]

    def document_view(self, request: HttpRequest, product_id: int, document_id: int) -> FileResponse:
        """Stream a private supporting document, as a download: a merchant's HTML must never render here."""
        product = get_object_or_404(self.get_queryset(request), pk=product_id)
        if not self.has_view_permission(request, product):
            raise Http404
        document = get_object_or_404(product.documents.all(), pk=document_id)
        name = PurePosixPath(document.file.name).name
        return FileResponse(document.file.open("rb"), as_attachment=True, filename=name)


# --- versions: the change-registration queue ---------------------------------------------------------------------


def _awaiting_change_registration(version: ProductVersion) -> bool:
    return version.status == VersionStatus.SUBMITTED and version.product.status == ProductStatus.REGISTERED


def _version_reject(version: ProductVersion, **kwargs: Any) -> ProductVersion:
    # services.version_reject only checks the version's status: rejecting the version of a first registration
    # here would leave its product submitted without a version. That decision belongs to the product page.
    if not _awaiting_change_registration(version):
        raise DomainError(_("This version is not awaiting change registration."), code="invalid_transition")
    return services.version_reject(version=version, **kwargs)


class VersionChangeList(ChangeList):
    """The queue never loads a version's large JSON (profile, masked sample); the change page does."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> models.QuerySet:
        return super().get_queryset(request, exclude_parameters).defer("profile", "masked_sample")


@admin.register(ProductVersion)
class ProductVersionAdmin(VersionDisplayMixin, ReviewAdminMixin, admin.ModelAdmin):
    decisions = {
        "approve": Decision(
            _("Approve change registration"),
            lambda v, **kw: services.version_approve(version=v, **kw),
            _awaiting_change_registration,
        ),
        "reject": Decision(_("Reject change registration"), _version_reject, _awaiting_change_registration),
    }
    list_display = [
        "__str__",
        "organization",
        "status",
        "profile_status",
        "row_count",
        "quality_score",
        "personal_information",
        "created_at",
    ]
    list_filter = [VersionQueueFilter, "profile_status", "product__sector"]
    list_select_related = ["product__organization"]
    search_fields = ["product__title", "product__organization__name", "product__organization__credit_code", "sha256"]
    ordering = ["created_at", "pk"]
    fieldsets = [
        (_("Product"), {"fields": ["product", "product_status", "registered_version"]}),
        (_("Version under review"), {"fields": ["version_summary", "version_quality", "version_profile"]}),
        (_("Personal information found"), {"fields": ["version_pii_findings"]}),
        (_("Masked sample"), {"fields": ["version_masked_sample"]}),
        (_("Negative-list check"), {"fields": ["rule_result_table"]}),
        (_("Audit trail"), {"fields": ["audit_trail"]}),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return VersionChangeList

    def review_version(self, obj: ProductVersion) -> ProductVersion:
        return obj

    @admin.display(description=_("organisation"), ordering="product__organization__name")
    def organization(self, obj: ProductVersion) -> str:
        return obj.product.organization.name

    @admin.display(description=_("personal information"))
    def personal_information(self, obj: ProductVersion) -> str:
        return ", ".join(_pii_label(kind) for kind in pii_kinds(obj.pii_findings)) or "—"

    @admin.display(description=_("product status"))
    def product_status(self, obj: ProductVersion) -> str:
        return obj.product.get_status_display()

    @admin.display(description=_("registered version in force"))
    def registered_version(self, obj: ProductVersion) -> Any:
        current = obj.product.versions.registered().exclude(pk=obj.pk).order_by("-number").first()
        return render_version_summary(current) if current else _("None.")

    @admin.display(description=_("rules, evaluated now"))
    def rule_result_table(self, obj: ProductVersion) -> Any:
        # The product's stored results belong to its first registration; judge this version against today's list.
        return render_rule_results([r.as_dict() for r in rules.evaluate(obj.product, obj)])


# --- negative-list rules -----------------------------------------------------------------------------------------


class NegativeListRuleForm(forms.ModelForm):
    pii_kind = forms.ChoiceField(
        label=_("personal information kind"), choices=[("", "—"), *PII_KIND_CHOICES], required=False
    )

    class Meta:
        model = NegativeListRule
        fields = ["code", "name", "message", "sector", "column_pattern", "pii_kind", "active"]

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.instance.is_builtin:
            return
        try:
            rule_services.rule_check(self.instance)
        except ValidationError as exc:
            self._update_errors(exc)


@admin.register(NegativeListRule)
class NegativeListRuleAdmin(admin.ModelAdmin):
    form = NegativeListRuleForm
    list_display = ["code", "name", "kind", "sector", "column_pattern", "pii_kind", "active"]
    list_filter = ["kind", "active", "sector"]
    search_fields = ["code", "name", "message", "column_pattern"]
    fields = ["code", "name", "kind", "message", "sector", "column_pattern", "pii_kind", "active", "created_at"]
    BUILTIN_READONLY = ["code", "kind", "sector", "column_pattern", "pii_kind", "active", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: NegativeListRule | None = None) -> list[str]:
        return self.BUILTIN_READONLY if obj is not None and obj.is_builtin else ["kind", "created_at"]

    def has_delete_permission(self, request: HttpRequest, obj: NegativeListRule | None = None) -> bool:
        return not (obj is not None and obj.is_builtin) and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: NegativeListRule, form: forms.Form, change: bool) -> None:
        if change:
            rule_services.rule_update(rule=obj, by=request.user)
        else:
            rule_services.rule_create(rule=obj, by=request.user)

    def delete_model(self, request: HttpRequest, obj: NegativeListRule) -> None:
        rule_services.rule_delete(rule=obj, by=request.user)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        # The bulk delete asks has_delete_permission for each rule first, so built-in rules never get here.
        for rule in queryset.order_by("pk"):
            rule_services.rule_delete(rule=rule, by=request.user)


# --- certificates ------------------------------------------------------------------------------------------------


@admin.register(RegistrationCertificate)
class RegistrationCertificateAdmin(admin.ModelAdmin):
    list_display = ["number", "product", "version_number", "issued_at", "fingerprint", "superseded", "verify_link"]
    list_filter = [("superseded_at", admin.EmptyFieldListFilter)]
    list_select_related = ["product", "version"]
    search_fields = ["number", "fingerprint", "product__title", "product__organization__name"]
    fields = ["number", "product", "version", "issued_at", "fingerprint", "superseded_at", "verification", "content"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("version"), ordering="version__number")
    def version_number(self, obj: RegistrationCertificate) -> int:
        return obj.version.number

    @admin.display(description=_("superseded"), boolean=True, ordering="superseded_at")
    def superseded(self, obj: RegistrationCertificate) -> bool:
        return obj.superseded_at is not None

    @admin.display(description=_("verify now"))
    def verify_link(self, obj: RegistrationCertificate) -> SafeString:
        # Verifying recomputes the fingerprint from the product and its versions (three queries a certificate):
        # the list links to the change page, which verifies the one certificate it shows.
        url = reverse(f"{self.admin_site.name}:registry_registrationcertificate_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Verify now"))

    @admin.display(description=_("verification"))
    def verification(self, obj: RegistrationCertificate) -> SafeString:
        result = services.certificate_verify(obj.number)
        verdict = _("Valid") if result["valid"] else _("Not valid")
        return format_html(
            "<strong>{}</strong>{}",
            verdict,
            _pairs([
                (_("record intact"), _("yes") if result["record_intact"] else _("no")),
                (_("registered content still matches"), _("yes") if result["content_matches"] else _("no")),
                (_("current certificate"), _("yes") if result["current"] else _("no")),
                (_("product status"), result["product"].get_status_display()),
            ]),
        )  # fmt: skip

    @admin.display(description=_("registered content"))
    def content(self, obj: RegistrationCertificate) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, ensure_ascii=False, indent=2, sort_keys=True))
