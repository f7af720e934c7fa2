"""Output serializers (read-only) and input serializers (validated, then handed to a service; never saved).

No output ever names a stored file (no URL, no storage path) or shows a raw data value. A version's profile keeps
its aggregate figures; the values in it that come from rows (min, max, top values) are stored masked by the
profiling task, pass `mask_free_text` again here as a safety net, and a flagged column's mean and deviation are
dropped. The masked sample is the only row-level data.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_choice_field
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import OrganizationSummarySerializer, RejectUnknownFieldsMixin
from registry import column_rules
from registry.choices import ColumnType, ProductStatus
from registry.masking import mask_free_text
from registry.models import DataProduct, ProductVersion, RuleOutcome, SupportingDocument, VersionStatus
from registry.pii import PiiKind
from registry.services import PRODUCT_FIELDS

# --- enums ----------------------------------------------------------------------------------------------------


class EnumField(serializers.ChoiceField):
    """A choice field documented as its own named enum (`ProductStatusEnum`) rather than after the field's name.

    Products, versions and organisations each have a `status` (and findings and rules a `kind`) with different
    choices; drf-spectacular would name those enums by a hash and warn.
    """

    def __init__(self, choices, *, enum_name: str, **kwargs: Any) -> None:
        self.enum_name = enum_name
        super().__init__(choices, **kwargs)


class EnumFieldSchema(OpenApiSerializerFieldExtension):
    target_class = EnumField

    def get_name(self) -> str:
        return self.target.enum_name

    def map_serializer_field(self, auto_schema, direction) -> dict:
        schema = build_choice_field(self.target)
        schema.pop("x-spec-enum-id", None)
        schema["enum"] = [choice for choice in schema["enum"] if choice is not None]  # nullability is per use
        return schema


def product_status_field(**kwargs: Any) -> EnumField:
    return EnumField(ProductStatus.choices, enum_name="ProductStatusEnum", read_only=True, **kwargs)


def version_status_field(**kwargs: Any) -> EnumField:
    return EnumField(VersionStatus.choices, enum_name="VersionStatusEnum", read_only=True, **kwargs)


def pii_kind_field(**kwargs: Any) -> EnumField:
    return EnumField([kind.value for kind in PiiKind], enum_name="PiiKindEnum", **kwargs)


# --- column rules ---------------------------------------------------------------------------------------------


class ColumnRuleSerializer(serializers.Serializer):
    """What a column must hold: a type and, optionally, a regular expression the whole value matches."""

    type = EnumField(
        ColumnType.values,
        enum_name="ColumnTypeEnum",
        help_text="`timestamp` is accepted for `datetime`. Dates may be written 2026-11-30, 2026/11/30, 20261130 "
        "or 2026年11月30日.",
    )
    pattern = serializers.CharField(allow_blank=True, required=False, help_text="RE2 syntax; empty for none.")


@extend_schema_field(serializers.DictField(child=ColumnRuleSerializer()))
class ColumnRulesField(serializers.Field):
    """Column name (as in the file's header) → rule; validated by `registry.column_rules` (one message per column
    at fault under `fields.column_rules`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            f"Column name → {{type, pattern}}, at most {column_rules.MAX_RULES} columns. Replaces the product's rules; "
            "files uploaded afterwards are profiled with them (the validity score).",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, dict[str, str]]:
        try:
            return column_rules.clean_column_rules(data if data is not None else {})
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["column_rules"]) from exc

    def to_representation(self, value: Any) -> dict[str, dict[str, str]]:
        return {name: dict(rule) for name, rule in column_rules.ordered(value or {})}


# --- profiles, quality and personal information ---------------------------------------------------------------


class QualitySerializer(serializers.Serializer):
    """GB/T 36344-2018 quality dimensions, 0-100; `timeliness` is null when it cannot be judged."""

    completeness = serializers.FloatField(allow_null=True)
    validity = serializers.FloatField(allow_null=True)
    uniqueness = serializers.FloatField(allow_null=True)
    consistency = serializers.FloatField(allow_null=True)
    timeliness = serializers.FloatField(allow_null=True)
    overall = serializers.FloatField(allow_null=True)


