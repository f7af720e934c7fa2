"""Output serializers (read-only) and input serializers (validated, then handed to a service; never saved).

Money is a string with two decimals (`"1234.50"`), never a float; ratios have four. Every valuation says who
performed it and whether it is an accredited appraisal (`performer_kind`, `accredited`): a self-assessment by the
owner must never pass for an independent opinion.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import OrganizationSummarySerializer, RejectUnknownFieldsMixin
from registry.api.serializers import EnumField, ProductBriefSerializer
from valuation import accounting, services
from valuation.choices import BatchStatus, HoldingPurpose, Method, PerformerKind, ValuationStatus
from valuation.models import ComparableTransaction, RevaluationBatch, Valuation

MAX_REVALUED_PRODUCTS = 500


def money_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True, **kwargs)


def ratio_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=5, decimal_places=4, read_only=True, **kwargs)


def number_field(**kwargs: Any) -> serializers.DecimalField:
    """A number as the method read it (a rate, a coefficient, a useful life), as a string without rounding."""
    return serializers.DecimalField(max_digits=None, decimal_places=None, read_only=True, **kwargs)


def method_field(**kwargs: Any) -> EnumField:
    return EnumField(Method.choices, enum_name="ValuationMethodEnum", **kwargs)


def holding_purpose_field(**kwargs: Any) -> EnumField:
    return EnumField(HoldingPurpose.choices, enum_name="HoldingPurposeEnum", **kwargs)


# --- valuations -----------------------------------------------------------------------------------------------


class ValuationSerializer(serializers.ModelSerializer):
    """A valuation in a list: who performed it and how, its status, the value and its range; no working."""

    product = ProductBriefSerializer(read_only=True)
    version_number = serializers.IntegerField(  # annotated by the view: the version row itself is large
        read_only=True,
        allow_null=True,
        help_text=_("The product version whose quality score the valuation used."),
    )
    method = method_field(read_only=True)
    performer = OrganizationSummarySerializer(
        source="organization", read_only=True, help_text=_("The organisation that performed the valuation.")
    )
    performer_kind = EnumField(PerformerKind.choices, enum_name="PerformerKindEnum", read_only=True)
    accredited = serializers.BooleanField(
        source="is_accredited",
        read_only=True,
        help_text=_("An accredited appraiser's opinion (true) or the owner's self-assessment (false)."),
    )
    status = EnumField(ValuationStatus.choices, enum_name="ValuationStatusEnum", read_only=True)
    value = money_field(allow_null=True, help_text=_("CNY; null until the valuation is done."))
    low = money_field(allow_null=True, help_text=_("Low end of the sensitivity range (CNY)."))
    high = money_field(allow_null=True, help_text=_("High end of the sensitivity range (CNY)."))
    error = serializers.CharField(read_only=True, help_text=_("Why the run failed; empty otherwise."))

    class Meta:
        model = Valuation
        fields = [
            "id",
            "product",
            "version_number",
            "method",
            "performer",
            "performer_kind",
            "accredited",
            "status",
            "value",
            "low",
            "high",
            "quality_score",
            "as_of",
            "created_at",
            "finished_at",
            "error",
        ]
        read_only_fields = fields


class SensitivityRowSerializer(serializers.Serializer):
    """One bar of the tornado chart: the value with one parameter at its low and at its high input."""

    parameter = serializers.CharField(read_only=True)
    base_input = number_field()
    low_input = number_field()
    high_input = number_field()
    low_value = money_field()
    high_value = money_field()
    swing = money_field(help_text=_("|high_value - low_value|; rows come largest swing first."))


class PledgeSerializer(serializers.Serializer):
    value = money_field()
    ratio = ratio_field(help_text=_("The valuation's own pledge ratio, else the exchange's default."))
    ceiling = money_field(help_text=_("Lending ceiling = value * ratio, to the cent."))


class ScheduleSummarySerializer(serializers.Serializer):
    periods = serializers.IntegerField(read_only=True, help_text=_("Months of amortisation; 0 when not amortised."))
    start = serializers.DateField(read_only=True, allow_null=True)
    monthly_amount = money_field(allow_null=True, help_text=_("The amortisation of period 1."))


ASSET_CLASSES = [
    (accounting.INTANGIBLE_ASSET, _("Intangible asset (amortised)")),
    (accounting.INVENTORY, _("Inventory (held for sale, not amortised)")),
]


def asset_class_field(**kwargs: Any) -> EnumField:
    return EnumField(ASSET_CLASSES, enum_name="AssetClassEnum", **kwargs)


class AccountingSerializer(serializers.Serializer):
    """How the value is carried in the books (Caikuai [2023] 11) and what it is worth as collateral."""

    asset_class = asset_class_field(read_only=True)
    standard = serializers.CharField(read_only=True)
    amortised = serializers.BooleanField(read_only=True)
    pledge = PledgeSerializer(read_only=True)
    schedule = ScheduleSummarySerializer(read_only=True)


def accounting_data(books: services.Accounting) -> dict:
    """The accounting object of a report from the service's `Accounting`."""
    rows = books.schedule
    return {
        "asset_class": books.classification.asset_class,
        "standard": books.classification.standard,
        "amortised": books.classification.amortised,
        "pledge": books.pledge,
        "schedule": {
            "periods": len(rows),
            "start": rows[0].period_start if rows else None,
            "monthly_amount": rows[0].amortisation if rows else None,
        },
    }


