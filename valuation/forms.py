"""Web forms of valuation, one per method. They check input and turn it into the inputs `valuation.services` reads.

People type rates as percentages (12 for 12 %); the methods take fractions (0.12): `PercentField` converts exactly.
The forms check every bound the methods check, so a mistake is shown on its own field in the person's terms; the
service checks again and has the last word (its errors land on the same field names).
"""

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.forms import ServiceForm
from registry.choices import Sector
from valuation.choices import HoldingPurpose, Method, ValuationStatus
from valuation.methods import COST_ITEMS, VARIANTS
from valuation.methods.cost import COST_ITEM_LABELS
from valuation.models import ComparableTransaction, Valuation

HUNDRED = Decimal(100)
MONEY_FIELD = {"max_digits": 16, "decimal_places": 2}
# Figures in a series: commas, semicolons, spaces or new lines (ASCII or full-width) between them.
SERIES_SEPARATORS = re.compile(r"[\s,;\uff0c\uff1b\u3001]+")

COST_HELP = {
    "planning": _("Designing the data product: requirements, data model, compliance assessment."),
    "collection": _("Acquiring the raw data: purchase, licences, sensors, surveys, staff time."),
    "storage": _("Storage and computing over the data's life so far."),
    "processing": _("Cleaning, de-duplication, integration and de-identification."),
    "labelling": _("Annotation and labelling, by people or tools."),
    "maintenance": _("Updates, quality checks and security so far."),
    "indirect": _("A fair share of overheads: management, premises, depreciation of shared equipment."),
}
HOLDING_HELP = _(
    "Decides the accounting treatment (Ministry of Finance interim provisions, 2024): data held for internal use or "
    "to provide services is an intangible asset and amortised; data held for sale is inventory."
)
VARIANT_LABELS = {
    "direct": _("Direct income: what the data itself earns"),
    "incremental": _("Incremental income: income with the data minus income without it"),
    "royalty_savings": _("Royalty savings: the licence fee the owner does not pay"),
    "profit_split": _("Profit split: the data's share of a business's profit"),
}
AGGREGATION_LABELS = {
    "mean": _("Mean of the adjusted prices"),
    "median": _("Median of the adjusted prices"),
    "weighted": _("Weighted mean (by each comparable's weight)"),
}


class PercentField(forms.DecimalField):
    """A rate typed as a percentage; cleaned to the fraction (12.5 → 0.125), bounds checked in percent."""

    def __init__(self, *, low: Decimal, high: Decimal, open_low: bool = False, open_high: bool = False, **kwargs):
        self.low, self.high, self.open_low, self.open_high = low, high, open_low, open_high
        kwargs.setdefault("max_digits", 9)
        kwargs.setdefault("decimal_places", 4)
        super().__init__(widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}), **kwargs)

    def clean(self, value: Any) -> Decimal | None:
        percent = super().clean(value)
        if percent is None:
            return None
        too_low = percent <= self.low if self.open_low else percent < self.low
        too_high = percent >= self.high if self.open_high else percent > self.high
        if too_low or too_high:
            raise forms.ValidationError(self._bounds_message(), code="out_of_range")
        return percent / HUNDRED

    def _bounds_message(self) -> str:
        low = _("above %(n)s %%") if self.open_low else _("at least %(n)s %%")
        high = _("below %(n)s %%") if self.open_high else _("at most %(n)s %%")
        return _("Enter a rate %(low)s and %(high)s.") % {
            "low": low % {"n": _plain(self.low)},
            "high": high % {"n": _plain(self.high)},
        }

    def prepare_value(self, value: Any) -> Any:
        """Initial fractions (from earlier inputs) are shown as percentages; typed text is shown as typed."""
        if isinstance(value, Decimal):
            return _plain(value * HUNDRED)
        return value


def money_field(label: str, *, required: bool = False, help_text: str = "", **kwargs: Any) -> forms.DecimalField:
    """An amount in yuan, at least 0, to the fen."""
    widget = forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"})
    return forms.DecimalField(
        label=label, required=required, min_value=0, help_text=help_text, widget=widget, **MONEY_FIELD, **kwargs
    )


def _plain(value: Decimal | None) -> str | None:
    """A Decimal as the string the methods read back exactly (no exponent)."""
    return None if value is None else format(value.normalize(), "f")


# --- options every method shares --------------------------------------------------------------------------------