class TopValueSerializer(serializers.Serializer):
    value = serializers.CharField(allow_null=True, help_text="Masked like the sample when it could identify someone.")
    count = serializers.IntegerField()


class ColumnProfileSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    pii_kind = pii_kind_field(allow_null=True, help_text="Personal information found in the column.")
    null_count = serializers.IntegerField()
    null_rate = serializers.FloatField()
    distinct_count = serializers.IntegerField()
    min = serializers.CharField(allow_null=True, help_text="Masked like the sample.")
    max = serializers.CharField(allow_null=True, help_text="Masked like the sample.")
    mean = serializers.FloatField(allow_null=True, help_text="Null for columns holding personal information.")
    stddev = serializers.FloatField(allow_null=True, help_text="Null for columns holding personal information.")
    top_values = TopValueSerializer(many=True, allow_null=True)
    declared_type = serializers.CharField(allow_null=True)
    pattern = serializers.CharField(allow_null=True)
    invalid_count = serializers.IntegerField()


class ConsistencyRuleSerializer(serializers.Serializer):
    kind = EnumField(["ordered", "non_negative"], enum_name="ConsistencyRuleKindEnum")
    columns = serializers.ListField(child=serializers.CharField())
    violations = serializers.IntegerField()


class ProfileSerializer(serializers.Serializer):
    """What profiling found: schema, per-column statistics, quality; no row of the file."""

    format = serializers.CharField()
    encoding = serializers.CharField(allow_null=True)
    delimiter = serializers.CharField(allow_null=True)
    row_count = serializers.IntegerField()
    distinct_rows = serializers.IntegerField()
    uniqueness_exact = serializers.BooleanField()
    newest_date = serializers.DateField(allow_null=True)
    update_frequency = serializers.CharField(allow_null=True)
    quality = QualitySerializer()
    consistency_rules = ConsistencyRuleSerializer(many=True)
    columns = ColumnProfileSerializer(many=True)
    column_rules = ColumnRulesField(
        read_only=True, default=dict, help_text="The product's column rules in force when the file was profiled."
    )
    warnings = serializers.ListField(child=serializers.CharField())


class PiiFindingSerializer(serializers.Serializer):
    """One kind of personal information found in one column, with the evidence (counts, never values)."""

    column = serializers.CharField()
    kind = pii_kind_field()
    matched = serializers.IntegerField()
    checked = serializers.IntegerField()
    match_rate = serializers.FloatField()
    header_hint = serializers.BooleanField()
    confidence = serializers.ChoiceField(choices=["high", "medium", "low"])


def _masked(value: Any) -> Any:
    # Idempotent on masked values (`138****0001`, `***@example.com`), so it is a safety net, not a second mask.
    return mask_free_text(value) if isinstance(value, str) else value


def _masked_column(column: dict, kind: str | None) -> dict:
    top_values = column.get("top_values")
    masked = {
        **column,
        "pii_kind": kind,
        "min": _masked(column.get("min")),
        "max": _masked(column.get("max")),
        "top_values": None
        if top_values is None
        else [{"value": _masked(item["value"]), "count": item["count"]} for item in top_values],
    }
    if kind:  # the mean of mobile or card numbers says too much about them
        masked["mean"] = masked["stddev"] = None
    return masked


def masked_profile(version: ProductVersion) -> dict | None:
    """The stored profile (masked by the profiling task) with flagged columns marked and their moments dropped."""
    if not version.profile:
        return None
    kinds = {finding["column"]: finding["kind"] for finding in version.pii_findings}
    columns = [_masked_column(column, kinds.get(column.get("name"))) for column in version.profile.get("columns", [])]
    return {**version.profile, "columns": columns}


def pii_kinds(version: ProductVersion) -> list[str]:
    return sorted({finding["kind"] for finding in version.pii_findings})


# --- versions -------------------------------------------------------------------------------------------------


class ProductBriefSerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer(read_only=True)

    class Meta:
        model = DataProduct
        fields = ["id", "title", "organization"]
        read_only_fields = fields


