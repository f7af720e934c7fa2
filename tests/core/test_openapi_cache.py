"""`/api/v1/schema/` is generated once per process for each language and format (core.openapi.schema_view): the
second request for the same one builds nothing, and serves the same bytes."""

from unittest import mock

import pytest
import yaml
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from core import openapi

pytestmark = pytest.mark.django_db

JSON = "application/vnd.oai.openapi+json"


@pytest.fixture
def builds(monkeypatch):
    """Counts schema generations, from an empty cache (emptied again after the test)."""
    monkeypatch.setattr(openapi, "SCHEMA_CACHE", {})
    with mock.patch.object(SchemaGenerator, "get_schema", autospec=True, side_effect=SchemaGenerator.get_schema) as spy:
        yield spy


def test_the_second_request_for_the_schema_builds_nothing(builds):
    client = Client()
    first = client.get("/api/v1/schema/")
    second = client.get("/api/v1/schema/")

    assert builds.call_count == 1
    assert second.status_code == 200 and second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]
    assert second["Content-Disposition"] == first["Content-Disposition"]
    assert yaml.safe_load(second.content)["openapi"].startswith("3.")


def test_each_format_and_language_is_built_once(builds):
    client = Client()
    for _ in range(2):
        yaml_body = client.get("/api/v1/schema/")
        json_body = client.get("/api/v1/schema/", HTTP_ACCEPT=JSON)
        chinese = client.get("/api/v1/schema/", HTTP_ACCEPT=JSON, HTTP_ACCEPT_LANGUAGE="zh-hans")
        by_parameter = client.get("/api/v1/schema/?lang=zh-hans", HTTP_ACCEPT=JSON)

    assert builds.call_count == 3  # YAML and JSON in English, JSON in Chinese (by header or by ?lang=)
    assert yaml_body["Content-Type"].startswith("application/vnd.oai.openapi")
    assert json_body.json()["openapi"].startswith("3.") and chinese.json() == by_parameter.json()
    assert {language for language, _version, _media_type in openapi.SCHEMA_CACHE} == {"en", "zh-hans"}
    assert not_found(chinese.json()) != not_found(json_body.json())  # DRF's "Not found." has its Chinese


def not_found(schema: dict) -> str:
    answer = schema["paths"]["/api/v1/contracts/{id}/"]["get"]["responses"]["404"]["content"]["application/json"]
    assert answer["examples"]["not_found"] == {"$ref": "#/components/examples/not_found"}
    return schema["components"]["examples"]["not_found"]["value"]["detail"]
