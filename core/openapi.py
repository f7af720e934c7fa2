"""drf-spectacular customisation: what every operation of a kind has in common, documented once.

- `AutoSchema` (DEFAULT_SCHEMA_CLASS) gives every operation a summary: its docstring's first sentence, or one made
  from the action and the model ("List contracts", "Retrieve data product").
- `errors_documented` documents the errors every operation of a kind can answer (400, 401, 403, 404, 429), in the
  `ApiError` shape, with an example of each stable `code`; `idempotency_documented` adds the `Idempotency-Key`
  header and its answers to every POST.
- `examples_attached` adds the request and response examples of the main flows (`core/openapi_examples.py`), keyed
  by operationId so that they live in one place, off the views, and a renamed operation fails its test.
- `schema_view()` serves `/api/v1/schema/` from an in-process cache: built once per language and format.
"""

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.forms import fields as form_fields
from django.http import HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.plumbing import get_doc, get_view_model
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.viewsets import ViewSetMixin

from accounts.api.schema import AutoSchema as ScopedAutoSchema
from core.errors import InvalidTransition, OrganizationNotVerified, PermissionDeniedError
from core.idempotency import (
    HEADER,
    MAX_KEY_LENGTH,
    REPLAYED_HEADER,
    IdempotencyInProgress,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
)
from core.openapi_examples import OPERATION_EXAMPLES, FlowExample

METHODS = ("get", "post", "put", "patch", "delete")
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})

# --- summaries ----------------------------------------------------------------------------------------------------

ACTION_SUMMARIES = {
    "list": _("List %(plural)s"),
    "retrieve": _("Retrieve %(name)s"),
    "create": _("Create %(name)s"),
    "update": _("Replace %(name)s"),
    "partial_update": _("Update %(name)s"),
    "destroy": _("Delete %(name)s"),
}
METHOD_ACTIONS = {"GET": "retrieve", "POST": "create", "PUT": "update", "PATCH": "partial_update", "DELETE": "destroy"}


SENTENCE_END = re.compile(r"(?<=[a-z0-9)`])\. +(?=[A-Z`])")


def _split_doc(doc: str) -> tuple[str, str]:
    """A docstring's summary (its first sentence, without the full stop) and the rest (its description)."""
    first, _blank, rest = doc.strip().partition("\n\n")
    summary, *more = SENTENCE_END.split(" ".join(first.split()), maxsplit=1)
    return summary.removesuffix("."), "\n\n".join(part for part in (*more, rest.strip()) if part)


class AutoSchema(ScopedAutoSchema):
    """Summaries from docstrings: the action's (or method's) own first; a viewset's class docstring describes
    the resource, so it becomes the description of the actions without one, which get a generated summary."""

    def _docs(self) -> tuple[str, str]:
        """The operation's own docstring, and the view class's."""
        action = getattr(self.view, "action", None) or self.method.lower()
        return get_doc(getattr(self.view, action, None)), get_doc(self.view.__class__)

    def _doc_for_operation(self) -> tuple[str, str]:
        own, shared = self._docs()
        if own or isinstance(self.view, ViewSetMixin):
            return _split_doc(own) if own else ("", shared)
        return _split_doc(shared)

    def get_summary(self) -> str | None:
        return self._doc_for_operation()[0] or self._generated_summary()

    def get_description(self) -> str:
        return self._doc_for_operation()[1]

    def _generated_summary(self) -> str:
        action = getattr(self.view, "action", None) or METHOD_ACTIONS[self.method]
        if action == "retrieve" and self._is_list_view():
            action = "list"
        model = get_view_model(self.view, emit_warnings=False)
        words = [part for part in self.path.strip("/").split("/") if "{" not in part][-1].replace("-", " ")
        name = str(model._meta.verbose_name) if model else words
        plural = str(model._meta.verbose_name_plural) if model else words
        if action in ACTION_SUMMARIES:
            return str(ACTION_SUMMARIES[action] % {"name": name, "plural": plural})
        return f"{action.replace('_', ' ').capitalize()} ({name})"