class VersionBriefSerializer(serializers.ModelSerializer):
    """A version in a product's summary: size of the data, its quality and what personal information it holds."""

    status = version_status_field()
    quality = serializers.SerializerMethodField()
    pii_kinds = serializers.SerializerMethodField()

    class Meta:
        model = ProductVersion
        fields = [
            "id",
            "number",
            "status",
            "profile_status",
            "row_count",
            "quality_score",
            "quality",
            "pii_kinds",
            "created_at",
            "registered_at",
        ]
        read_only_fields = fields

    @extend_schema_field(QualitySerializer(allow_null=True))
    def get_quality(self, version: ProductVersion) -> dict | None:
        # List querysets defer `profile` and annotate just its quality part (`quality_json`).
        quality = version.quality_json if hasattr(version, "quality_json") else version.quality
        return QualitySerializer(quality).data if quality else None

    @extend_schema_field(serializers.ListField(child=pii_kind_field()))
    def get_pii_kinds(self, version: ProductVersion) -> list[str]:
        return pii_kinds(version)


class VersionSerializer(VersionBriefSerializer):
    """A version in a list: the file's digest and the state of its profiling; no profile, no sample."""

    product = ProductBriefSerializer(read_only=True)
    file_name = serializers.CharField(source="original_name", read_only=True)
    format = serializers.CharField(source="file_format", read_only=True)

    class Meta(VersionBriefSerializer.Meta):
        fields = [
            "id",
            "product",
            "number",
            "file_name",
            "size",
            "sha256",
            "format",
            "encoding",
            "status",
            "profile_status",
            "progress",
            "progress_stage",
            "error_code",
            "error_message",
            "row_count",
            "quality_score",
            "quality",
            "pii_kinds",
            "created_at",
            "registered_at",
        ]
        read_only_fields = fields


class VersionDetailSerializer(VersionSerializer):
    """One version with its (masked) profile, its personal-information findings and the masked sample."""

    profile = serializers.SerializerMethodField()
    pii_findings = PiiFindingSerializer(many=True, read_only=True)
    masked_sample = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField(allow_null=True)),
        read_only=True,
        help_text="Up to 20 rows with personal information masked: the only row-level data the API shows.",
    )

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "profile", "pii_findings", "masked_sample"]
        read_only_fields = fields

    @extend_schema_field(ProfileSerializer(allow_null=True))
    def get_profile(self, version: ProductVersion) -> dict | None:
        profile = masked_profile(version)
        return ProfileSerializer(profile).data if profile else None


class VersionProgressSerializer(serializers.ModelSerializer):
    """Small enough to poll while a version is profiled."""

    status = version_status_field()

    class Meta:
        model = ProductVersion
        fields = ["id", "status", "profile_status", "progress", "progress_stage", "error_code", "error_message"]
        read_only_fields = fields


class VersionUploadSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,  # the service refuses an empty file with its own code
        use_url=False,
        help_text="CSV, TSV, Parquet or JSON Lines, under a plain file name.",
    )


# --- products -------------------------------------------------------------------------------------------------


class RuleResultSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    outcome = serializers.ChoiceField(choices=RuleOutcome.choices)
    message = serializers.CharField()


class FailedRuleSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    message = serializers.CharField()


class NegativeListErrorSerializer(serializers.Serializer):
    """422 body: the negative list refused the submission; `rules` names each failing rule."""

    code = EnumField(["negative_list"], enum_name="NegativeListCodeEnum")
    detail = serializers.CharField()
    rules = FailedRuleSerializer(many=True)


class UploadErrorSerializer(serializers.Serializer):
    """Why the last uploaded file was refused while it was profiled (the version was removed)."""

    file = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    at = serializers.DateTimeField()


class DocumentSerializer(serializers.ModelSerializer):
    file_name = serializers.SerializerMethodField()

    class Meta:
        model = SupportingDocument
        fields = ["id", "title", "file_name", "uploaded_at"]
        read_only_fields = fields

    def get_file_name(self, document: SupportingDocument) -> str:
        return document.file.name.rsplit("/", 1)[-1]


class DocumentCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    file = serializers.FileField(use_url=False, help_text="A contract, authorisation or consent form.")