class ValuationForm(ServiceForm):
    """Fields every valuation has: holding purpose (accounting), amortisation period, pledge ratio."""

    holding_purpose = forms.ChoiceField(
        label=_("Held for"), choices=HoldingPurpose.choices, initial=HoldingPurpose.INTERNAL_USE, help_text=HOLDING_HELP
    )
    amortisation_years = forms.IntegerField(
        label=_("Amortisation period (years)"),
        min_value=1,
        max_value=50,
        initial=5,
        help_text=_("For an intangible asset: the years over which its value is amortised, straight line."),
    )
    pledge_ratio = PercentField(
        label=_("Pledge ratio (%)"),
        required=False,
        low=Decimal(0),
        high=HUNDRED,
        open_low=True,
        help_text=_("The share of the value a lender would lend against it. Leave empty for the exchange's %(n)s %%."),
    )

    method: str = ""
    option_fields = ("holding_purpose", "amortisation_years", "pledge_ratio")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = _plain(Decimal(settings.VALUATION_PLEDGE_RATIO) * HUNDRED)
        field = self.fields["pledge_ratio"]
        field.help_text = field.help_text % {"n": default}

    def method_fields(self) -> list:
        return [self[name] for name in self.fields if name not in self.option_fields]

    def option_bound_fields(self) -> list:
        return [self[name] for name in self.option_fields]

    def inputs(self) -> dict[str, Any]:
        """The method's inputs from the cleaned data, in the JSON the service stores."""
        raise NotImplementedError

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "method": self.method,
            "inputs": self.inputs(),
            "holding_purpose": data["holding_purpose"],
            "amortisation_years": data["amortisation_years"],
            "pledge_ratio": data["pledge_ratio"],
        }


# --- cost approach ----------------------------------------------------------------------------------------------


class CostForm(ValuationForm):
    """Replacement cost by item, reasonable profit, obsolescence, and the quality adjustment."""

    method = Method.COST

    def __init__(self, *args: Any, quality_score: float | None = None, **kwargs: Any) -> None:
        self.quality_score = quality_score
        super().__init__(*args, **kwargs)
        items = {
            name: money_field(_("%(item)s (CNY)") % {"item": str(COST_ITEM_LABELS[name]).capitalize()},
                              help_text=COST_HELP[name])
            for name in COST_ITEMS
        }  # fmt: skip
        rates = {
            "profit_rate": PercentField(
                label=_("Reasonable profit rate (%)"), low=Decimal(0), high=HUNDRED, open_high=True,
                help_text=_("The profit a developer of such data would expect on its cost, e.g. 10 to 15."),
            ),
            "obsolescence_rate": PercentField(
                label=_("Obsolescence (%)"), low=Decimal(0), high=HUNDRED, open_high=True, initial=Decimal(0),
                help_text=_("Value lost to ageing data, functional and economic obsolescence."),
            ),
            "adjustment_coefficient": forms.DecimalField(
                label=_("Value adjustment coefficient"), required=False, max_digits=8, decimal_places=4,
                widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
                help_text=self._coefficient_help(),
            ),
        }  # fmt: skip
        self.fields = {**items, **rates, **self.fields}

    def _coefficient_help(self) -> str:
        if self.quality_score is None:
            return str(_("The product has no quality score yet: give a coefficient (1 leaves the cost unchanged)."))
        return str(
            _("Leave empty to use the quality score, %(score)s (80 is par, 1.0; 100 gives 1.1; 0 gives 0.5).")
            % {"score": f"{self.quality_score:.1f}"}
        )

    def clean_adjustment_coefficient(self) -> Decimal | None:
        value = self.cleaned_data.get("adjustment_coefficient")
        if value is not None and value <= 0:
            raise forms.ValidationError(_("The adjustment coefficient must be greater than 0."), code="out_of_range")
        if value is None and self.quality_score is None:
            raise forms.ValidationError(_("The product has no quality score yet: give a coefficient."), code="required")
        return value

    def inputs(self) -> dict[str, Any]:
        data = self.cleaned_data
        inputs = {name: _plain(data.get(name) or Decimal(0)) for name in COST_ITEMS}
        inputs["profit_rate"] = _plain(data["profit_rate"])
        inputs["obsolescence_rate"] = _plain(data.get("obsolescence_rate") or Decimal(0))
        if data.get("adjustment_coefficient") is not None:
            inputs["adjustment_coefficient"] = _plain(data["adjustment_coefficient"])
        return inputs

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not any(data.get(name) for name in COST_ITEMS) and not self.errors:
            raise forms.ValidationError(_("Enter at least one cost."), code="no_costs")
        return data


