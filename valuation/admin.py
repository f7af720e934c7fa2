"""Regulator console for valuations: read-only evidence of who valued which product, how, and with which figures.

Valuations are evidence (a lender may rely on one, the books carry one): nobody adds, changes or deletes them here,
not even a superuser. Accredited appraisals and self-assessments are told apart in every list and on every page.
Inputs and working are shown as tables in a fixed order (PostgreSQL returns JSON objects key-sorted), every merchant
string escaped by `format_html`.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from registry.admin import html_table, render_audit_trail
from valuation import services
from valuation.choices import Method, PerformerKind, ValuationStatus
from valuation.methods import COST_ITEMS
from valuation.methods.numbers import money as to_cent
from valuation.methods.numbers import to_decimal
from valuation.models import ComparableTransaction, RevaluationBatch, Valuation

# --- labels and the order figures are shown in ---------------------------------------------------------------------

LABELS = {
    "method": _("method"),
    "variant": _("variant"),
    "aggregation": _("aggregation"),
    "index": _("no."),
    "year": _("year"),
    "sources": _("source valuations"),
    "reference": _("transaction"),
    "source": _("source"),
    "description": _("transaction"),
    "id": _("comparable"),
    "include_exchange": _("include the exchange's settled contracts"),
    "items": _("cost items"),
    "planning": _("planning"),
    "collection": _("collection"),
    "storage": _("storage"),
    "processing": _("processing and cleaning"),
    "labelling": _("labelling"),
    "maintenance": _("maintenance"),
    "indirect": _("indirect costs"),
    "direct_cost": _("direct cost"),
    "indirect_cost": _("indirect cost"),
    "total_cost": _("total cost"),
    "profit_rate": _("reasonable profit rate"),
    "profit": _("profit"),
    "replacement_cost": _("replacement cost"),
    "obsolescence_rate": _("obsolescence rate"),
    "obsolescence": _("obsolescence"),
    "depreciated_cost": _("depreciated cost"),
    "quality_score": _("quality score"),
    "adjustment_coefficient": _("value adjustment coefficient"),
    "coefficient_source": _("coefficient taken from"),
    "useful_life_years": _("remaining useful life (years)"),
    "discount_rate": _("discount rate"),
    "attribution_share": _("attribution share"),
    "income": _("income"),
    "income_with_data": _("income with the data"),
    "income_without_data": _("income without the data"),
    "revenue": _("revenue"),
    "royalty_rate": _("royalty rate"),
    "split_share": _("profit split share"),
    "growth_rate": _("growth rate after the given years"),
    "mid_year": _("mid-year convention"),
    "rows": _("income by year"),
    "attributable_income": _("attributable income"),
    "discount_factor": _("discount factor"),
    "present_value": _("present value"),
    "extrapolated": _("extrapolated"),
    "total_income": _("total income"),
    "total_attributable_income": _("total attributable income"),
    "comparables": _("comparable transactions"),
    "price": _("price"),
    "quality": _("quality coefficient"),
    "supply_demand": _("supply and demand coefficient"),
    "date": _("date coefficient"),
    "volume": _("volume coefficient"),
    "other": _("other coefficient"),
    "coefficients": _("coefficients"),
    "combined_coefficient": _("combined coefficient"),
    "adjusted_price": _("adjusted price"),
    "weight": _("weight"),
    "count": _("comparables used"),
    "minimum": _("lowest adjusted price"),
    "maximum": _("highest adjusted price"),
    "mean": _("mean adjusted price"),
    "standard_deviation": _("standard deviation"),
    "coefficient_of_variation": _("coefficient of variation"),
    "weight_total": _("total weight"),
    "components": _("components"),
    "contributions": _("contributions"),
    "value": _("value (CNY)"),
    "contribution": _("contribution"),
}
ORDER = {key: position for position, key in enumerate(LABELS)}  # figures are shown in the order of LABELS
NESTED_LABELS = {"sources": _("as given")}  # a nested figure told apart from the row's own figure of the same name
MONEY_KEYS = frozenset({
    *COST_ITEMS, "direct_cost", "indirect_cost", "total_cost", "profit", "replacement_cost", "obsolescence",
    "depreciated_cost", "income", "income_with_data", "income_without_data", "revenue", "attributable_income",
    "present_value", "total_income", "total_attributable_income", "price", "adjusted_price", "minimum", "maximum",
    "mean", "standard_deviation", "contribution", "value",
})  # fmt: skip
RATE_KEYS = frozenset({
    "profit_rate", "obsolescence_rate", "discount_rate", "attribution_share", "royalty_rate", "split_share",
    "growth_rate",
})  # fmt: skip
SERIES_KEYS = frozenset({"income", "income_with_data", "income_without_data", "revenue", "profit"})
VALUE_LABELS = {
    "method": dict(Method.choices),
    "variant": {
        "direct": _("direct income"),
        "incremental": _("incremental income"),
        "royalty_savings": _("royalty savings"),
        "profit_split": _("profit split"),
    },
    "aggregation": {"mean": _("mean"), "median": _("median"), "weighted": _("weighted mean")},
    "coefficient_source": {"quality_score": _("the quality score"), "override": _("entered by hand")},
    "source": {"manual": _("entered by hand"), "exchange": _("settled on the exchange")},
}
ASSET_CLASSES = {
    "intangible_asset": (_("Intangible asset"), _("CAS 6 Intangible Assets")),
    "inventory": (_("Inventory"), _("CAS 1 Inventories")),
}

Link = Callable[[Any], Any]


# --- rendering stored JSON as tables -------------------------------------------------------------------------------


def label(key: str) -> Any:
    return LABELS.get(key, key.replace("_", " "))


def money(value: Any) -> str:
    """An amount with thousands separators and two decimals; "—" when it is not a number.

    Chinese financial statements group yuan by thousands with commas too; Django's zh-Hans format has no separator.
    """
    number = to_decimal(value)
    return "—" if number is None else f"{to_cent(number):,}"


def percent(value: Any) -> str:
    """A rate given as a fraction, as a percentage: 0.125 → 12.5 %."""
    number = to_decimal(value)
    return "—" if number is None else f"{(number * 100).normalize():f} %"


def render_value(key: str, value: Any) -> Any:
    """One figure, formatted by what it is: an amount, a rate, a code with a label, a yes or no."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key == "index" and isinstance(value, int):
        return value + 1  # comparables are numbered from 1, as in the sensitivity rows
    if key in VALUE_LABELS:
        return VALUE_LABELS[key].get(str(value), value)
    if key in MONEY_KEYS:
        return money(value)
    if key in RATE_KEYS:
        return percent(value)
    return value


