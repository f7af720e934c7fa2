"""API error shape: every error body has a stable `code` and a human `detail` (DRF's shape, extended).

`fields` is present only for validation errors (400, `code: "invalid"`): field name → list of messages,
with errors that belong to no single field under `non_field_errors`.
"""

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.errors import DomainError


class ApiErrorSerializer(serializers.Serializer):
    """The body of every error response (for the OpenAPI schema)."""

    code = serializers.CharField(help_text="Stable, machine-readable reason, e.g. `not_found`, `invalid`.")
    detail = serializers.CharField(help_text="A message for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Only for `invalid`: field name → messages.",
    )


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses=...)` entries documenting the error body for each status."""
    descriptions = {
        400: "Invalid request body (`invalid`, with `fields`) or a refused business rule.",
        401: "Not authenticated, or the API key is invalid, revoked, expired or its organisation not verified.",
        403: "The key's scope (`insufficient_scope`) or the caller's role (`permission_denied`) does not allow it.",
        404: "No such object, or it belongs to another organisation.",
        409: "The object is not in a state that allows this change.",
        429: "Too many requests for this API key (`throttled`).",
    }
    return {code: OpenApiResponse(ApiErrorSerializer, description=descriptions[code]) for code in statuses}


def _from_django_validation(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        detail = {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in exc.message_dict.items()
        }
    else:
        detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
    return exceptions.ValidationError(detail)


def _first_code(codes: Any) -> str:
    while isinstance(codes, dict | list) and codes:
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return codes if isinstance(codes, str) else "invalid"


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Turn domain, Django and DRF errors into `{"code", "detail", "fields"?}` JSON."""
    if isinstance(exc, DomainError):
        set_rollback()
        return Response({"code": exc.code, "detail": str(exc.message)}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = _from_django_validation(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        data = response.data
        fields = data if isinstance(data, dict) else {api_settings.NON_FIELD_ERRORS_KEY: data}
        response.data = {"code": "invalid", "detail": _("The request body is not valid."), "fields": fields}
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        response.data = {"code": _first_code(exc.get_codes()), "detail": str(exc.detail)}
    return response
