"""The API's schema class: drf-spectacular's, stating on every operation the API key scope it needs."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular import openapi
from rest_framework.permissions import IsAuthenticated

from accounts.api.permissions import HasApiKeyScope, IsSessionUser, required_action
from accounts.choices import scope_for


class AutoSchema(openapi.AutoSchema):
    """Each operation says in `x-api-key-scope` the narrowest API key scope that may call it (`read`, `write` or
    `manage`); public operations and those for people signed in only have none."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        scope = operation is not None and api_key_scope(self.view, self.method)
        if scope:
            operation["x-api-key-scope"] = scope
            if scope == "manage":
                note = _("API keys need the `manage` scope; people signed in, the owner or administrator role.")
                operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
        return operation


def api_key_scope(view: Any, method: str) -> str | None:
    """The narrowest scope of an API key that may make this request, or None when keys are not what decides."""
    permissions = view.get_permissions()
    if any(isinstance(permission, IsSessionUser) for permission in permissions):
        return None
    if any(isinstance(permission, HasApiKeyScope) for permission in permissions):
        return scope_for(required_action(view, method))
    return "read" if any(isinstance(permission, IsAuthenticated) for permission in permissions) else None
