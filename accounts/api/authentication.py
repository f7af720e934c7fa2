"""`Authorization: Api-Key <key>` authentication for partner systems."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.models import ApiKeyPrincipal
from accounts.services import api_key_authenticate
from core.errors import DomainError


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates a request as an organisation's API key, within the key's scope."""

    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(f"{self.keyword} "):
            return None
        raw = header[len(self.keyword) + 1 :].strip()
        if not raw:
            raise exceptions.AuthenticationFailed(_("No API key given."), code="api_key_missing")
        try:
            key = api_key_authenticate(raw, ip=request.META.get("REMOTE_ADDR"))
        except DomainError as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from exc
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; keys are created by an organisation's owner or admin.",
        }
