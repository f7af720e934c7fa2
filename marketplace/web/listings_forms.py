"""Forms of the merchant's listing pages: the listing's licence terms and one price plan form per plan kind.

They check input and hand it to marketplace.services.listings; the services check the rules across fields.
"""

from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.forms import ServiceForm
from marketplace.choices import PlanKind, Territory
from marketplace.models import Listing, PricePlan
from marketplace.services.listings import KIND_FIELDS, LISTING_FIELDS, PLAN_FIELDS
from registry.choices import LicenceTemplate
from registry.forms import _choice_help  # the registry's help for a choice field: its choices explained

LICENCE_HELP = {
    LicenceTemplate.STANDARD: _("Commercial use inside the buyer's organisation; no copies to others."),
    LicenceTemplate.RESEARCH: _("Research, teaching and other non-commercial use; results may be published."),
    LicenceTemplate.INTERNAL: _("Use by the buyer's own staff only, never in products offered to others."),
    LicenceTemplate.OPEN: _("Any lawful use, copies and transfers allowed, as long as the source is credited."),
}
# What each template usually permits: "Apply the template" fills these in, the merchant can still change them.
LICENCE_DEFAULTS = {
    LicenceTemplate.STANDARD: {
        "permitted_purposes": _(
            "Analysis, modelling and decision-making inside the licensee's organisation, including for products and "
            "services it offers, without giving the data itself to others."
        ),
        "redistribution": False,
        "onward_transfer": False,
    },
    LicenceTemplate.RESEARCH: {
        "permitted_purposes": _(
            "Academic research, teaching and other non-commercial studies. Published results must not allow the data "
            "to be reconstructed; no commercial use."
        ),
        "redistribution": False,
        "onward_transfer": False,
    },
    LicenceTemplate.INTERNAL: {
        "permitted_purposes": _(
            "Internal analysis and reporting by the licensee's own staff only; not for products or services offered "
            "to others."
        ),
        "redistribution": False,
        "onward_transfer": False,
    },
    LicenceTemplate.OPEN: {
        "permitted_purposes": _("Any lawful purpose, provided the merchant is credited as the source."),
        "redistribution": True,
        "onward_transfer": True,
    },
}
TERRITORY_HELP = {
    Territory.MAINLAND: _("The data is used inside mainland China only."),
    Territory.CITY: _("The data is used inside this city only, e.g. for local public services."),
    Territory.WORLDWIDE: _(
        "The data may be used anywhere. Sending it abroad still needs the security assessment, standard contract or "
        "certification that the cross-border data rules require."
    ),
}


def _licence_help() -> str:
    return _choice_help(
        gettext("A starting point for the terms below. “Apply the template” fills in its usual purposes and rights."),
        LicenceTemplate,
        LICENCE_HELP,
    )


def _territory_help() -> str:
    return _choice_help(gettext("Where buyers may use the data."), Territory, TERRITORY_HELP)


def _model_field(model: Any, name: str, **kwargs: Any) -> forms.Field:
    """The form field Django derives from the model field (label, length, choices), adjusted by `kwargs`."""
    field = model._meta.get_field(name).formfield(**kwargs)
    choices = list(getattr(field, "choices", []))
    if choices and choices[0][0] == "":  # Django's blank label has no Chinese translation yet
        field.choices = [("", _("Choose one")), *choices[1:]]
    return field


class ListingForm(ServiceForm):
    """A listing's description and licence terms; contracts quote the terms as they are when the buyer signs."""

    title = _model_field(Listing, "title", help_text=_("The name buyers see in the catalogue."))
    description = _model_field(
        Listing,
        "description",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What buyers get: the fields, the period and area covered, how often it is refreshed, uses."),
    )
    licence_template = _model_field(Listing, "licence_template", help_text=lazy(_licence_help, str)())
    permitted_purposes = _model_field(
        Listing,
        "permitted_purposes",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "What buyers may use the data for. Each contract quotes this text; the buyer states a purpose that must "
            "fall within it."
        ),
    )
    term_months = _model_field(
        Listing,
        "term_months",
        min_value=1,
        max_value=120,
        help_text=_("How long a contract's licence runs from its start, in months (1 to 120)."),
    )
    territory = _model_field(Listing, "territory", widget=forms.RadioSelect, help_text=lazy(_territory_help, str)())
    redistribution = _model_field(
        Listing,
        "redistribution",
        help_text=_("Buyers may pass copies of the data, or substantial extracts, to others."),
    )
    onward_transfer = _model_field(
        Listing,
        "onward_transfer",
        help_text=_("Buyers may transfer the licence itself to another organisation, e.g. when a business is sold."),
    )

    TERMS = ("licence_template", "permitted_purposes", "term_months", "territory", "redistribution", "onward_transfer")

    @classmethod
    def for_product(cls, product: Any) -> "ListingForm":
        """A new listing's form: the product's title and summary, its licence template's usual terms."""
        initial = {"title": product.title, "description": product.summary, "licence_template": product.licence_template}
        return cls(initial={**initial, **LICENCE_DEFAULTS.get(product.licence_template, {})})

    @classmethod
    def for_listing(cls, listing: Listing, data: Any = None) -> "ListingForm":
        return cls(data, initial={name: getattr(listing, name) for name in LISTING_FIELDS})

    @classmethod
    def with_template(cls, data: Any) -> "ListingForm":
        """An unbound form keeping what was typed, with the chosen template's purposes and rights filled in."""
        form = cls(data)
        initial = {name: form[name].data for name in form.fields}
        template = data.get("licence_template")
        return cls(initial={**initial, **LICENCE_DEFAULTS.get(template, {})})

    def terms(self) -> list[forms.BoundField]:
        return [self[name] for name in self.TERMS]

    def service_data(self) -> dict[str, Any]:
        """Keyword arguments for `listing_create` / `listing_update`."""
        return {name: self.cleaned_data[name] for name in LISTING_FIELDS}