def _ordered(data: dict) -> list[tuple[str, Any]]:
    return sorted(data.items(), key=lambda item: (ORDER.get(item[0], len(ORDER)), item[0]))


def render_data(data: Any, key: str = "", *, link: Link = str) -> Any:
    """Inputs or working as nested tables: objects as label/value rows, lists of objects as tables."""
    if isinstance(data, dict):
        return _pairs((label(k), render_data(v, k, link=link)) for k, v in _ordered(data) if v is not None)
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        return _records(data)
    if isinstance(data, list):
        return _series(key, data, link=link)
    return render_value(key, data)


def _pairs(pairs: Iterable[tuple[Any, Any]]) -> SafeString:
    rows = format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', pairs)
    return format_html("<table><tbody>{}</tbody></table>", rows)


def _records(items: list[dict]) -> Any:
    """A table with a column per key; a nested object (coefficients, a year's sources) spreads over columns."""
    keys = {k for item in items for k, v in item.items() if not isinstance(v, dict)}
    columns: dict[tuple[str, str | None], Any] = {}
    for item in items:
        for k, v in _ordered(item):
            inner = [(k, i) for i, _v in _ordered(v)] if isinstance(v, dict) else [(k, None)]
            columns.update({c: _column_label(c, keys) for c in inner if c not in columns})
    shown = sorted((c for c in columns if not _repeats(items, c, keys)), key=_column_order)
    rows = ([_cell(item, column) for column in shown] for item in items)
    return html_table([columns[c] for c in shown], rows)


def _repeats(items: list[dict], column: tuple[str, str | None], keys: set[str]) -> bool:
    """A nested figure equal, in every row, to the row's own figure of the same name (direct income) is not shown."""
    inner = column[1]
    return inner in keys and all(_cell(item, column) == _cell(item, (inner, None)) for item in items)


def _column_order(column: tuple[str, str | None]) -> tuple:
    outer, inner = column
    return ORDER.get(outer, len(ORDER)), outer, ORDER.get(inner or "", -1), inner or ""


def _column_label(column: tuple[str, str | None], keys: set[str]) -> Any:
    outer, inner = column
    if inner is None:
        return label(outer)
    if inner not in keys:
        return label(inner)
    return _("%(figure)s (%(part_of)s)") % {"figure": label(inner), "part_of": NESTED_LABELS.get(outer, label(outer))}


def _cell(item: dict, column: tuple[str, str | None]) -> Any:
    outer, inner = column
    value = item.get(outer)
    if inner is not None:
        value = value.get(inner) if isinstance(value, dict) else None
    return render_value(inner or outer, value)


def _series(key: str, values: list, *, link: Link = str) -> Any:
    """Yearly figures as a row under year headings; source valuations as links; anything else comma-separated."""
    if key == "sources":
        return format_html_join(", ", "{}", ((link(value),) for value in values)) or "—"
    if key in SERIES_KEYS and values:
        headers = [_("year %(number)s") % {"number": year} for year in range(1, len(values) + 1)]
        return html_table(headers, [[money(value) for value in values]])
    return ", ".join(str(render_value(key, value)) for value in values) or "—"


