"""API permissions: what an API key's scope allows, and what only a signed-in person may do.

These gate the request by the action it needs (the HTTP method, or `manage` for the actions a view lists in
`manage_actions`); the organisation role is checked by the services, and object visibility by `restrict()` in every
`get_queryset()` (another organisation's object is a 404, never a 403).
"""

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.choices import SCOPE_ACTIONS, scope_for

# The queryset action an HTTP method needs from an API key's scope (see accounts.choices.SCOPE_ACTIONS).
METHOD_ACTIONS = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


def required_action(view: Any, method: str) -> str:
    """What a request needs: `manage` for the view's owner-or-admin actions, else what its HTTP method implies."""
    if getattr(view, "action", None) in getattr(view, "manage_actions", ()):
        return "manage"
    return "view" if method in SAFE_METHODS else METHOD_ACTIONS.get(method, "change")


class HasApiKeyScope(BasePermission):
    """An API key may act only within its scope: `read` reads, `write` also writes, `manage` also does what an
    owner or admin does (the view's `manage_actions`). Session users pass: their role is checked by the services."""

    code = "insufficient_scope"

    def has_permission(self, request, view) -> bool:
        api_key = getattr(request.user, "api_key", None)
        if api_key is None:
            return True
        action = required_action(view, request.method)
        if action in SCOPE_ACTIONS[api_key.scope]:
            return True
        self.message = gettext(
            "This API key's scope (%(scope)s) does not allow this request; it needs the %(needed)s scope."
        ) % {"scope": api_key.scope, "needed": scope_for(action)}
        return False


class IsSessionUser(BasePermission):
    """Only a signed-in person, never an API key: a key can never issue another key."""

    message = _("API keys are issued by an owner or admin signed in to Databourse, never by another API key.")
    code = "permission_denied"

    def has_permission(self, request, view) -> bool:
        return getattr(request.user, "api_key", None) is None
