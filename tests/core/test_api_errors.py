"""Every API error is `{"code", "detail", "fields"?}` with a stable code (core.api.exception_handler)."""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.test import APIClient

from core.api import exception_handler
from core.errors import DomainError, InvalidTransition, NotFoundError, OrganizationNotVerified, PermissionDeniedError


def handle(exc: Exception):
    return exception_handler(exc, {})


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (DomainError(), 400, "domain_error"),
        (DomainError("Keep one owner.", code="last_owner"), 400, "last_owner"),
        (InvalidTransition(), 409, "invalid_transition"),
        (PermissionDeniedError(), 403, "permission_denied"),
        (OrganizationNotVerified(), 403, "organization_not_verified"),
        (NotFoundError(), 404, "not_found"),
    ],
)
def test_domain_errors_keep_their_status_and_code(exc, status, code):
    response = handle(exc)
    assert response.status_code == status
    assert response.data == {"code": code, "detail": str(exc.message)}


def test_django_validation_error_by_field_becomes_invalid_with_fields():
    exc = DjangoValidationError({"email": ["Taken."], NON_FIELD_ERRORS: ["Both are wrong."]})
    response = handle(exc)
    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert response.data["fields"] == {"email": ["Taken."], "non_field_errors": ["Both are wrong."]}


def test_django_validation_error_without_field_goes_under_non_field_errors():
    response = handle(DjangoValidationError("These fields cannot be changed: name"))
    assert response.data["fields"] == {"non_field_errors": ["These fields cannot be changed: name"]}


def test_drf_validation_error_list_goes_under_non_field_errors():
    response = handle(exceptions.ValidationError(["Nope."]))
    assert response.status_code == 400
    assert response.data["code"] == "invalid" and response.data["fields"] == {"non_field_errors": ["Nope."]}


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (Http404("secret details"), 404, "not_found"),
        (DjangoPermissionDenied(), 403, "permission_denied"),
        (exceptions.NotAuthenticated(), 401, "not_authenticated"),
        (exceptions.AuthenticationFailed("Revoked.", code="api_key_revoked"), 401, "api_key_revoked"),
        (exceptions.PermissionDenied("Read only.", code="insufficient_scope"), 403, "insufficient_scope"),
        (exceptions.MethodNotAllowed("PUT"), 405, "method_not_allowed"),
        (exceptions.ParseError(), 400, "parse_error"),
    ],
)
def test_drf_and_django_errors_get_a_code(exc, status, code):
    response = handle(exc)
    assert response.status_code == status
    assert response.data["code"] == code
    assert set(response.data) == {"code", "detail"}
    assert "secret details" not in response.data["detail"]


def test_throttled_says_when_to_retry():
    response = handle(exceptions.Throttled(wait=12))
    assert response.status_code == 429
    assert response.data["code"] == "throttled"
    assert response["Retry-After"] == "12"


def test_unexpected_errors_are_left_to_django():
    assert handle(RuntimeError("boom")) is None


# --- through the real stack -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_request_is_401_with_challenge():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated", "detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.django_db
def test_unknown_route_is_404_json_shape(owner):
    client = APIClient()
    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/api/v1/organizations/999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_malformed_json_is_parse_error(owner, org):
    client = APIClient()
    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    response = client.patch(f"/api/v1/organizations/{org.pk}/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
def test_empty_api_key_header_is_401():
    response = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION="Api-Key  ")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_missing"