# --- the error body and its examples ------------------------------------------------------------------------------

ERROR_SCHEMA = {"$ref": "#/components/schemas/ApiError"}
# What every alternative of an error body has (stated at the top too, for readers that do not follow `anyOf`).
ERROR_FIELDS = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "detail": {"type": "string"}},
    "required": ["code", "detail"],
}

# The message of each code, as the API words it (the same msgids as where it is raised, so translated alike).
AUTHENTICATION_ERRORS = {
    "not_authenticated": exceptions.NotAuthenticated.default_detail,
    "api_key_missing": _("No API key given."),
    "api_key_invalid": _("Invalid API key."),
    "api_key_revoked": _("This API key has been revoked."),
    "api_key_expired": _("This API key has expired."),
    "organization_not_verified": OrganizationNotVerified.default_message,
}
STANDARD_DESCRIPTIONS = {
    "400": _(
        "`invalid`: the body or a query parameter is not valid; `fields` names each field (a nested one by its "
        "path, e.g. `plans[0].price`) with its messages. Or a business rule refused the request."
    ),
    "401": _(
        "No usable API key: `not_authenticated`, `api_key_missing`, `api_key_invalid`, `api_key_revoked`, "
        "`api_key_expired` or `organization_not_verified`."
    ),
    "403": _(
        "`insufficient_scope`: a write with a `read` key; `permission_denied`: the caller's role does not "
        "allow it; `organization_not_verified`: the organisation must be verified first."
    ),
    "404": _("`not_found`: no such object, or another organisation's (Databourse never says which)."),
    "429": _("`throttled`: too many requests for this API key; wait `Retry-After` seconds."),
}
METERED_OPERATIONS = frozenset({"data_rows"})  # the data API's own limits, on top of the key's
INSUFFICIENT_SCOPE = _("This API key's scope (%(scope)s) does not allow this request; it needs the %(needed)s scope.")
RATE_LIMITED = _("Rate limit reached: this plan allows %(limit)s calls a minute.")


def _example(code: str, detail: Any, **extra: Any) -> tuple[str, dict]:
    return code, {"summary": code, "value": {"code": code, "detail": str(detail), **extra}}


def _field_errors(fields: dict[str, Any], detail: Any) -> tuple[str, dict]:
    name, example = _example("invalid", detail, fields={key: [str(value)] for key, value in fields.items()})
    return name, example


def _request_schema(result: dict, operation: dict) -> dict:
    content = operation.get("requestBody", {}).get("content", {})
    schema = next(iter(content.values()), {}).get("schema", {})
    if "$ref" in schema:
        schema = result["components"]["schemas"].get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def _body_error(result: dict, operation: dict) -> tuple[str, dict]:
    """`invalid` naming one of the operation's own fields (a required one where it has any)."""
    schema = _request_schema(result, operation)
    field = next(iter(schema.get("required", []) or schema.get("properties", {}) or ["non_field_errors"]))
    fields = {field: serializers.Field.default_error_messages["required"]}
    return _field_errors(fields, _("The request body is not valid."))


PAGING = frozenset({"page", "page_size"})
QUERY_MESSAGES = {
    "integer": form_fields.IntegerField.default_error_messages["invalid"],
    "number": form_fields.DecimalField.default_error_messages["invalid"],
    "boolean": form_fields.NullBooleanField.default_error_messages.get("invalid", _("Enter a valid value.")),
}


def _query_error(operation: dict) -> tuple[str, dict] | None:
    """`invalid` naming one of the operation's own filters (not the paging ones)."""
    parameters = operation.get("parameters", [])
    queries = [item for item in parameters if item.get("in") == "query" and item["name"] not in PAGING]
    if not queries:
        return None
    parameter = queries[0]
    schema = parameter.get("schema", {})
    if "enum" in schema:
        message = form_fields.ChoiceField.default_error_messages["invalid_choice"] % {"value": "unknown"}
    else:
        message = QUERY_MESSAGES.get(schema.get("type"), _("Enter a valid value."))
    return _field_errors({parameter["name"]: message}, _("The query parameters are not valid."))


