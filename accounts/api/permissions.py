"""API permissions: what an API key's scope allows, and what only a signed-in person may do.

These gate the HTTP method; the organisation role is checked by the services, and object visibility by
`restrict()` in every `get_queryset()` (another organisation's object is a 404, never a 403).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.choices import SCOPE_ACTIONS

# The queryset action an HTTP method needs from an API key's scope (see accounts.choices.SCOPE_ACTIONS).
METHOD_ACTIONS = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


class HasApiKeyScope(BasePermission):
    """An API key may use a method only if its scope allows it: `read` keys only read; session users pass."""

    message = _("This API key's scope does not allow this request; use a key with the write scope.")
    code = "insufficient_scope"

    def has_permission(self, request, view) -> bool:
        api_key = getattr(request.user, "api_key", None)
        if api_key is None or request.method in SAFE_METHODS:
            return True
        return METHOD_ACTIONS.get(request.method, "change") in SCOPE_ACTIONS[api_key.scope]


class IsSessionUser(BasePermission):
    """Only a signed-in person, never an API key: key management stays with the organisation's people."""

    message = _("API keys are created and revoked by an owner or admin signed in to Databourse, not by an API key.")
    code = "permission_denied"

    def has_permission(self, request, view) -> bool:
        return getattr(request.user, "api_key", None) is None
