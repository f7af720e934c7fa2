"""Forms of the sandbox pages: publishing a dataset, its column policies and rules, queries, exports.

They check input and hand it to sandbox.services; the services check the rules across fields and objects.
"""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.forms import ServiceForm
from registry.models import ProductVersion
from sandbox.choices import ColumnAccess
from sandbox.models import ExportRequest, SandboxDataset, SavedQuery
from sandbox.services.common import MAX_SQL_CHARS
from sandbox.services.datasets import RULE_FIELDS

RULE_HELP = {
    "min_group_size": _("Rows of a result that stand for fewer people or records than this are suppressed."),
    "row_cap": _("A result is cut at this many rows."),
    "count_rounding": _("Counts are rounded to a multiple of this (1 leaves them exact)."),
    "daily_query_quota": _("Queries each contract may run per day."),
    "daily_scanned_rows_quota": _("Rows each contract's queries may read per day."),
}
ACCESS_HELP = {
    ColumnAccess.VISIBLE: _("Buyers see its values."),
    ColumnAccess.MASKED: _("Buyers see masked values only."),
    ColumnAccess.AGGREGATE_ONLY: _("Usable in counts, sums and averages, never shown row by row."),
    ColumnAccess.HIDDEN: _("Left out of the sandbox altogether."),
}

# The editor: monospace, no spelling or capitalisation help; sandbox.js adds Ctrl+Enter to run.
EDITOR_ATTRS = {"rows": 10, "class": "sql-editor", "spellcheck": "false", "autocapitalize": "off",
                "autocomplete": "off", "data-sql-editor": ""}  # fmt: skip


def _model_field(model: Any, name: str, **kwargs: Any) -> forms.Field:
    return model._meta.get_field(name).formfield(**kwargs)


def _rule_field(name: str) -> forms.Field:
    return _model_field(SandboxDataset, name, min_value=1, help_text=RULE_HELP[name])


class RulesForm(ServiceForm):
    """The disclosure rules and daily quotas of a dataset; they apply to the next query."""

    min_group_size = _rule_field("min_group_size")
    row_cap = _rule_field("row_cap")
    count_rounding = _rule_field("count_rounding")
    daily_query_quota = _rule_field("daily_query_quota")
    daily_scanned_rows_quota = _rule_field("daily_scanned_rows_quota")

    @classmethod
    def for_dataset(cls, dataset: SandboxDataset, data: Any = None) -> "RulesForm":
        return cls(data, initial={name: getattr(dataset, name) for name in RULE_FIELDS})

    def rules(self) -> dict[str, int]:
        return {name: self.cleaned_data[name] for name in RULE_FIELDS}

    def rule_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in RULE_FIELDS]


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, version: ProductVersion) -> str:
        return _("%(product)s — version %(number)s") % {"product": version.product.title, "number": version.number}


class PublishForm(RulesForm):
    """Publish a registered version of one of the organisation's products; column policies follow the profile."""

    version = VersionChoiceField(
        queryset=ProductVersion.objects.none(),
        label=_("Registered version"),
        empty_label=_("Choose one"),
        help_text=_(
            "Columns with personal information start masked (identity and bank card numbers hidden); you can change "
            "each column's access on the dataset's page."
        ),
    )
    title = _model_field(SandboxDataset, "title", help_text=_("The name buyers see in their workspace."))
    description = _model_field(
        SandboxDataset,
        "description",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What the data covers and what it is good for."),
    )

    field_order = ("version", "title", "description", *RULE_FIELDS)

    def __init__(self, *args: Any, versions: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = versions

    def service_data(self) -> dict[str, Any]:
        """Keyword arguments for `dataset_publish` (but `by`)."""
        data = self.cleaned_data
        return {"version": data["version"], "title": data["title"], "description": data["description"],
                **self.rules()}  # fmt: skip


class PolicyForm(ServiceForm):
    """One access choice per column of the dataset, in column order (fields named by position: any column name
    goes)."""

    def __init__(self, *args: Any, columns: list[dict], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.columns = columns
        for index, column in enumerate(columns):
            self.fields[f"access_{index}"] = forms.ChoiceField(
                label=column["name"], choices=ColumnAccess.choices, initial=column["access"]
            )

    def rows(self) -> list[dict]:
        """What the policy table shows: each column with its bound access field."""
        return [{**column, "field": self[f"access_{index}"]} for index, column in enumerate(self.columns)]

    def policies(self) -> dict[str, str]:
        return {column["name"]: self.cleaned_data[f"access_{i}"] for i, column in enumerate(self.columns)}

    def add_service_errors(self, exc: Any) -> None:
        # The service names the `policies` field, which this form spreads over one field per column.
        self.add_error(None, exc.messages)


class WithdrawForm(ServiceForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the ledger; buyers see it. Past runs and exports are kept."),
    )


class QueryForm(ServiceForm):
    sql = forms.CharField(
        label=_("SQL"),
        max_length=MAX_SQL_CHARS,
        widget=forms.Textarea(attrs=EDITOR_ATTRS),
        help_text=_("One SELECT statement on the table “data”. Ctrl+Enter runs it."),
    )
    title = _model_field(SavedQuery, "title", required=False, help_text=_("To save the query: a name to find it by."))

    def __init__(self, *args: Any, require_title: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.require_title = require_title

    def clean_title(self) -> str:
        title = self.cleaned_data.get("title", "").strip()
        if self.require_title and not title:
            raise forms.ValidationError(_("Give the query a title to save it."), code="required")
        return title


class ExportRequestForm(ServiceForm):
    purpose = _model_field(
        ExportRequest,
        "purpose",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the result will be used for; the operator reads it before deciding."),
    )


class DecisionForm(ServiceForm):
    APPROVE, REJECT = "approve", "reject"

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[(APPROVE, _("Approve the export")), (REJECT, _("Reject it"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The requester sees it. Required to reject."),
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("decision") == self.REJECT and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the export is rejected: the requester sees the reason."))
        return data

    def service_data(self) -> dict[str, Any]:
        return {"approve": self.cleaned_data["decision"] == self.APPROVE, "reason": self.cleaned_data["reason"]}