def _standard_examples(result: dict, path: str, method: str, operation: dict) -> dict[str, dict]:
    """Status → examples of the codes every operation of this kind may answer with it."""
    examples: dict[str, dict] = {"404": dict([_example("not_found", exceptions.NotFound.default_detail)])}
    bad = [_body_error(result, operation)] if "requestBody" in operation else []
    if (query := _query_error(operation)) is not None:
        bad.append(("invalid_query" if bad else "invalid", query[1]))
    examples["400"] = dict(bad)
    examples["401"] = dict(_example(code, detail) for code, detail in AUTHENTICATION_ERRORS.items())
    forbidden = [_example("permission_denied", PermissionDeniedError.default_message)]
    if _needs_more_than_read(method, operation):
        needed = operation.get("x-api-key-scope", "write")
        forbidden.insert(0, _example("insufficient_scope", INSUFFICIENT_SCOPE % {"scope": "read", "needed": needed}))
        forbidden.append(_example("organization_not_verified", OrganizationNotVerified.default_message))
    examples["403"] = dict(forbidden)
    examples["409"] = dict([_example("invalid_transition", InvalidTransition.default_message)])
    examples["429"] = dict([_example("throttled", exceptions.Throttled(wait=42).detail)])
    if operation.get("operationId") in METERED_OPERATIONS:
        examples["429"].update([_example("rate_limited", RATE_LIMITED % {"limit": 60})])
    return examples


def _needs_more_than_read(method: str, operation: dict) -> bool:
    return method in WRITE_METHODS or operation.get("x-api-key-scope", "read") != "read"


def _standard_statuses(path: str, method: str, operation: dict) -> list[str]:
    """The statuses an operation may answer whatever it does."""
    authenticated = any(requirement for requirement in operation.get("security", []))
    queries = any(parameter.get("in") == "query" for parameter in operation.get("parameters", []))
    paginated = any(parameter.get("name") == "page" for parameter in operation.get("parameters", []))
    statuses = ["429"]
    if authenticated:
        statuses.append("401")
    if authenticated and _needs_more_than_read(method, operation):
        statuses.append("403")
    if "{" in path or paginated:
        statuses.append("404")
    if "requestBody" in operation or queries:
        statuses.append("400")
    return statuses


