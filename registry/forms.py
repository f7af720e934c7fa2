"""Web forms of the registry: they check input and hand it to registry.services; they never save models themselves."""

import re
from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import Q, QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.forms import ServiceForm
from registry import column_rules
from registry.choices import Classification, ColumnType, ProductStatus, Sector, SensitivityLevel
from registry.models import DataProduct
from registry.services import ALLOWED_SUFFIXES, DOCUMENT_SUFFIXES, PRODUCT_FIELDS

UPLOAD_ACCEPT = ",".join(sorted(ALLOWED_SUFFIXES))
DOCUMENT_ACCEPT = ",".join(sorted(DOCUMENT_SUFFIXES))
# Commas and semicolons, ASCII or full-width (\uff0c \uff1b), and the ideographic enumeration comma (\u3001).
TAG_SEPARATORS = re.compile("[,;\uff0c\uff1b\u3001]")

CLASSIFICATION_HELP = {
    Classification.GENERAL: _(
        "Neither important nor core data. It can be registered and traded after the usual checks."
    ),
    Classification.IMPORTANT: _(
        "Data whose tampering, loss or leak could endanger national security, economic operation, social stability "
        "or public health and safety, in a sector or region. It needs extra review, and a security assessment "
        "before it leaves the country."
    ),
    Classification.CORE: _(
        "Data about national security, lifelines of the economy, important livelihoods and major public interests. "
        "The negative list forbids registering it for trading."
    ),
}
LEVEL_HELP = {
    SensitivityLevel.PUBLIC: _("Can be made public; a leak does no harm."),
    SensitivityLevel.INTERNAL: _("For use inside organisations; a leak does minor harm to people or organisations."),
    SensitivityLevel.SENSITIVE: _(
        "A leak does serious harm to people or organisations, e.g. de-identified personal information or trade secrets."
    ),
    SensitivityLevel.HIGHLY_SENSITIVE: _(
        "A leak does particularly serious harm, e.g. sensitive personal information. Offered only through the "
        "sandbox: buyers compute on it but never download it."
    ),
}


def _choice_help(intro: str, choices: type, help_texts: dict) -> str:
    items = format_html_join("", "<li><strong>{}</strong>: {}</li>", ((c.label, help_texts[c]) for c in choices))
    return format_html("{}<ul>{}</ul>", intro, items)


def _classification_help() -> str:
    return _choice_help(gettext("How much harm would misuse of the data do to the state and the public?"),
                        Classification, CLASSIFICATION_HELP)  # fmt: skip


def _level_help() -> str:
    return _choice_help(gettext("How much harm would a leak do to the people and organisations concerned?"),
                        SensitivityLevel, LEVEL_HELP)  # fmt: skip


def _upload_help() -> str:
    return gettext("CSV, TSV, Parquet or JSON Lines (one JSON object per line), at most %(size)s.") % {
        "size": filesizeformat(settings.REGISTRY_MAX_UPLOAD_BYTES)
    }


