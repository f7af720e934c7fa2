"""The schema's examples (core/openapi.py): each main flow's request and answer, and every error example, are
valid against the schema they illustrate, so an example cannot drift from the serializer it shows. An example whose
operationId no longer exists fails here rather than silently disappearing from the documentation."""

import hashlib
import json
from datetime import date, datetime

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from core.openapi_examples import CONTRACT_TERMS, OPERATION_EXAMPLES, TERMS_SHA256
from tests.api.operations import openapi_schema, operations

MAIN_FLOWS = {"products_create", "products_upload_version", "contracts_create", "contracts_approve", "payments_create",
              "entitlements_download_link", "data_rows", "sandbox_runs_create", "valuations_create",
              "webhook_endpoints_create"}  # fmt: skip


# jsonschema checks `date-time` only with an optional package; RFC 3339 wants the time zone, as the API gives it.
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


@FORMATS.checks("date", raises=ValueError)
def _date(value) -> bool:
    return not isinstance(value, str) or bool(date.fromisoformat(value))


@pytest.fixture(scope="module")
def schema() -> dict:
    return openapi_schema()


def json_schema(node, *, strict: bool):
    """OpenAPI 3.0's schema dialect as JSON Schema: `nullable` as a null alternative; strict, an object with
    properties takes no others (so a misspelt field in an example fails)."""
    if isinstance(node, list):
        return [json_schema(item, strict=strict) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: json_schema(value, strict=strict) for key, value in node.items()}
    combined = {"anyOf", "allOf", "oneOf"} & node.keys()
    if strict and "properties" in node and "additionalProperties" not in node and not combined:
        node["additionalProperties"] = False
    if node.pop("nullable", False) is True:
        node = {"anyOf": [node, {"type": "null"}]}
    return node


def errors(schema: dict, body_schema: dict, value, *, strict: bool = True) -> list[str]:
    """What is wrong with `value` as an instance of `body_schema` (its `$ref`s into the schema's components)."""
    components = json_schema(schema["components"], strict=strict)
    root = {**json_schema(body_schema, strict=strict), "components": components}
    validator = Draft202012Validator(root, format_checker=FORMATS)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(value)]


def resolved(schema: dict, example: dict) -> dict:
    """An example, or the shared one its `$ref` names."""
    if "$ref" in example:
        return schema["components"]["examples"][example["$ref"].rsplit("/", 1)[-1]]
    return example


def by_id(schema: dict) -> dict:
    return {operation.id: operation.spec for operation in operations(schema)}


def test_the_main_flows_have_examples():
    assert set(OPERATION_EXAMPLES) >= MAIN_FLOWS


def test_every_example_names_an_operation_of_the_schema(schema):
    assert set(OPERATION_EXAMPLES) - set(by_id(schema)) == set()


@pytest.mark.parametrize("operation_id", sorted(OPERATION_EXAMPLES))
def test_a_flow_example_is_valid_against_its_request_and_answer_schemas(schema, operation_id):
    spec, example = by_id(schema)[operation_id], OPERATION_EXAMPLES[operation_id]
    problems = {}
    for media_type, value in example.request.items():
        body = spec["requestBody"]["content"][media_type]
        assert body["examples"][example.name]["value"] == value  # attached by the postprocessing hook
        problems[media_type] = errors(schema, body["schema"], value)
    for status, value in example.responses.items():
        body = spec["responses"][status]["content"]["application/json"]
        assert body["examples"][example.name]["value"] == value
        problems[status] = errors(schema, body["schema"], value)
    assert {where: found for where, found in problems.items() if found} == {}


def test_every_error_example_is_a_valid_error_body_with_its_code(schema):
    wrong = []
    for operation in operations(schema):
        for status, response in operation.spec["responses"].items():
            if not status.startswith("4"):
                continue
            body = response["content"]["application/json"]
            for name, example in body.get("examples", {}).items():
                value = resolved(schema, example)["value"]
                if value.get("code") not in {name, "invalid"} or errors(schema, body["schema"], value, strict=False):
                    wrong.append(f"{operation} {status} {name}")
    assert wrong == []


def test_the_contract_examples_hash_is_the_sha256_of_its_terms_as_the_guide_says():
    canonical = json.dumps(CONTRACT_TERMS, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    assert hashlib.sha256(canonical.encode()).hexdigest() == TERMS_SHA256
    assert OPERATION_EXAMPLES["contracts_create"].responses["201"]["terms_sha256"] == TERMS_SHA256


def test_the_examples_credit_codes_are_valid():
    from core.identifiers import is_valid_credit_code

    codes = [CONTRACT_TERMS["merchant"]["credit_code"], CONTRACT_TERMS["buyer"]["credit_code"]]

    assert all(is_valid_credit_code(code) for code in codes)