# --- price plans ------------------------------------------------------------------------------------------------

COMMON_PLAN_FIELDS = ("requires_approval", "exclusive")
# The fields of each kind are the service's (`KIND_FIELDS`, which clears the others), so the form asks for nothing
# the service would throw away.
PLAN_KIND_FIELDS = {
    kind: ("name", "price", *(name for name in PLAN_FIELDS if name in KIND_FIELDS[kind]), *COMMON_PLAN_FIELDS)
    for kind in PlanKind
}
PLAN_KIND_HELP = {
    PlanKind.LICENCE: _("The buyer pays once and downloads the registered version during the licence term."),
    PlanKind.SUBSCRIPTION: _("The buyer pays each month or year and downloads every new registered version."),
    PlanKind.METERED_API: _("The buyer calls the data through the API with a key; calls past the free quota are paid."),
    PlanKind.SANDBOX: _(
        "The buyer runs queries on the data inside the exchange's sandbox and sees only results that pass disclosure "
        "control; nothing is downloaded. The only plan for level-4 data."
    ),
}
PRICE_HELP = {
    PlanKind.LICENCE: _("Paid once, for the whole licence term."),
    PlanKind.SUBSCRIPTION: _("Paid each billing period."),
    PlanKind.METERED_API: _("Paid up front when the contract starts (0 for none); calls are billed on top."),
    PlanKind.SANDBOX: _("Paid once, for sandbox access during the licence term."),
}
PLAN_HELP = {
    "name": _("How buyers see the plan, e.g. “Annual licence” or “Pay per call”."),
    "billing_period": _("How often the subscription is billed and new versions are delivered."),
    "download_days": _("How many days after the contract starts the buyer can download the data (within its term)."),
    "price_per_call": _("Charged for each call beyond the free quota, in CNY (0 for free calls)."),
    "free_calls": _("Calls each month that cost nothing."),
    "rate_limit_per_minute": _("Calls beyond this per minute are refused, to protect the service."),
    "requires_approval": _(
        "You approve each request before the buyer pays. Without it, the terms you sign on submitting the listing "
        "are your standing offer and a request becomes a contract once paid."
    ),
    "exclusive": _("Only one buyer at a time can hold a contract on this plan."),
}


class PlanForm(ServiceForm):
    """A price plan of one kind, with only that kind's fields."""

    name = _model_field(PricePlan, "name", help_text=PLAN_HELP["name"])
    price = _model_field(PricePlan, "price")
    billing_period = _model_field(PricePlan, "billing_period", required=True, help_text=PLAN_HELP["billing_period"])
    download_days = _model_field(PricePlan, "download_days", min_value=1, help_text=PLAN_HELP["download_days"])
    price_per_call = _model_field(PricePlan, "price_per_call", required=True, help_text=PLAN_HELP["price_per_call"])
    free_calls = _model_field(PricePlan, "free_calls", help_text=PLAN_HELP["free_calls"])
    rate_limit_per_minute = _model_field(
        PricePlan, "rate_limit_per_minute", min_value=1, help_text=PLAN_HELP["rate_limit_per_minute"]
    )
    requires_approval = _model_field(PricePlan, "requires_approval", help_text=PLAN_HELP["requires_approval"])
    exclusive = _model_field(PricePlan, "exclusive", help_text=PLAN_HELP["exclusive"])

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        for name in set(self.fields) - set(PLAN_KIND_FIELDS[kind]):
            del self.fields[name]
        self.fields["price"].help_text = PRICE_HELP[kind]
        self.initial.setdefault("name", PlanKind(kind).label)

    def service_data(self) -> dict[str, Any]:
        """Keyword arguments for `plan_add`: the kind and its own fields."""
        return {"kind": self.kind, **{name: self.cleaned_data[name] for name in self.fields if name in PLAN_FIELDS}}


class DelistForm(ServiceForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the ledger and shown on the listing. Contracts already made run on."),
    )