class ValuationDetailSerializer(ValuationSerializer):
    """The report: the list fields plus the inputs, the working, the tornado data and, once done, the accounting."""

    inputs = serializers.DictField(
        read_only=True, help_text=_("The inputs as the method read them (quality score, comparables filled in).")
    )
    result = serializers.DictField(read_only=True, help_text=_("The working: every figure of the method's table."))
    sensitivity = SensitivityRowSerializer(many=True, read_only=True)
    holding_purpose = holding_purpose_field(read_only=True)
    pledge_ratio = ratio_field(allow_null=True, help_text=_("Null: the exchange's default applies."))
    accounting = serializers.SerializerMethodField()

    class Meta(ValuationSerializer.Meta):
        fields = [
            *ValuationSerializer.Meta.fields,
            "inputs",
            "result",
            "sensitivity",
            "holding_purpose",
            "pledge_ratio",
            "amortisation_years",
            "accounting",
        ]
        read_only_fields = fields

    @extend_schema_field(AccountingSerializer(allow_null=True))
    def get_accounting(self, valuation: Valuation) -> dict | None:
        if valuation.status != ValuationStatus.DONE:
            return None
        return AccountingSerializer(accounting_data(services.valuation_accounting(valuation))).data


class ValuationCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Run a valuation; `inputs` are the method's (see the method's inputs in `valuation.methods`)."""

    product = serializers.IntegerField(min_value=1, help_text=_("Your product, or a registered product to appraise."))
    method = method_field()
    inputs = serializers.DictField(
        help_text=_(
            "The method's inputs: cost items and rates (cost); useful life, discount rate and income series (income);"
            ' `comparables` as objects with a price and coefficients, or `{"id": <comparable>}` (market);'
            ' `components` as `{"valuation": <id>, "weight": "0.6"}` (composite).'
        )
    )
    holding_purpose = holding_purpose_field(default=HoldingPurpose.INTERNAL_USE)
    pledge_ratio = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        required=False,
        allow_null=True,
        help_text=_("Above 0 and at most 1; leave out for the exchange's default."),
    )
    amortisation_years = serializers.IntegerField(min_value=1, max_value=50, default=5)
    organization = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text=_(
            "The organisation that performs the valuation, for a signed-in user in several organisations; "
            "an API key always acts for its own."
        ),
    )

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if attrs["method"] == Method.MARKET:
            self._check_references(attrs["inputs"], "comparables", "id", _("Give the id of one of your comparables."))
        if attrs["method"] == Method.COMPOSITE:
            message = _("Give the id of a finished valuation of this product.")
            self._check_references(attrs["inputs"], "components", "valuation", message, required=True)
        return attrs

    def _check_references(self, inputs: dict, name: str, key: str, message: str, *, required: bool = False) -> None:
        """Comparables and components are a list of objects; their reference (`id`, `valuation`) is an id."""
        items = inputs.get(name, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise serializers.ValidationError({f"inputs.{name}": [_("Give a list of objects.")]})
        for index, item in enumerate(items):
            if key not in item and not required:
                continue
            reference = item.get(key)
            if type(reference) is not int or reference < 1:
                raise serializers.ValidationError({f"inputs.{name}[{index}].{key}": [message]})


# --- accounting schedule --------------------------------------------------------------------------------------


class ScheduleRowSerializer(serializers.Serializer):
    """One period of the straight-line schedule (the CSV has the same columns)."""

    period = serializers.IntegerField(read_only=True)
    period_start = serializers.DateField(read_only=True)
    period_end = serializers.DateField(read_only=True)
    opening_book_value = money_field(source="opening")
    amortisation = money_field()
    accumulated_amortisation = money_field(source="accumulated")
    closing_book_value = money_field(source="closing")


class ScheduleSerializer(serializers.Serializer):
    """The amortisation schedule of a finished valuation; no rows for inventory (held for sale: not amortised)."""

    valuation = serializers.IntegerField(read_only=True)
    asset_class = asset_class_field(read_only=True)
    standard = serializers.CharField(read_only=True)
    amortised = serializers.BooleanField(read_only=True)
    start = serializers.DateField(read_only=True, allow_null=True)
    periods = serializers.IntegerField(read_only=True)
    note = serializers.CharField(
        read_only=True, allow_null=True, help_text=_("Why there are no rows, if there are none.")
    )
    rows = ScheduleRowSerializer(many=True, read_only=True)


# --- comparables ----------------------------------------------------------------------------------------------


class ComparableSerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer(read_only=True)
    price = money_field(help_text=_("CNY."))

    class Meta:
        model = ComparableTransaction
        fields = ["id", "organization", "sector", "description", "price", "transacted_on", "source", "created_at"]
        read_only_fields = fields


class ComparableCreateSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A comparable transaction entered by hand; the service checks the price is positive."""

    organization = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text=_("For a signed-in user in several organisations; an API key always enters for its own."),
    )

    class Meta:
        model = ComparableTransaction
        fields = ["organization", "sector", "description", "price", "transacted_on", "source"]


# --- batch revaluation ----------------------------------------------------------------------------------------


class RevaluationSerializer(serializers.ModelSerializer):
    """A batch's progress: poll it until `status` is `done`."""

    status = EnumField(BatchStatus.choices, enum_name="RevaluationStatusEnum", read_only=True)
    progress = serializers.IntegerField(read_only=True, help_text=_("Percent of the products processed (0-100)."))

    class Meta:
        model = RevaluationBatch
        fields = ["id", "status", "total", "completed", "failed", "progress", "created_at", "finished_at"]
        read_only_fields = fields


class RevaluationStartSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Start a batch revaluation for one organisation."""

    products = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        max_length=MAX_REVALUED_PRODUCTS,
        help_text=_(
            "Product ids; leave out to revalue every product your organisation has valued. Each is revalued with "
            "the method and inputs of your latest finished valuation of it (none: it counts as failed)."
        ),
    )
    organization = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text=_("For a signed-in user in several organisations; an API key always acts for its own."),
    )
