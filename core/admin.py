"""Regulator decisions in the admin: each decision asks for a reason and calls the app's service."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import Action, ActionLocation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


@dataclass(frozen=True)
class Decision:
    """One regulator decision: a label, whether it applies to an object, and the service that makes it."""

    label: Any
    service: Callable[..., Any]
    applies: Callable[[Any], bool]
    permission: str = "change"

    @classmethod
    def calling(cls, label: Any, service: Callable[..., Any], argument: str, *statuses: str) -> "Decision":
        """A decision that calls `service(<argument>=obj, by=..., reason=...)` on objects in one of `statuses`."""
        return cls(
            label, lambda obj, **kwargs: service(**{argument: obj}, **kwargs), lambda obj: obj.status in statuses
        )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_("Required. The organisation sees this reason."),
    )


class DecisionAdminMixin:
    """Adds decision buttons to the change page and bulk actions, both behind a reason form."""

    decisions: dict[str, Decision] = {}
    change_form_template = "admin/decision_change_form.html"

    def get_urls(self) -> list:
        info = self.model._meta.app_label, self.model._meta.model_name
        view = self.admin_site.admin_view(self.decision_view)
        decide = path("<path:object_id>/decide/<slug:verb>/", view, name="{}_{}_decide".format(*info))
        return [decide, *super().get_urls()]

    def get_actions(self, request: HttpRequest, action_location: ActionLocation = ActionLocation.CHANGE_LIST) -> dict:
        actions = super().get_actions(request, action_location=action_location)
        if action_location != ActionLocation.CHANGE_LIST:
            return actions
        for verb, decision in self.decisions.items():
            if self._may_decide(request, decision):
                name = f"decide_{verb}"
                actions[name] = Action(self._bulk_action(verb), name, decision.label, decision.label, [action_location])
        return actions

    def _may_decide(self, request: HttpRequest, decision: Decision) -> bool:
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.{decision.permission}_{opts.model_name}")

    def available_decisions(self, request: HttpRequest, obj: models.Model) -> list[tuple[str, Any]]:
        return [(v, d.label) for v, d in self.decisions.items() if d.applies(obj) and self._may_decide(request, d)]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        obj = self.get_object(request, object_id)
        extra = {"decisions": self.available_decisions(request, obj) if obj else [], **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def decision_view(self, request: HttpRequest, object_id: str, verb: str) -> HttpResponse:
        decision = self.decisions.get(verb)
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        if decision is None or not self._may_decide(request, decision):
            raise PermissionDenied
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid() and self._decide(request, decision, obj, form):
            return HttpResponseRedirect(reverse(f"{self.admin_site.name}:{self._url_name('change')}", args=[obj.pk]))
        return self._reason_page(request, decision, [obj], form)

    def _bulk_action(self, verb: str) -> Callable:
        def action(modeladmin: Any, request: HttpRequest, queryset: models.QuerySet) -> HttpResponse | None:
            decision = self.decisions[verb]
            form = ReasonForm(request.POST if "reason" in request.POST else None)
            if not form.is_valid():
                return self._reason_page(request, decision, list(queryset), form, action=f"decide_{verb}")
            for obj in queryset:
                self._decide(request, decision, obj, form)
            return None

        return action

    def _decide(self, request: HttpRequest, decision: Decision, obj: models.Model, form: ReasonForm) -> bool:
        try:
            decision.service(obj, by=request.user, reason=form.cleaned_data["reason"])
        except (DomainError, ValidationError) as exc:
            message = exc.message if isinstance(exc, DomainError) else "; ".join(exc.messages)
            self.message_user(request, f"{obj}: {message}", messages.ERROR)
            return False
        self.message_user(
            request, _("Decision recorded: %(decision)s — %(obj)s.") % {"decision": decision.label, "obj": obj}
        )
        return True

    def _reason_page(self, request, decision, objects, form, action: str | None = None) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": decision.label,
            "decision": decision,
            "objects": objects,
            "form": form,
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/decision_reason.html", context)

    def _url_name(self, view: str) -> str:
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_{view}"