def _model_field(name: str, **kwargs: Any) -> forms.Field:
    """The form field Django derives from the model field (label, length, choices), adjusted by `kwargs`."""
    field = DataProduct._meta.get_field(name).formfield(**kwargs)
    choices = list(getattr(field, "choices", []))
    if choices and choices[0][0] == "":  # Django's blank label has no Chinese translation yet
        field.choices = [("", _("Choose one")), *choices[1:]]
    return field


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ColumnRuleForm(forms.Form):
    """One column rule: the column (as in the file's header), what it holds, and optionally a pattern."""

    column = forms.CharField(
        label=_("Column"),
        required=False,
        max_length=column_rules.MAX_COLUMN_LENGTH,
        widget=forms.TextInput(attrs={"list": "profiled-columns", "autocomplete": "off", "spellcheck": "false"}),
    )
    type = forms.ChoiceField(label=_("Holds"), required=False, choices=[("", _("Choose one")), *ColumnType.choices])
    pattern = forms.CharField(
        label=_("Pattern (optional)"),
        required=False,
        strip=False,  # spaces can matter in a regular expression
        max_length=column_rules.MAX_PATTERN_LENGTH,
        widget=forms.TextInput(attrs={"class": "mono", "autocomplete": "off", "spellcheck": "false"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.rule() is not None:
            parts = (data.get("column", ""), data.get("type", ""), data.get("pattern", ""))
            for field, message in column_rules.rule_errors(*parts).items():
                if field not in self.errors:
                    self.add_error(field, message)
        return data

    def rule(self) -> tuple[str, dict[str, str]] | None:
        """(column, {type, pattern}); None for a row left empty, which is how a rule is removed."""
        data = getattr(self, "cleaned_data", {})
        column, type_, pattern = data.get("column", "").strip(), data.get("type", ""), data.get("pattern", "")
        if not (column or type_ or pattern):
            return None
        return column, {"type": type_, "pattern": pattern}


class BaseColumnRuleFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        columns = [rule[0] for rule in (form.rule() for form in self.forms) if rule is not None]
        repeated = sorted({column for column in columns if columns.count(column) > 1})
        if repeated:
            raise forms.ValidationError(
                _("Each column has one rule; these have several: %(columns)s") % {"columns": ", ".join(repeated)},
                code="duplicate_column",
            )

    def rules(self) -> dict[str, dict[str, str]]:
        return dict(rule for rule in (form.rule() for form in self.forms) if rule is not None)


ColumnRuleFormSet = forms.formset_factory(
    ColumnRuleForm,
    formset=BaseColumnRuleFormSet,
    extra=3,
    max_num=column_rules.MAX_RULES,
    absolute_max=column_rules.MAX_RULES,
    validate_max=True,
)


class ProductForm(ServiceForm):
    """Everything a merchant declares about a data product; the services check the rules across fields.

    The column rules are a formset (`rules`, prefix "rules") posted with the form. A post without its management
    form (an older page, a script) leaves the rules as they are.
    """

    RULES_PREFIX = "rules"

    FIELDSETS = (
        (
            "description",
            _("Description"),
            _("What the data is, as buyers and the regulator will read it."),
            ("title", "summary", "description", "sector", "tags"),
        ),
        (
            "source",
            _("Source and legal basis"),
            _("Where the data comes from and why the organisation may hold and trade it."),
            ("acquisition_method", "acquisition_note", "legal_basis"),
        ),
        (
            "rights",
            _("Data rights claimed"),
            _(
                "The three rights of the data property rights system: holding the data resource, processing and "
                "using it, and operating products made from it. Claim at least one; attach the documents that "
                "back them up on the product page."
            ),
            ("right_holding", "right_processing", "right_operation"),
        ),
        (
            "classification",
            _("Classification and grading"),
            _("Classify by the harm misuse would do to the public, grade by the harm a leak would do."),
            ("classification", "sensitivity_level"),
        ),
        (
            "personal",
            _("Personal information and de-identification"),
            _(
                "Uploaded files are scanned for identity numbers, mobile numbers, bank cards, e-mail addresses and "
                "names. Personal information must be de-identified before the product can be submitted."
            ),
            ("has_personal_info", "deidentification_note"),
        ),
        (
            "coverage",
            _("Coverage and update frequency"),
            _("The period and the area the data describes, and how often it is refreshed."),
            ("update_frequency", "coverage_start", "coverage_end", "spatial_coverage"),
        ),
        (
            "licence",
            _("Licence and contact"),
            _("The licence buyers accept, and whom the regulator and buyers can ask about the data."),
            ("licence_template", "contact_name", "contact_email"),
        ),
    )

    title = _model_field("title", help_text=_("The name buyers see in the catalogue."))
    summary = _model_field("summary", help_text=_("One sentence on what the data holds and what it is good for."))
    description = _model_field(
        "description",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Fields, units, how it was collected and cleaned, known gaps."),
    )
    sector = _model_field("sector")
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=900,
        help_text=_("Separated by commas, e.g. port, logistics, 集装箱. Up to 20 tags."),
    )
    acquisition_method = _model_field("acquisition_method")
    acquisition_note = _model_field(
        "acquisition_note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the source is “Other”."),
    )
    legal_basis = _model_field(
        "legal_basis",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Needed before submitting: the contracts, consents, licences or authorisations that allow holding and "
            "trading the data."
        ),
    )
    right_holding = _model_field("right_holding", help_text=_("The organisation holds and controls the data."))
    right_processing = _model_field(
        "right_processing", help_text=_("The organisation may process and use the data for its own purposes.")
    )
    right_operation = _model_field(
        "right_operation", help_text=_("The organisation may offer products made from the data to others.")
    )
    classification = _model_field(
        "classification", widget=forms.RadioSelect, help_text=lazy(_classification_help, str)()
    )
    sensitivity_level = _model_field("sensitivity_level", widget=forms.RadioSelect, help_text=lazy(_level_help, str)())
    has_personal_info = _model_field(
        "has_personal_info", help_text=_("Tick if the data describes identifiable people, even indirectly.")
    )
    deidentification_note = _model_field(
        "deidentification_note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How identities were removed or masked (e.g. hashing, generalisation, masking digits)."),
    )
    update_frequency = _model_field("update_frequency")
    coverage_start = _model_field("coverage_start", widget=_date_widget())
    coverage_end = _model_field("coverage_end", widget=_date_widget())
    spatial_coverage = _model_field("spatial_coverage", help_text=_("E.g. Qingdao, Shandong province, nationwide."))
    licence_template = _model_field("licence_template")
    contact_name = _model_field("contact_name")
    contact_email = _model_field("contact_email")

    def __init__(self, *args: Any, column_names: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.column_names = list(column_names)
        rules = column_rules.ordered(self.initial.get("column_rules") or {}, self.column_names)
        initial = [{"column": name, **rule} for name, rule in rules]
        posted = self.is_bound and f"{self.RULES_PREFIX}-TOTAL_FORMS" in self.data
        self.rules = ColumnRuleFormSet(self.data if posted else None, prefix=self.RULES_PREFIX, initial=initial)

    @classmethod
    def for_product(
        cls, product: DataProduct, data: dict | None = None, *, column_names: Iterable[str] = ()
    ) -> "ProductForm":
        initial = {name: getattr(product, name) for name in PRODUCT_FIELDS}
        initial["tags"] = ", ".join(tag.name for tag in product.tags.all())
        initial["column_rules"] = product.column_rules
        return cls(data, initial=initial, column_names=column_names)

    def is_valid(self) -> bool:
        valid = super().is_valid()
        return (self.rules.is_valid() if self.rules.is_bound else True) and valid

    def fieldsets(self) -> list[dict]:
        return [
            {"id": key, "legend": legend, "help": help_text, "fields": [self[name] for name in names]}
            for key, legend, help_text, names in self.FIELDSETS
        ]

    def clean_tags(self) -> list[str]:
        return [tag.strip() for tag in TAG_SEPARATORS.split(self.cleaned_data["tags"]) if tag.strip()]

    def service_data(self) -> dict[str, Any]:
        """Keyword arguments for `services.product_create` / `product_update`: every product field, the tags and
        (when posted) the column rules."""
        data = {name: self.cleaned_data[name] for name in (*PRODUCT_FIELDS, "tags")}
        if self.rules.is_bound:
            data["column_rules"] = self.rules.rules()
        return data


class ProductFilterForm(forms.Form):
    """Filters of the product list: status, sector and a search in the title."""

    q = forms.CharField(label=_("Search titles"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *ProductStatus.choices])
    sector = forms.ChoiceField(label=_("Sector"), required=False, choices=[("", _("All")), *Sector.choices])

    def filter(self, products: QuerySet[DataProduct]) -> QuerySet[DataProduct]:
        if not self.is_valid():
            return products
        data = self.cleaned_data
        if data["q"]:
            products = products.filter(Q(title__icontains=data["q"].strip()))
        if data["status"]:
            products = products.filter(status=data["status"])
        if data["sector"]:
            products = products.in_sector(data["sector"])
        return products

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and self.is_valid() and any(self.cleaned_data.values())


class VersionUploadForm(ServiceForm):
    file = forms.FileField(
        label=_("Data file"),
        allow_empty_file=True,  # the service says why an empty file is refused, with a stable code
        help_text=lazy(_upload_help, str)(),
        widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_ACCEPT}),
    )


class DocumentForm(ServiceForm):
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        required=False,
        help_text=_("E.g. “Data licence agreement with the port authority”. The file name is used when empty."),
    )
    file = forms.FileField(
        label=_("Document"),
        help_text=_("A contract, authorisation, consent form or other evidence of the legal basis and rights."),
        widget=forms.ClearableFileInput(attrs={"accept": DOCUMENT_ACCEPT}),
    )


class CertificateLookupForm(forms.Form):
    number = forms.CharField(
        label=_("Certificate number"),
        max_length=20,
        help_text=_("As printed on the certificate, e.g. DB-2026-000123."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"}),
    )

    def clean_number(self) -> str:
        return self.cleaned_data["number"].strip().upper()
