"""The OpenAPI schema (/api/v1/schema/) and its documentation pages (/api/v1/docs/ Swagger UI, /api/v1/redoc/ ReDoc).

The schema check is CI's: generating it gives no warning and it validates as OpenAPI 3. Every operation has a
summary and its own operationId and documents the errors it can answer, with an example of each code; every tag is
described, and the documentation pages work under the site's CSP with the app's own static files only. The main
flows' examples: test_openapi_examples.py; the schema view's cache: test_openapi_cache.py.
"""

import contextlib
import io
import re
from html.parser import HTMLParser

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils.csp import CSP
from drf_spectacular.drainage import GENERATOR_STATS

WRITE_METHODS = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    """The schema as `manage.py spectacular --validate --fail-on-warn` writes it; any warning fails every test."""
    path = tmp_path_factory.mktemp("openapi") / "schema.yaml"
    GENERATOR_STATS.reset()  # counts warnings for the whole process: only this generation's count
    warnings = io.StringIO()
    try:
        with contextlib.redirect_stderr(warnings):  # drf-spectacular prints its warnings there
            call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    except CommandError as exc:
        pytest.fail(f"{exc}:\n{warnings.getvalue()}")
    return yaml.safe_load(path.read_text())


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield f"{method.upper()} {path}", method, path, operation


def is_authenticated(schema: dict, operation: dict) -> bool:
    return any(requirement for requirement in operation.get("security", schema.get("security", [])))


def test_the_schema_generates_without_warnings_and_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Databourse API"
    assert len(schema["paths"]) > 50


def test_every_operation_documents_the_errors_it_can_answer(schema):
    missing = {}
    for name, method, path, operation in operations(schema):
        responses = operation["responses"]
        expected = {"429"}  # every key is throttled
        if is_authenticated(schema, operation):
            expected |= {"401", "403"} if method in WRITE_METHODS else {"401"}
        if "{" in path:
            expected.add("404")
        if "requestBody" in operation or method in {"post", "put", "patch"}:
            expected.add("400")
        if absent := sorted(expected - set(responses)):
            missing[name] = absent
    assert missing == {}


def test_every_operation_has_a_summary_and_an_operation_id_of_its_own(schema):
    ids = [operation["operationId"] for _name, _method, _path, operation in operations(schema)]
    unsummarised = [name for name, _method, _path, operation in operations(schema) if not operation.get("summary")]

    assert unsummarised == []
    assert sorted({i for i in ids if ids.count(i) > 1}) == []


def test_summaries_are_the_docstrings_first_sentence_or_made_from_the_action_and_the_model(schema):
    contracts = schema["paths"]["/api/v1/contracts/"]
    approve = schema["paths"]["/api/v1/contracts/{id}/approve/"]["post"]

    assert contracts["get"]["summary"] == "List contracts"  # no docstring of its own: the class's describes it
    assert contracts["get"]["description"].startswith("Your organisation's purchases and sales")
    assert schema["paths"]["/api/v1/contracts/{id}/"]["get"]["summary"] == "Retrieve contract"
    assert approve["summary"] == "The merchant approves a request, signing the same terms from the caller's address"
    assert not approve["summary"].endswith(".")


def test_the_errors_of_every_operation_have_an_example_of_each_standard_code(schema):
    missing = {}
    for name, method, path, operation in operations(schema):
        responses = operation["responses"]
        codes = {status: set(response["content"]["application/json"].get("examples", {}))
                 for status, response in responses.items() if status.startswith("4")}  # fmt: skip
        expected = {"429": {"throttled"}, "404": {"not_found"}}
        if is_authenticated(schema, operation):
            expected["401"] = {"not_authenticated", "api_key_invalid", "api_key_revoked", "api_key_expired"}
        if is_authenticated(schema, operation) and method in WRITE_METHODS:
            expected["403"] = {"insufficient_scope", "permission_denied"}
        if "requestBody" in operation:
            expected["400"] = {"invalid"}
        if method == "post":
            expected |= {"409": {"idempotency_in_progress"}, "422": {"idempotency_key_reused"}}
        absent = {status: sorted(need - codes[status]) for status, need in expected.items()
                  if status in responses and need - codes[status]}  # fmt: skip
        if absent:
            missing[name] = absent
    assert missing == {}


