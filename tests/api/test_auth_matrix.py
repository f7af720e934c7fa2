"""Every operation of the OpenAPI schema, read from the schema so a new endpoint is covered the day it appears:
the owner reads its own objects, anonymous callers get 401, a read-only key cannot write and a write key cannot do
what the schema marks as `manage` (403), another organisation's object is a 404, and a body of the wrong shape is a
400 naming the fields. Every operation states the API key scope it needs (`x-api-key-scope`).

Ids come from the module's world (tests/api/world.py). The allow-lists below are the deliberate exceptions, each
with its reason; an operation missing from them answers like every other one.
"""

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from tests.api import assert_error, signed_in, with_key
from tests.api.operations import Operation, openapi_schema, operations, url
from tests.factories.accounts import owner_of

SCHEMA = openapi_schema()
OPERATIONS = operations(SCHEMA)
DETAIL_OPERATIONS = [op for op in OPERATIONS if set(op.parameters) - {"month"}]  # `month` names a period, not an object
WRITE_OPERATIONS = [op for op in OPERATIONS if op.is_write]
MANAGE_OPERATIONS = [op for op in OPERATIONS if op.spec.get("x-api-key-scope") == "manage"]
BODY_OPERATIONS = [op for op in OPERATIONS if "requestBody" in op.spec]

# Operations anyone may call without credentials.
PUBLIC = {
    "certificates_retrieve": "banks and buyers check a registration certificate by its number without an account",
}
# Writes by HTTP method that only read, so a `read` key may make them.
READS_BY_POST = {
    "entitlements_download_link": "a signed link to a file the organisation bought: fetching data is a read",
}
# Detail routes whose object other organisations may see by design: the 404 test expects the object instead.
SHARED = {
    "certificates_retrieve": "a certificate is public",
    "reviews_retrieve": "ratings are public beside their listing",
    "demands_retrieve": "open demands are shown to every merchant, to answer with offers",
}
# Changes to such a visible object that only its owner may make: refused with 403, given a valid body.
SHARED_WRITES = {
    "reviews_reply": {"reply": "Thank you for the rating."},  # the merchant of the rated listing replies
}
# Only people signed in may call these: any API key is refused (403) before the object or the body is looked at,
# so these tests call them as the organisation's owner.
PEOPLE_ONLY = {
    "api_keys_create": "API keys are issued by an owner or admin signed in, never by another key",
}
# What an owner or admin does on the web, and so only a `manage` key may do through the API.
MANAGE = {
    "organizations_partial_update",
    "organizations_upload_licence",
    "memberships_change_role",
    "memberships_destroy",
    "invitations_create",
    "invitations_revoke",
    "api_keys_revoke",
    "sandbox_exports_approve",
    "sandbox_exports_reject",
}

pytestmark = pytest.mark.django_db


def by_id(operations_: list[Operation]) -> dict:
    return {"argvalues": operations_, "ids": [str(op) for op in operations_]}


def call(client: APIClient, op: Operation, path: str, body: Any = None, multipart: bool = False):
    if multipart:
        return getattr(client, op.method)(path, body or {}, format="multipart")
    return getattr(client, op.method)(path, body, format="json") if op.is_write else client.get(path)


def client_of(op: Operation, organization, keys: dict[str, str]) -> APIClient:
    """The organisation's API key with the scope the operation needs, or its owner signed in for the operations keys
    may not call; `keys` are the organisation's: {"write": …, "manage": …}."""
    if op.id in PEOPLE_ONLY:
        return signed_in(owner_of(Organization.objects.get(pk=organization.pk)))
    return with_key(keys["manage"] if op.id in MANAGE else keys["write"])


def path_or_skip(op: Operation, ids: dict) -> str:
    path = url(op, ids)
    if path is None:
        pytest.skip(f"the world has no object for {op.parameters} of {op}")
    return path


def media_type(op: Operation) -> str:
    content = op.spec["requestBody"]["content"]
    return "application/json" if "application/json" in content else next(iter(content))


# --- allowed --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", **by_id([op for op in OPERATIONS if op.method == "get"]))
def test_the_owner_reads_its_own(op, world):
    path = path_or_skip(op, world.ids)
    query = {"listing": world.ids["listings"]} if op.id == "reviews_summary" else None
    response = with_key(world.keys["read"]).get(path, query)
    assert response.status_code == 200, response.content


# --- anonymous ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", **by_id(OPERATIONS))
def test_anonymous_callers_get_401(op, world):
    response = call(APIClient(), op, url(op, world.ids, missing=0))
    if op.id in PUBLIC:
        assert response.status_code == 200, response.content
    else:
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Api-Key"


def test_the_schema_itself_is_public(api_client):
    assert api_client.get("/api/v1/schema/").status_code == 200