# --- income approach --------------------------------------------------------------------------------------------


class SeriesField(forms.CharField):
    """Amounts per year, first year first, separated by commas, spaces or new lines; cleaned to Decimal strings."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2, "inputmode": "decimal"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> list[str]:
        text = (super().clean(value) or "").strip()
        figures = [part for part in SERIES_SEPARATORS.split(text) if part]
        try:
            amounts = [Decimal(part) for part in figures]
        except ArithmeticError as exc:
            raise forms.ValidationError(_("Enter numbers only, one per year."), code="invalid") from exc
        if any(not amount.is_finite() for amount in amounts):
            raise forms.ValidationError(_("Enter numbers only, one per year."), code="invalid")
        if len(amounts) > 100:
            raise forms.ValidationError(_("Give at most 100 years."), code="too_long")
        return [_plain(amount) for amount in amounts]

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list | tuple) else value


SERIES_OF_VARIANT = {
    "direct": ("income",),
    "incremental": ("income_with_data", "income_without_data"),
    "royalty_savings": ("revenue",),
    "profit_split": ("profit",),
}
SHARE_OF_VARIANT = {"royalty_savings": "royalty_rate", "profit_split": "split_share"}
SERIES_HELP = _(
    "Yuan per year, first year first, separated by commas or new lines. A shorter series is extended with the growth "
    "rate up to the useful life."
)


class IncomeForm(ValuationForm):
    """Income the data brings over its remaining useful life, discounted."""

    method = Method.INCOME

    variant = forms.ChoiceField(
        label=_("Kind of income"),
        choices=[(v, VARIANT_LABELS[v]) for v in VARIANTS],
        initial="direct",
        widget=forms.RadioSelect,
    )
    useful_life_years = forms.IntegerField(
        label=_("Remaining useful life (years)"),
        min_value=1,
        max_value=100,
        help_text=_("How many more years the data will bring income; data ages, so usually 3 to 10."),
    )
    discount_rate = PercentField(
        label=_("Discount rate (%)"),
        low=-HUNDRED,
        high=HUNDRED,
        open_low=True,
        open_high=True,
        help_text=_("The return an investor would require for this risk, e.g. a risk-free rate plus a risk premium."),
    )
    attribution_share = PercentField(
        label=_("Share attributable to the data (%)"),
        low=Decimal(0),
        high=HUNDRED,
        open_low=True,
        initial=Decimal(1),
        help_text=_("The part of the income the data earns, as opposed to people, capital and other assets."),
    )
    growth_rate = PercentField(
        label=_("Growth after the years given (%)"),
        low=-HUNDRED,
        high=HUNDRED,
        open_low=True,
        open_high=True,
        required=False,
        initial=Decimal(0),
        help_text=_("Yearly change used to extend a series shorter than the useful life."),
    )
    mid_year = forms.BooleanField(
        label=_("Income arrives through the year (mid-year discounting)"),
        required=False,
        help_text=_("Discounts each year's income by half a year less, as if it arrived evenly."),
    )
    income = SeriesField(label=_("Income per year"), help_text=SERIES_HELP)
    income_with_data = SeriesField(label=_("Income with the data, per year"), help_text=SERIES_HELP)
    income_without_data = SeriesField(label=_("Income without the data, per year"), help_text=SERIES_HELP)
    revenue = SeriesField(label=_("Revenue that relies on the data, per year"), help_text=SERIES_HELP)
    royalty_rate = PercentField(
        label=_("Royalty rate (%)"),
        low=Decimal(0),
        high=HUNDRED,
        open_low=True,
        required=False,
        help_text=_("The licence fee, as a share of revenue, a user of such data would pay."),
    )
    profit = SeriesField(label=_("Profit per year"), help_text=SERIES_HELP)
    split_share = PercentField(
        label=_("Profit split (%)"),
        low=Decimal(0),
        high=HUNDRED,
        open_low=True,
        required=False,
        help_text=_("The data's share of the profit."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        variant = self.data.get("variant") if self.is_bound else None
        for kind, names in SERIES_OF_VARIANT.items():
            for name in (*names, SHARE_OF_VARIANT.get(kind)):
                if name:  # required for its own kind of income only (the page hides the others)
                    self.fields[name].required = variant in (None, kind)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        variant = data.get("variant")
        for name in SERIES_OF_VARIANT.get(variant, ()):
            if name in data and not data[name]:
                self.add_error(name, forms.ValidationError(_("Give at least one year."), code="required"))
        share = SHARE_OF_VARIANT.get(variant)
        if share and data.get(share) is None and share not in self.errors:
            self.add_error(share, forms.ValidationError(_("This field is required."), code="required"))
        if (
            variant == "incremental"
            and not self.errors
            and len(data["income_with_data"]) != len(data["income_without_data"])
        ):
            message = _("Give as many years without the data as with it.")
            self.add_error("income_without_data", forms.ValidationError(message, code="series_length"))
        return data

    def inputs(self) -> dict[str, Any]:
        data = self.cleaned_data
        variant = data["variant"]
        inputs: dict[str, Any] = {
            "variant": variant,
            "useful_life_years": data["useful_life_years"],
            "discount_rate": _plain(data["discount_rate"]),
            "attribution_share": _plain(data["attribution_share"]),
            "growth_rate": _plain(data.get("growth_rate") or Decimal(0)),
            "mid_year": bool(data.get("mid_year")),
        }
        for name in SERIES_OF_VARIANT[variant]:
            inputs[name] = data[name]
        if variant in SHARE_OF_VARIANT:
            inputs[SHARE_OF_VARIANT[variant]] = _plain(data[SHARE_OF_VARIANT[variant]])
        return inputs


# --- market approach --------------------------------------------------------------------------------------------

COEFFICIENT_LABELS = {
    "quality": _("Quality"),
    "supply_demand": _("Supply and demand"),
    "date": _("Date"),
    "volume": _("Volume"),
    "other": _("Other"),
}


def coefficient_field(label: str) -> forms.DecimalField:
    widget = forms.NumberInput(attrs={"step": "any", "min": "0", "inputmode": "decimal", "class": "input-narrow"})
    return forms.DecimalField(
        label=label, required=False, initial=Decimal(1), max_digits=8, decimal_places=4, widget=widget
    )


class ComparableRowForm(forms.Form):
    """One comparable: a saved transaction or a price typed here, and the coefficients adjusting it to this product."""

    saved = forms.ModelChoiceField(
        label=_("Saved comparable"),
        queryset=ComparableTransaction.objects.none(),
        required=False,
        empty_label=_("— not saved: describe it below —"),
    )
    reference = forms.CharField(
        label=_("What was sold"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("What was sold, and where")}),
    )
    price = money_field(_("Price (CNY)"))
    quality = coefficient_field(COEFFICIENT_LABELS["quality"])
    supply_demand = coefficient_field(COEFFICIENT_LABELS["supply_demand"])
    date = coefficient_field(COEFFICIENT_LABELS["date"])
    volume = coefficient_field(COEFFICIENT_LABELS["volume"])
    other = coefficient_field(COEFFICIENT_LABELS["other"])
    weight = coefficient_field(_("Weight"))

    def __init__(self, *args: Any, saved: QuerySet | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if saved is not None:
            self.fields["saved"].queryset = saved

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("saved") is None and data.get("price") is None and self.has_changed():
            self.add_error("price", forms.ValidationError(_("Give a price or choose a saved comparable."), "required"))
        for name in (*COEFFICIENT_LABELS, "weight"):
            value = data.get(name)
            if value is not None and (value < 0 or (value == 0 and name != "weight")):
                self.add_error(name, forms.ValidationError(_("Must be greater than 0."), code="out_of_range"))
        return data

    def comparable(self) -> dict[str, Any] | None:
        """The comparable as the market method reads it; None for an untouched row."""
        data = self.cleaned_data
        if not data or (data.get("saved") is None and data.get("price") is None):
            return None
        item = {
            name: _plain(data.get(name) if data.get(name) is not None else Decimal(1)) for name in COEFFICIENT_LABELS
        }
        item["weight"] = _plain(data["weight"] if data.get("weight") is not None else Decimal(1))
        if data.get("saved") is not None:
            item["id"] = data["saved"].pk
        if data.get("price") is not None:
            item["price"] = _plain(data["price"])
        if data.get("reference"):
            item["reference"] = data["reference"]
        return item


class BaseComparableFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, saved: QuerySet | None = None, **kwargs: Any) -> None:
        self.saved = saved
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "saved": self.saved}

    def clean(self) -> None:
        if any(self.errors):
            return
        if not [form for form in self.forms if form.comparable() is not None]:
            raise forms.ValidationError(
                _("A market valuation needs at least one comparable transaction."), code="no_comparables"
            )


ComparableFormSet = forms.formset_factory(
    ComparableRowForm, formset=BaseComparableFormSet, extra=3, max_num=100, absolute_max=100, validate_max=True
)


class MarketForm(ValuationForm):
    """Comparable transactions, each adjusted to the product by coefficients, then aggregated."""

    method = Method.MARKET

    aggregation = forms.ChoiceField(
        label=_("Value from the adjusted prices"),
        choices=list(AGGREGATION_LABELS.items()),
        initial="mean",
        widget=forms.RadioSelect,
    )

    def __init__(self, data: Any = None, *, saved: QuerySet, initial_rows: list | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.rows = ComparableFormSet(data, prefix="comparables", saved=saved, initial=initial_rows)

    def is_valid(self) -> bool:
        return all([super().is_valid(), self.rows.is_valid()])

    def inputs(self) -> dict[str, Any]:
        comparables = [item for item in (form.comparable() for form in self.rows.forms) if item is not None]
        return {"aggregation": self.cleaned_data["aggregation"], "comparables": comparables}


# --- composite --------------------------------------------------------------------------------------------------


class CompositeForm(ValuationForm):
    """Weights (in %, adding up to 100) for finished valuations of the same product by other methods."""

    method = Method.COMPOSITE

    def __init__(self, *args: Any, sources: list[Valuation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sources = sources
        weights = {
            f"weight_{source.pk}": PercentField(
                label=str(source), low=Decimal(0), high=HUNDRED, required=False, initial=Decimal(0)
            )
            for source in sources
        }
        self.fields = {**weights, **self.fields}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.sources:
            raise forms.ValidationError(_("Value the product by another method first."), code="no_components")
        if self.errors:
            return data
        total = sum((data.get(f"weight_{s.pk}") or Decimal(0) for s in self.sources), Decimal(0))
        if total != 1:
            message = _("The weights must add up to 100 %%; they add up to %(total)s %%.")
            raise forms.ValidationError(message % {"total": _plain(total * HUNDRED)}, code="weights_sum")
        return data

    def weight_rows(self) -> list[tuple[Valuation, Any]]:
        return [(source, self[f"weight_{source.pk}"]) for source in self.sources]

    def inputs(self) -> dict[str, Any]:
        weights = ((source, self.cleaned_data.get(f"weight_{source.pk}") or Decimal(0)) for source in self.sources)
        return {
            "components": [{"valuation": source.pk, "weight": _plain(weight)} for source, weight in weights if weight]
        }


METHOD_FORMS = {
    Method.COST: CostForm,
    Method.INCOME: IncomeForm,
    Method.MARKET: MarketForm,
    Method.COMPOSITE: CompositeForm,
}


def composite_sources(product: Any, organization: Any) -> list[Valuation]:
    """Finished cost, income and market valuations of the product by this organisation, newest first per method."""
    return list(
        Valuation.objects.filter(product=product, organization=organization, status=ValuationStatus.DONE)
        .exclude(method=Method.COMPOSITE)
        .select_related("product")
        .order_by("-created_at")[:20]
    )


# --- comparables and filters ------------------------------------------------------------------------------------


class ComparableForm(ServiceForm):
    """A comparable transaction entered by hand, with where its figure comes from."""

    sector = forms.ChoiceField(label=_("Sector"), choices=Sector.choices)
    description = forms.CharField(label=_("What was sold"), max_length=300)
    price = money_field(_("Price (CNY)"), required=True)
    transacted_on = forms.DateField(label=_("Transaction date"), widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.CharField(
        label=_("Source"), max_length=200, help_text=_("Where the figure comes from: an exchange bulletin, a contract.")
    )

    def clean_price(self) -> Decimal:
        price = self.cleaned_data["price"]
        if price <= 0:
            raise forms.ValidationError(_("The price must be positive."), code="out_of_range")
        return price


class ValuationFilterForm(forms.Form):
    """Filters of the valuation list."""

    method = forms.ChoiceField(label=_("Method"), choices=[("", _("All methods")), *Method.choices], required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *ValuationStatus.choices], required=False
    )
    accredited = forms.ChoiceField(
        label=_("Performed as"),
        choices=[("", _("Any")), ("yes", _("Accredited appraisal")), ("no", _("Self-assessment"))],
        required=False,
    )

    def filter(self, queryset: QuerySet) -> QuerySet:
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data["method"]:
            queryset = queryset.filter(method=data["method"])
        if data["status"]:
            queryset = queryset.filter(status=data["status"])
        if data["accredited"]:
            queryset = queryset.filter(performer_kind="accredited" if data["accredited"] == "yes" else "self")
        return queryset