def test_an_invalid_body_example_names_one_of_the_operations_own_fields(schema):
    answer = schema["paths"]["/api/v1/contracts/"]["post"]["responses"]["400"]["content"]["application/json"]

    example = answer["examples"]["invalid"]["value"]

    assert example["code"] == "invalid" and example["fields"] == {"listing": ["This field is required."]}


def error_body(schema: dict, response: dict) -> dict:
    """The JSON body schema of a response, its `$ref` resolved."""
    body = response.get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    return body


def test_every_error_answer_has_the_error_body_and_a_description(schema):
    wrong = []
    for name, _method, _path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            properties = error_body(schema, response).get("properties", {})
            if not response.get("description", "").strip() or not {"code", "detail"} <= set(properties):
                wrong.append(f"{name} {status}")
    assert wrong == []


def test_every_operation_is_described_and_tagged_with_a_described_tag(schema):
    described = {tag["name"] for tag in schema.get("tags", []) if tag.get("description")}
    used = set()
    for name, _method, _path, operation in operations(schema):
        assert operation.get("description") or operation.get("summary"), name
        used.update(operation["tags"])
    assert used - described == set(), "describe these tags in SPECTACULAR_SETTINGS['TAGS']"
    assert described - used == set(), "SPECTACULAR_SETTINGS['TAGS'] names tags no operation has"


def test_the_introduction_covers_what_a_partner_needs_first(schema):
    description = schema["info"]["description"]
    for needed in ("Authorization: Api-Key", "insufficient_scope", "`code`", "?page=", "Retry-After",
                   "Idempotency-Key", "HMAC-SHA256"):  # fmt: skip
        assert needed in description
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["name"] == "Authorization"


@pytest.mark.django_db
def test_the_schema_is_served_to_anyone_as_yaml_or_json():
    client = Client()
    assert client.get("/api/v1/schema/").status_code == 200
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


# --- the documentation pages ----------------------------------------------------------------------------------


class Elements(HTMLParser):
    """Collects each element's tag and attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = Elements()
    parser.feed(html)
    return parser.elements


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_a_documentation_page_loads_under_the_csp_with_only_the_apps_own_assets(path):
    response = Client().get(path)

    assert response.status_code == 200
    nonce = re.search(r"script-src [^;]*'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    found = elements(response.content.decode())
    scripts = [attrs for tag, attrs in found if tag == "script"]
    assert scripts and all(attrs.get("nonce") == nonce for attrs in scripts)
    assert all(attrs.get("nonce") == nonce for tag, attrs in found if tag == "style")
    assets = [attrs.get("src") or attrs.get("href") for tag, attrs in found if tag in {"script", "link", "img"}]
    assets = [url for url in assets if url]
    assert assets
    for url in assets:  # same-origin, under STATIC_URL, and there to be served
        assert url.startswith(settings.STATIC_URL), url
        assert finders.find(url.removeprefix(settings.STATIC_URL)), url
    assert "http://" not in response.content.decode() and "https://" not in response.content.decode()


@pytest.mark.django_db
def test_the_swagger_page_points_at_the_schema_and_loads_nothing_off_site():
    html = Client().get("/api/v1/docs/").content.decode()
    assert 'url: "/api/v1/schema/"' in html
    assert '"validatorUrl": null' in html  # no validator badge from validator.swagger.io


def test_the_documentation_pages_csp_adds_only_what_they_need_to_the_sites():
    docs, site = settings.API_DOCS_CSP, settings.SECURE_CSP
    changed = {directive for directive in docs.keys() | site.keys() if docs.get(directive) != site.get(directive)}
    assert changed == {"style-src", "worker-src"}
    assert CSP.NONCE in docs["style-src"] and docs["worker-src"] == [CSP.SELF, "blob:"]
    for values in docs.values():
        assert CSP.UNSAFE_INLINE not in values and CSP.UNSAFE_EVAL not in values