class ProductSerializer(serializers.ModelSerializer):
    """A product as the catalogue shows it; `status_reason`, `rule_results` and `upload_error` only to its owner."""

    OWN_ONLY = ("status_reason", "rule_results", "upload_error")

    organization = OrganizationSummarySerializer(read_only=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    column_rules = ColumnRulesField(read_only=True)
    is_own = serializers.BooleanField(read_only=True, help_text="The product belongs to one of your organisations.")
    sandbox_only = serializers.BooleanField(read_only=True, help_text="Level-4 data: offered through the sandbox only.")
    status = product_status_field()
    status_reason = serializers.CharField(read_only=True, allow_null=True)
    rule_results = RuleResultSerializer(many=True, read_only=True, allow_null=True)
    upload_error = serializers.SerializerMethodField()
    quality_score = serializers.FloatField(
        source="latest_quality_score",
        read_only=True,
        allow_null=True,
        help_text="Overall quality score of the latest registered version.",
    )
    latest_version = serializers.SerializerMethodField(
        help_text="Your latest version in any state; for other organisations' products the latest registered one."
    )
    certificate_number = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = DataProduct
        fields = [
            "id",
            "organization",
            "is_own",
            *sorted(PRODUCT_FIELDS),
            "tags",
            "column_rules",
            "sandbox_only",
            "status",
            "status_reason",
            "rule_results",
            "upload_error",
            "quality_score",
            "latest_version",
            "certificate_number",
            "submitted_at",
            "registered_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, product: DataProduct) -> dict:
        data = super().to_representation(product)
        if not product.is_own:
            data.update(dict.fromkeys(self.OWN_ONLY))
        return data

    @extend_schema_field(UploadErrorSerializer(allow_null=True))
    def get_upload_error(self, product: DataProduct) -> dict | None:
        return UploadErrorSerializer(product.upload_error).data if product.upload_error else None

    @extend_schema_field(VersionBriefSerializer(allow_null=True))
    def get_latest_version(self, product: DataProduct) -> dict | None:
        versions = product.latest_versions  # prefetched by the view: at most one
        return VersionBriefSerializer(versions[0]).data if versions else None


class ProductDetailSerializer(ProductSerializer):
    documents = serializers.SerializerMethodField(help_text="Supporting documents; only for your own products.")

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "documents"]
        read_only_fields = fields

    @extend_schema_field(DocumentSerializer(many=True))
    def get_documents(self, product: DataProduct) -> list[dict]:
        if not product.is_own:
            return []
        return DocumentSerializer(product.documents.all(), many=True).data


class ProductUpdateSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """The metadata a merchant sets; the service checks the rules across fields (coverage, acquisition note)."""

    tags = serializers.ListField(
        child=serializers.CharField(max_length=40),
        max_length=20,
        required=False,
        help_text="Up to 20 keywords; replaces the product's tags.",
    )
    column_rules = ColumnRulesField(required=False)

    class Meta:
        model = DataProduct
        fields = [*sorted(PRODUCT_FIELDS), "tags", "column_rules"]


class ProductCreateSerializer(ProductUpdateSerializer):
    organization = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Required for a signed-in user (an organisation where they may add products); "
        "an API key always uses its own organisation.",
    )

    class Meta(ProductUpdateSerializer.Meta):
        fields = ["organization", *ProductUpdateSerializer.Meta.fields]


# --- certificates ---------------------------------------------------------------------------------------------


class CertifiedOrganizationSerializer(serializers.Serializer):
    name = serializers.CharField()
    credit_code = serializers.CharField()


class CertifiedProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField(help_text="The title as registered (what the fingerprint covers).")
    organization = CertifiedOrganizationSerializer()


class CertificateVerificationSerializer(serializers.Serializer):
    """A certificate and whether what it vouches for still holds."""

    number = serializers.CharField()
    issued_at = serializers.DateTimeField()
    fingerprint = serializers.CharField(help_text="SHA-256 of the canonical JSON of the registered content.")
    version_number = serializers.IntegerField()
    superseded_at = serializers.DateTimeField(allow_null=True)
    product = CertifiedProductSerializer()
    valid = serializers.BooleanField(help_text="Intact, matching, current and the product still registered.")
    record_intact = serializers.BooleanField(help_text="The stored certificate matches its own fingerprint.")
    content_matches = serializers.BooleanField(help_text="The product's registered content has not changed since.")
    current = serializers.BooleanField(help_text="No later certificate supersedes this one.")
    product_status = product_status_field()