def parameter_label(name: str) -> Any:
    """A sensitivity parameter: an input's name, or `comparables[.i].coefficient` for the market approach."""
    if not name.startswith("comparables"):
        return label(name)
    target, _dot, coefficient = name.partition(".")
    if target == "comparables":
        return _("every comparable: %(coefficient)s") % {"coefficient": label(coefficient)}
    number = int(target.removeprefix("comparables[").removesuffix("]")) + 1
    return _("comparable %(number)s: %(coefficient)s") % {"number": number, "coefficient": label(coefficient)}


def render_sensitivity(rows: list[dict]) -> Any:
    """The one-at-a-time sensitivity rows (the data of the tornado chart), largest swing first."""

    def parameter_value(row: dict, key: str) -> Any:
        name = row.get("parameter", "")
        return percent(row.get(key)) if name in RATE_KEYS else row.get(key, "—")

    table = (
        [
            parameter_label(row.get("parameter", "")),
            *(parameter_value(row, key) for key in ("base_input", "low_input", "high_input")),
            *(money(row.get(key)) for key in ("low_value", "high_value", "swing")),
        ]
        for row in rows
    )
    headers = [_("parameter"), _("base"), _("low"), _("high"), _("value at low"), _("value at high"), _("swing")]
    return html_table(headers, table, empty=_("No sensitivity analysis (a composite takes its components' ranges)."))


def render_accounting(valuation: Valuation) -> Any:
    """Classification under the MoF interim provisions, the amortisation it implies, and the lending ceiling."""
    try:
        treatment = services.valuation_accounting(valuation)
    except DomainError as exc:
        return exc.message
    classification, pledge = treatment.classification, treatment.pledge
    asset_class, standard = ASSET_CLASSES.get(classification.asset_class, (classification.asset_class, ""))
    rows = [
        (_("classification"), asset_class),
        (_("accounting standard"), standard or classification.standard),
        (_("amortised"), _("yes") if classification.amortised else _("no (carried at the lower of cost and NRV)")),
    ]
    if treatment.schedule:
        rows += [
            (_("amortised from"), formats.localize(treatment.schedule_start)),
            (_("periods (months)"), len(treatment.schedule)),
            (_("monthly amortisation (CNY)"), money(treatment.schedule[0].amortisation)),
        ]
    rows += [(_("pledge ratio"), percent(pledge.ratio)), (_("pledge ceiling (CNY)"), money(pledge.ceiling))]
    return _pairs(rows)


def performed_as(valuation: Valuation) -> SafeString:
    """Accredited appraisal (strong) or self-assessment: never to be confused."""
    text = valuation.get_performer_kind_display()
    if valuation.performer_kind == PerformerKind.ACCREDITED:
        return format_html('<strong class="accredited">{}</strong>', text)
    return format_html('<span class="self-assessed">{}</span>', text)


# --- admin classes -------------------------------------------------------------------------------------------------


class EvidenceAdminMixin:
    """Readable by whoever holds the view permission; nobody adds, changes or deletes evidence here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PerformerKindFilter(admin.ChoicesFieldListFilter):
    """Accredited appraisals or self-assessments, under a title that says so."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = _("accredited or self-assessed")


VALUATION_FIELDSETS = [
    (
        _("Valuation"),
        {
            "fields": [
                "product",
                "product_owner",
                "version",
                "performer_link",
                "performed_as_display",
                "method",
                "status",
                "as_of",
                "batch",
                "created_by",
                "created_at",
                "finished_at",
            ]
        },
    ),
    (_("Value"), {"fields": ["value_display", "range_display", "quality_score"]}),
    (_("Holding purpose and pledge"), {"fields": ["holding_purpose", "pledge_ratio", "amortisation_years"]}),
    (_("Why it failed"), {"fields": ["error"]}),
    (_("Inputs"), {"fields": ["inputs_table"]}),
    (_("Working"), {"fields": ["working_table"]}),
    (_("Sensitivity"), {"fields": ["sensitivity_table"]}),
    (_("Accounting treatment"), {"fields": ["accounting_table"]}),
    (_("Audit trail"), {"fields": ["audit_trail"]}),
]


