"""What every API endpoint shares: the error shape, the pagination and the ordering.

Every error body has a stable `code` and a human `detail` (DRF's shape, extended). `fields` is present only for
validation errors (400, `code: "invalid"`): field name → list of messages, a nested field's under its path
(`plans[0].price`), errors that belong to no single field under `non_field_errors`. DRF's views answer through
`exception_handler`; what Django answers before or outside them (an unknown URL, a server error, a request Django
refuses) through the `handler*` views below.
"""

from typing import Any

import django_filters
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django_filters.utils import translate_validation
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, pagination, serializers, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.errors import DomainError

API_PREFIX = "/api/"


class ApiErrorSerializer(serializers.Serializer):
    """The body of every error response (for the OpenAPI schema)."""

    code = serializers.CharField(help_text="Stable, machine-readable reason, e.g. `not_found`, `invalid`.")
    detail = serializers.CharField(help_text="A message for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Only for `invalid`: field name → messages; a nested field by its path, e.g. `plans[0].price`.",
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


def _flat_fields(errors: Any, path: str = "") -> dict[str, list[str]]:
    """Field → messages; a nested field's under its path (`inputs.comparables[0].id`), as the schema promises."""
    if isinstance(errors, dict):
        children = [(_child_path(path, key), value) for key, value in errors.items()]
    elif isinstance(errors, list) and any(isinstance(item, dict | list) for item in errors):
        children = [(_child_path(path, index), item) for index, item in enumerate(errors)]
    else:
        messages = errors if isinstance(errors, list) else [errors]
        return {path or api_settings.NON_FIELD_ERRORS_KEY: [str(message) for message in messages]}
    return {field: messages for child, value in children for field, messages in _flat_fields(value, child).items()}


def _child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):  # an item of a list
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


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
        fields = _flat_fields(response.data)
        request = context.get("request")
        query = request is not None and request.method in SAFE_METHODS  # a filter's value, not a body
        detail = _("The query parameters are not valid.") if query else _("The request body is not valid.")
        response.data = {"code": "invalid", "detail": detail, "fields": fields}
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        response.data = {"code": _first_code(exc.get_codes()), "detail": str(exc.detail)}
    return response


class PageNumberPagination(pagination.PageNumberPagination):
    """Every list: `?page=`, and `?page_size=` up to 100 (PAGE_SIZE items by default)."""

    page_size_query_param = "page_size"
    max_page_size = 100


class OrderingFilter(django_filters.OrderingFilter):
    """`?ordering=` of a list: one or more of its fields (comma-separated), `-` for descending. Ties are broken by
    id in the same direction, so pages neither repeat nor skip a row."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", _("Sort by these fields, comma-separated; a leading `-` sorts descending."))
        super().__init__(*args, **kwargs)

    def filter(self, qs: Any, value: Any) -> Any:
        qs = super().filter(qs, value)
        if not value:
            return qs
        first = value[0]
        return qs.order_by(*qs.query.order_by, "-pk" if first.startswith("-") else "pk")


def ordering(*fields: str | tuple[str, str], filter_class: type = OrderingFilter) -> OrderingFilter:
    """A list's `ordering` filter over model fields; `(field, name)` exposes a field under another name."""
    return filter_class(fields=[(f, f) if isinstance(f, str) else f for f in fields])


def filter_list(filterset_class: type[django_filters.FilterSet], request: Any, queryset: Any) -> Any:
    """A list's query filters, for an action whose list is not the viewset's own model (400 `invalid` if bad)."""
    filterset = filterset_class(request.query_params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise translate_validation(filterset.errors)
    return filterset.qs


def ordering_parameter(*choices: str, description: str | None = None) -> OpenApiParameter:
    """`ordering` documented as an OrderingFilter documents itself, for lists that are not filtered querysets."""
    return OpenApiParameter(
        "ordering",
        {"type": "array", "items": {"type": "string"}},
        enum=[value for choice in choices for value in (choice, f"-{choice}")],
        explode=False,
        style="form",
        description=description or str(_("Sort by a field; a leading `-` sorts descending.")),
    )


# --- Django's error views (config/urls.py handler400, handler404, handler500) ------------------------------------


def _error(status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status_code)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refuses (too large a body, a suspicious header): the error shape under /api/."""
    if request.path_info.startswith(API_PREFIX):
        return _error(400, "bad_request", _("The request could not be understood."))
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An unknown URL: the error shape under /api/, the site's page elsewhere."""
    if request.path_info.startswith(API_PREFIX):
        return _error(404, "not_found", str(exceptions.NotFound.default_detail))
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """An unexpected error: the error shape under /api/, the site's page elsewhere."""
    if request.path_info.startswith(API_PREFIX):
        return _error(500, "server_error", _("A server error occurred; it has been logged."))
    return defaults.server_error(request)
