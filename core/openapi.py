"""drf-spectacular postprocessing hooks: what every operation of a kind has in common, documented once."""

from typing import Any

from django.conf import settings

from core.idempotency import HEADER, MAX_KEY_LENGTH, REPLAYED_HEADER

ERROR_SCHEMA = {"$ref": "#/components/schemas/ApiError"}
# What every alternative of an error body has (stated at the top too, for readers that do not follow `anyOf`).
ERROR_FIELDS = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "detail": {"type": "string"}},
    "required": ["code", "detail"],
}

IDEMPOTENT_REPLAYED = {
    "description": "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.",
    "schema": {"type": "string", "enum": ["true"]},
}
IDEMPOTENCY_ERRORS = {
    "400": "`idempotency_key_invalid`: the `Idempotency-Key` header is empty, too long or not printable.",
    "409": "`idempotency_in_progress`: a request with the same `Idempotency-Key` is still running; retry later.",
    "422": "`idempotency_key_reused`: the `Idempotency-Key` was used for another path or body; use a new key.",
}


def _idempotency_key() -> dict:
    hours = settings.IDEMPOTENCY_TTL_HOURS
    description = (
        f"Any unique string (a UUID v4, say) that makes the request safe to retry: for {hours} hours, a request with "
        "the same key and body gets the first answer back (with `Idempotent-Replayed: true`) instead of running "
        "again. Keys are your API key's own (or your user's, signed in). A server error (5xx) or `429` is not kept: "
        "the retry runs."
    )
    return {
        "in": "header",
        "name": HEADER,
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        "description": description,
        "example": "5f0c6f43-8d35-4b8e-9d8a-2d7a1c3f6b10",
    }


def idempotency_documented(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Document `Idempotency-Key` on every POST: the header, the replay header and the errors it may answer."""
    components = result.setdefault("components", {})
    components.setdefault("parameters", {})["IdempotencyKey"] = _idempotency_key()
    components.setdefault("headers", {})["IdempotentReplayed"] = IDEMPOTENT_REPLAYED
    for path_item in result.get("paths", {}).values():
        if "post" in path_item:
            _document_operation(path_item["post"])
    return result


def _document_operation(operation: dict) -> None:
    operation.setdefault("parameters", []).append({"$ref": "#/components/parameters/IdempotencyKey"})
    responses = operation.setdefault("responses", {})
    for status, response in responses.items():
        if status.startswith("2"):
            response.setdefault("headers", {})[REPLAYED_HEADER] = {"$ref": "#/components/headers/IdempotentReplayed"}
    for status, description in IDEMPOTENCY_ERRORS.items():
        _add_error(responses, status, description)
    operation["responses"] = dict(sorted(responses.items()))


def _add_error(responses: dict, status: str, description: str) -> None:
    """The status answers the error body too; an operation's own, narrower body for it stays as one alternative."""
    response = responses.setdefault(status, {})
    response["description"] = f"{response.get('description', '')}\n\n{description}".strip()
    body = response.setdefault("content", {}).setdefault("application/json", {})
    schema = body.get("schema")
    if schema is None:
        body["schema"] = dict(ERROR_SCHEMA)
    elif schema != ERROR_SCHEMA and ERROR_SCHEMA not in schema.get("anyOf", []):
        body["schema"] = {**ERROR_FIELDS, "anyOf": [schema, dict(ERROR_SCHEMA)]}
