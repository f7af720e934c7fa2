"""Forms of the webhook pages: an endpoint (URL, description, events) and the optional reason for disabling it.

They check the input's shape; integrations.services.endpoints checks the URL's safety and the events again.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.forms import ServiceForm
from integrations.choices import EVENT_DESCRIPTIONS, SUBSCRIBABLE
from integrations.services.endpoints import clean_url


class EndpointForm(ServiceForm):
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://partner.example/webhooks", "spellcheck": "false"}),
        help_text=_("Databourse POSTs signed JSON here. It must start with https://."),
    )
    description = forms.CharField(
        label=_("Description"), max_length=200, required=False, help_text=_("What receives the events, for people.")
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(event.value, event.label) for event in SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )

    def clean_url(self) -> str:
        """The service's own check, so a bad URL is reported along with the other fields' errors."""
        try:
            return clean_url(self.cleaned_data["url"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["url"]) from exc

    def event_options(self) -> list[dict]:
        """Each event as a checkbox with its description (the template lays them out)."""
        chosen = set(self["events"].value() or [])
        return [
            {"value": event.value, "label": event.label, "description": EVENT_DESCRIPTIONS[event],
             "checked": event.value in chosen, "id": f"id_events_{index}"}
            for index, event in enumerate(SUBSCRIBABLE)
        ]  # fmt: skip

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("url", "description", "events")}


class DisableForm(ServiceForm):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False, help_text=_("Optional; kept with the endpoint.")
    )