@admin.register(Valuation)
class ValuationAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = [
        "product",
        "performer",
        "performed_as_display",
        "method",
        "status",
        "value_display",
        "range_display",
        "quality",
        "as_of",
        "created_at",
    ]
    list_filter = [("performer_kind", PerformerKindFilter), "method", "status", "holding_purpose"]
    list_select_related = ["product", "organization"]
    search_fields = [
        "product__title",
        "organization__name",
        "organization__credit_code",
        "product__organization__name",
        "product__organization__credit_code",
    ]
    fieldsets = VALUATION_FIELDSETS
    readonly_fields = [name for _title, options in VALUATION_FIELDSETS for name in options["fields"]]

    def get_fieldsets(self, request: HttpRequest, obj: Valuation | None = None) -> list:
        """The failure section only for a failed run; working, sensitivity and accounting only once done."""
        if obj is None:
            return self.fieldsets
        hidden = (
            set() if obj.status == ValuationStatus.DONE else {"working_table", "sensitivity_table", "accounting_table"}
        )
        hidden |= set() if obj.status == ValuationStatus.FAILED else {"error"}
        return [(title, options) for title, options in self.fieldsets if not hidden.intersection(options["fields"])]

    @admin.display(description=_("performed by"), ordering="organization__name")
    def performer(self, obj: Valuation) -> str:
        return obj.organization.name

    @admin.display(description=_("performed by"))
    def performer_link(self, obj: Valuation) -> SafeString:
        url = reverse(f"{self.admin_site.name}:accounts_organization_change", args=[obj.organization_id])
        return format_html('<a href="{}">{}</a> ({})', url, obj.organization.name, obj.organization.credit_code)

    @admin.display(description=_("performed as"), ordering="performer_kind")
    def performed_as_display(self, obj: Valuation) -> SafeString:
        return performed_as(obj)

    @admin.display(description=_("product owner"))
    def product_owner(self, obj: Valuation) -> str:
        return obj.product.organization.name

    @admin.display(description=_("value (CNY)"), ordering="value")
    def value_display(self, obj: Valuation) -> str:
        return money(obj.value)

    @admin.display(description=_("range (CNY)"))
    def range_display(self, obj: Valuation) -> str:
        return "—" if obj.low is None else f"{money(obj.low)} – {money(obj.high)}"  # noqa: RUF001 (an en dash between figures)

    @admin.display(description=_("quality score"), ordering="quality_score")
    def quality(self, obj: Valuation) -> str:
        return "—" if obj.quality_score is None else f"{obj.quality_score:.1f}"

    @admin.display(description=_("inputs"))
    def inputs_table(self, obj: Valuation) -> Any:
        return render_data(obj.inputs, link=self._valuation_link)

    @admin.display(description=_("working"))
    def working_table(self, obj: Valuation) -> Any:
        return render_data(obj.result, link=self._valuation_link) if obj.result else "—"

    @admin.display(description=_("parameters, largest swing first"))
    def sensitivity_table(self, obj: Valuation) -> Any:
        return render_sensitivity(obj.sensitivity)

    @admin.display(description=_("treatment"))
    def accounting_table(self, obj: Valuation) -> Any:
        return render_accounting(obj)

    @admin.display(description=_("events, newest first"))
    def audit_trail(self, obj: Valuation) -> Any:
        return render_audit_trail(obj)

    def _valuation_link(self, pk: Any) -> SafeString:
        url = reverse(f"{self.admin_site.name}:valuation_valuation_change", args=[pk])
        return format_html('<a href="{}">#{}</a>', url, pk)


@admin.register(ComparableTransaction)
class ComparableTransactionAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = ["description", "sector", "price_display", "transacted_on", "source", "organization", "created_at"]
    list_filter = ["sector"]
    list_select_related = ["organization"]
    search_fields = ["description", "source", "organization__name", "organization__credit_code"]
    fields = ["organization", "sector", "description", "price_display", "transacted_on", "source", "created_by",
              "created_at"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("price (CNY)"), ordering="price")
    def price_display(self, obj: ComparableTransaction) -> str:
        return money(obj.price)


@admin.register(RevaluationBatch)
class RevaluationBatchAdmin(EvidenceAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "organization", "status", "total", "completed", "failed", "progress_display",
                    "created_at", "finished_at"]  # fmt: skip
    list_filter = ["status"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "organization__credit_code"]
    fields = ["organization", "status", "total", "completed", "failed", "progress_display", "created_by",
              "created_at", "finished_at", "valuation_list"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("progress"))
    def progress_display(self, obj: RevaluationBatch) -> str:
        return f"{obj.progress} %"

    @admin.display(description=_("valuations"))
    def valuation_list(self, obj: RevaluationBatch) -> Any:
        rows = (
            (self._link(v), performed_as(v), v.get_method_display(), v.get_status_display(), money(v.value))
            for v in obj.valuations.select_related("product", "organization").order_by("pk")
        )
        headers = [_("product"), _("performed as"), _("method"), _("status"), _("value (CNY)")]
        return html_table(headers, rows, empty=_("No valuation has been requested yet."))

    def _link(self, valuation: Valuation) -> SafeString:
        url = reverse(f"{self.admin_site.name}:valuation_valuation_change", args=[valuation.pk])
        return format_html('<a href="{}">{}</a>', url, valuation.product)
