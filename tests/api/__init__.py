"""Helpers of the API tests: clients signed in or with an API key, and the error shape."""

from rest_framework.test import APIClient


def signed_in(user) -> APIClient:
    """A client with a session of `user` (the API also accepts sessions, with CSRF)."""
    client = APIClient()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def with_key(raw_key: str) -> APIClient:
    """A client sending `Authorization: Api-Key <raw_key>`."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def assert_error(response, status: int, code: str) -> dict:
    """The response is an error of this status and stable code, with a message for people."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["detail"]
    return body