# --- wrong scope ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", **by_id(WRITE_OPERATIONS))
def test_a_read_only_key_cannot_write(op, world):
    if op.id in READS_BY_POST:
        pytest.skip(READS_BY_POST[op.id])
    path = url(op, world.ids, missing=0)
    assert_error(call(with_key(world.keys["read"]), op, path, {}), 403, "insufficient_scope")


@pytest.mark.parametrize("op", **by_id(MANAGE_OPERATIONS))
def test_a_write_key_cannot_manage(op, world):
    path = url(op, world.ids, missing=0)
    body = assert_error(call(with_key(world.keys["write"]), op, path, {}), 403, "insufficient_scope")
    assert "manage" in body["detail"]


def test_the_schema_states_every_operations_scope():
    scopes = {op.id: op.spec.get("x-api-key-scope") for op in OPERATIONS}
    assert {op for op, scope in scopes.items() if scope == "manage"} == MANAGE
    assert {op for op, scope in scopes.items() if scope is None} == set(PUBLIC) | set(PEOPLE_ONLY)
    assert {scopes[op] for op in READS_BY_POST} == {"read"}
    for op in OPERATIONS:
        if op.id not in MANAGE and op.id not in READS_BY_POST and scopes[op.id]:
            assert scopes[op.id] == ("write" if op.is_write else "read"), op


# --- lists ----------------------------------------------------------------------------------------------------

LIST_OPERATIONS = [op for op in OPERATIONS if op.method == "get" and "Paginated" in str(op.spec["responses"]["200"])]


def ordering_choices(op: Operation) -> list[str]:
    parameter = next(p for p in op.spec.get("parameters", []) if p.get("name") == "ordering")
    schema = resolved(parameter["schema"])
    return resolved(schema.get("items", schema))["enum"]


@pytest.mark.parametrize("op", **by_id(LIST_OPERATIONS))
def test_every_list_is_paged_and_sorts_by_each_documented_field(op, world):
    names = {p["name"] for p in op.spec.get("parameters", []) if p.get("in") == "query"}
    assert {"page", "page_size", "ordering"} <= names
    path = path_or_skip(op, world.ids)
    client = with_key(world.keys["read"])
    for choice in ordering_choices(op):
        response = client.get(path, {"ordering": choice, "page_size": 2})
        assert response.status_code == 200, (choice, response.content)
        assert {"count", "next", "previous", "results"} <= set(response.json())
    assert "ordering" in assert_error(client.get(path, {"ordering": "no_such_field"}), 400, "invalid")["fields"]


# --- another organisation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", **by_id(DETAIL_OPERATIONS))
def test_another_organisations_object_is_a_404(op, world):
    path = path_or_skip(op, {**world.ids, **world.private_ids})
    keys = {"write": world.keys["outsider"], "manage": world.keys["outsider-manage"]}
    response = call(client_of(op, world.outsider, keys), op, path, SHARED_WRITES.get(op.id, {}))
    if op.id in SHARED:
        assert response.status_code == 200, response.content
    elif op.id in SHARED_WRITES:
        assert_error(response, 403, "permission_denied")
    else:
        assert response.status_code == 404, response.content
        assert response.json()["code"]


# --- bad body -------------------------------------------------------------------------------------------------


def resolved(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    for combined in ("allOf", "oneOf", "anyOf"):
        if combined in schema:
            return resolved(next(part for part in schema[combined] if part.get("type") != "null"))
    return schema


WRONG = {
    "string": ["not", "a", "string"],
    "integer": "not a number",
    "number": "not a number",
    "boolean": "not a boolean",
    "array": "not a list",
    "object": "not an object",
}


def wrong_body(op: Operation) -> dict:
    """A value of the wrong type for every field of the request body (a file field gets text)."""
    schema = resolved(op.spec["requestBody"]["content"][media_type(op)]["schema"])
    body = {}
    for name, field in schema.get("properties", {}).items():
        field = resolved(field)
        if field.get("readOnly") or field.get("type") not in WRONG:
            continue
        body[name] = "not a file" if field.get("format") == "binary" else WRONG[field["type"]]
    return body


@pytest.mark.parametrize("op", **by_id(BODY_OPERATIONS))
def test_a_body_of_the_wrong_shape_is_a_400(op, world):
    path = path_or_skip(op, world.ids)
    body = wrong_body(op)
    if not body:
        pytest.skip("the body has no field that a wrong type could break")
    client = client_of(op, world.org, world.keys)
    response = call(client, op, path, body, multipart=media_type(op) == "multipart/form-data")
    fields = assert_error(response, 400, "invalid")["fields"]
    assert {re.split(r"[.\[]", name)[0] for name in fields} & set(body), fields  # `plans[0].price` is `plans`