def errors_documented(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Every operation documents the errors of its kind (and its own), in the error shape, with examples."""
    for path, path_item in result.get("paths", {}).items():
        for method in METHODS:
            if (operation := path_item.get(method)) is not None:
                _document_errors(result, path, method, operation)
    return result


def _document_errors(result: dict, path: str, method: str, operation: dict) -> None:
    responses = operation.setdefault("responses", {})
    for status in _standard_statuses(path, method, operation):
        if status not in responses:
            _add_error(responses, status, str(STANDARD_DESCRIPTIONS[status]))
    for status, examples in _standard_examples(result, path, method, operation).items():
        if status in responses and examples:
            _add_examples(responses[status], examples)
    operation["responses"] = dict(sorted(responses.items()))


def _add_error(responses: dict, status: str, description: str, examples: dict | None = None) -> None:
    """The status answers the error body too; an operation's own, narrower body for it stays as one alternative."""
    response = responses.setdefault(status, {})
    response["description"] = f"{response.get('description', '')}\n\n{description}".strip()
    body = response.setdefault("content", {}).setdefault("application/json", {})
    schema = body.get("schema")
    if schema is None:
        body["schema"] = dict(ERROR_SCHEMA)
    elif schema != ERROR_SCHEMA and ERROR_SCHEMA not in schema.get("anyOf", []):
        body["schema"] = {**ERROR_FIELDS, "anyOf": [schema, dict(ERROR_SCHEMA)]}
    if examples:
        _add_examples(response, examples)


def _add_examples(response: dict, examples: dict) -> None:
    body = response.get("content", {}).get("application/json")
    if body is not None and "example" not in body:
        body["examples"] = {**examples, **body.get("examples", {})}


# --- Idempotency-Key on every POST --------------------------------------------------------------------------------

IDEMPOTENT_REPLAYED = {
    "description": "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.",
    "schema": {"type": "string", "enum": ["true"]},
}
IDEMPOTENCY_ERRORS = {
    "400": (IdempotencyKeyInvalid, "the `Idempotency-Key` header is empty, too long or not printable."),
    "409": (IdempotencyInProgress, "a request with the same `Idempotency-Key` is still running; retry later."),
    "422": (IdempotencyKeyReused, "the `Idempotency-Key` was used for another path or body; use a new key."),
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
    for status, (error, description) in IDEMPOTENCY_ERRORS.items():
        _add_error(
            responses, status, f"`{error.code}`: {description}", dict([_example(error.code, error.default_message)])
        )
    operation["responses"] = dict(sorted(responses.items()))


# --- the main flows' examples -------------------------------------------------------------------------------------


def examples_attached(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Attach `OPERATION_EXAMPLES` to their operations, and state each error example shared by many
    operations once, under `components/examples` (the schema would be four times the size)."""
    shared = result.setdefault("components", {}).setdefault("examples", {})
    for path_item in result.get("paths", {}).values():
        for method in METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            if operation["operationId"] in OPERATION_EXAMPLES:
                _attach(operation, OPERATION_EXAMPLES[operation["operationId"]])
            _share_error_examples(operation, shared)
    return result


def _share_error_examples(operation: dict, shared: dict) -> None:
    for status, response in operation["responses"].items():
        examples = response.get("content", {}).get("application/json", {}).get("examples", {})
        for name, example in examples.items():
            if status.startswith("4") and "fields" not in example["value"] and shared.get(name, example) == example:
                shared[name] = example
                examples[name] = {"$ref": f"#/components/examples/{name}"}


def _attach(operation: dict, example: FlowExample) -> None:
    content = operation.get("requestBody", {}).get("content", {})
    for media_type, value in example.request.items():
        content[media_type]["examples"] = example.entry(value)
    for status, value in example.responses.items():
        _add_examples(operation["responses"][status], example.entry(value))


# --- the schema view ----------------------------------------------------------------------------------------------


# (language, version, media type) → the rendered schema, its content type and its Content-Disposition.
SCHEMA_CACHE: dict[tuple, tuple[bytes, str, str]] = {}


def schema_view() -> Callable:
    """The view of `/api/v1/schema/`: the schema generated once per process for each language, version and format
    (it takes about a second). drf-spectacular's views module needs DEFAULT_SCHEMA_CLASS, this module's AutoSchema,
    so it is imported here rather than at the top."""
    from drf_spectacular.views import SpectacularAPIView

    class SchemaView(SpectacularAPIView):
        def _get_schema_response(self, request: Request) -> HttpResponse:
            version = self.api_version or request.version or self._get_version_parameter(request)
            key = (get_language(), version, request.accepted_media_type)
            if key not in SCHEMA_CACHE:
                SCHEMA_CACHE[key] = self._rendered(request)
            content, content_type, disposition = SCHEMA_CACHE[key]
            return HttpResponse(content, content_type=content_type, headers={"Content-Disposition": disposition})

        def _rendered(self, request: Request) -> tuple[bytes, str, str]:
            response = super()._get_schema_response(request)
            renderer, media_type = request.accepted_renderer, request.accepted_media_type
            context = {"request": request, "response": response, "view": self}
            content = renderer.render(response.data, media_type, context)
            content_type = f"{media_type}; charset={renderer.charset}" if renderer.charset else media_type
            return content, content_type, response.headers["Content-Disposition"]

    return SchemaView.as_view()
