"""The API's operations as its OpenAPI schema lists them, and the world's values for their path parameters."""

import json
import re
from dataclasses import dataclass

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


def openapi_schema() -> dict:
    """The document `/api/v1/schema/` serves, generated in-process (as JSON types)."""
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the template, e.g. /api/v1/products/{id}/
    spec: dict

    @property
    def id(self) -> str:
        return self.spec["operationId"]

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS

    @property
    def parameters(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def operations(schema: dict) -> list[Operation]:
    return [
        Operation(method, path, spec)
        for path, methods in schema["paths"].items()
        for method, spec in methods.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def path_values(path: str, ids: dict) -> dict:
    """The world's object for each path parameter: `{id}` by the route's resource (`sandbox/runs`), others by name
    (`plan_id`, `listing_id`, `number`, `token`, `month`); parameters the world has nothing for are left out."""
    resource = re.match(r"/api/v1/([a-z/-]+?)/\{", path)
    values = {}
    for name in re.findall(r"\{(\w+)\}", path):
        key = resource.group(1) if name == "id" and resource else name
        if key in ids:
            values[name] = ids[key]
    return values


def url(operation: Operation, ids: dict, missing: object = None) -> str | None:
    """The operation's URL on the world's objects; where the world has none for a parameter, `missing` in its place
    (or None: no URL)."""
    values = path_values(operation.path, ids)
    if set(values) != set(operation.parameters):
        if missing is None:
            return None
        values = {name: values.get(name, missing) for name in operation.parameters}
    return re.sub(r"\{(\w+)\}", lambda match: str(values[match.group(1)]), operation.path)
