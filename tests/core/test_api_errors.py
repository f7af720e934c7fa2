"""Every API error is `{"code", "detail", "fields"?}` with a stable code (core.api), and every list pages alike."""

import json

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.generators import SchemaGenerator
from rest_framework import exceptions
from rest_framework.test import APIClient

from accounts.api.throttling import ApiKeyRateThrottle
from core.api import PageNumberPagination, bad_request, exception_handler
from core.errors import DomainError, InvalidTransition, NotFoundError, OrganizationNotVerified, PermissionDeniedError
from tests.api import assert_error, with_key
from tests.factories import ApiKeyFactory


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


def test_nested_field_errors_are_flattened_to_paths():
    errors = {
        "title": ["Required."],
        "inputs": {"comparables": [{}, {"id": ["Not yours."]}], "rate": ["Too high."]},
        "events": {0: ["Not a choice."]},
    }
    assert handle(exceptions.ValidationError(errors)).data["fields"] == {
        "title": ["Required."],
        "inputs.comparables[1].id": ["Not yours."],
        "inputs.rate": ["Too high."],
        "events[0]": ["Not a choice."],
    }


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


# --- every error path through the real stack answers the same shape ----------------------------------------------


def error_shape(response, status: int, code: str) -> dict:
    body = assert_error(response, status, code)
    assert response["Content-Type"] == "application/json"
    assert set(body) <= {"code", "detail", "fields"}
    return body


@pytest.fixture
def partner(org) -> APIClient:
    return with_key(ApiKeyFactory(organization=org)[1])


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/products/1/nope/", "/api/v2/products/"])
def test_an_unknown_api_url_is_404_json(partner, api_client, path):
    error_shape(partner.get(path), 404, "not_found")
    error_shape(api_client.post(path, {}, format="json"), 404, "not_found")


@pytest.mark.django_db
def test_an_unknown_site_url_is_still_the_html_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_missing_slash_is_still_a_redirect(partner):
    assert partner.get("/api/v1/products").status_code == 301


@pytest.mark.django_db
def test_method_not_allowed_is_405(partner):
    response = partner.delete("/api/v1/me/")
    error_shape(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.django_db
def test_an_unsupported_media_type_is_415(partner):
    error_shape(partner.post("/api/v1/products/", "title=x", content_type="text/plain"), 415, "unsupported_media_type")


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["text/csv", "text/html", "application/xml"])
def test_an_unsatisfiable_accept_is_406_json(partner, accept):
    error_shape(partner.get("/api/v1/me/", HTTP_ACCEPT=accept), 406, "not_acceptable")


@pytest.mark.django_db
def test_a_browser_gets_json_not_a_browsable_page(partner):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    error_shape(partner.get("/api/v1/products/999999/", HTTP_ACCEPT=accept), 404, "not_found")


@pytest.mark.django_db
def test_a_malformed_json_body_is_parse_error(partner):
    error_shape(partner.post("/api/v1/products/", "{not json", content_type="application/json"), 400, "parse_error")


@pytest.mark.django_db
def test_an_invalid_body_names_its_fields(partner):
    body = error_shape(partner.post("/api/v1/products/", {"title": ""}, format="json"), 400, "invalid")
    assert "title" in body["fields"]
    assert body["detail"] == "The request body is not valid."


@pytest.mark.django_db
def test_an_invalid_filter_or_ordering_is_400_with_fields(partner):
    body = error_shape(partner.get("/api/v1/products/", {"status": "zzz", "ordering": "zzz"}), 400, "invalid")
    assert set(body["fields"]) == {"status", "ordering"}
    assert body["detail"] == "The query parameters are not valid."


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["999", "abc"])
def test_a_page_past_the_end_is_404(partner, page):
    error_shape(partner.get("/api/v1/products/", {"page": page}), 404, "not_found")


@pytest.mark.django_db
def test_a_throttled_key_is_429_with_retry_after(partner, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "rate", "1/min", raising=False)
    partner.get("/api/v1/me/")
    response = partner.post("/api/v1/products/", {}, format="json")
    error_shape(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_a_server_error_is_500_json(partner, monkeypatch):
    from accounts.api import views

    def broken(*args, **kwargs):
        raise RuntimeError("secret stack details")

    monkeypatch.setattr(views.MeView, "get", broken)
    partner.raise_request_exception = False
    body = error_shape(partner.get("/api/v1/me/"), 500, "server_error")
    assert "secret" not in body["detail"]


def test_djangos_own_bad_request_is_json_under_the_api(rf):
    response = bad_request(rf.post("/api/v1/products/"), SuspiciousOperation("secret"))
    assert response.status_code == 400 and json.loads(response.content)["code"] == "bad_request"
    assert bad_request(rf.get("/accounts/login/"), SuspiciousOperation()).status_code == 400


def test_the_error_handlers_are_wired():
    from config import urls

    assert (urls.handler400, urls.handler404, urls.handler500) == (
        "core.api.bad_request",
        "core.api.page_not_found",
        "core.api.server_error",
    )


# --- lists: one pagination everywhere ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_list_takes_page_and_page_size_up_to_100(org, partner):
    for _ in range(2):
        ApiKeyFactory(organization=org)
    page = partner.get("/api/v1/api-keys/", {"page_size": 1}).json()
    assert page["count"] == 3 and len(page["results"]) == 1 and "page_size=1" in page["next"]
    assert len(partner.get("/api/v1/api-keys/", {"page_size": 1000}).json()["results"]) == 3
    assert PageNumberPagination.max_page_size == 100


def test_every_paginated_list_documents_page_and_page_size():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    lists = {
        path: item["get"]
        for path, item in schema["paths"].items()
        if "get" in item
        and "Paginated" in str(item["get"]["responses"].get("200", {}).get("content", {}).get("application/json"))
    }
    assert len(lists) > 20
    for path, operation in lists.items():
        names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        assert {"page", "page_size"} <= names, path
