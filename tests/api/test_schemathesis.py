"""The whole API fuzzed against its own OpenAPI schema (schemathesis), in-process through the WSGI application, with
a write key of an organisation that has data everywhere: no 5xx, every status code documented, every body as the
schema says. Detail routes are called twice: with the generated ids (mostly 404) and with the world's own object."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.api.operations import openapi_schema, path_values

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The schema's examples, then 10 generated cases per operation, valid and invalid. The coverage phase (boundary
# values of every field: hundreds of cases for a product's metadata alone) would take minutes over the schema.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})

schema = schemathesis.openapi.from_dict(openapi_schema(), config=CONFIG)
schema.app = application

pytestmark = pytest.mark.django_db


# Derandomized: CI runs the same cases every time. The cases of one operation share its test's savepoint (they see
# each other's writes, all rolled back after), which is what the function-scoped-fixture health check warns about.
@schema.parametrize()
@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema(case, world):
    headers = {"Authorization": f"Api-Key {world.keys['write']}"}
    case.call_and_validate(headers=headers, checks=CHECKS)
    real = path_values(case.path, world.ids)
    if real:
        case.path_parameters = {**case.path_parameters, **real}
        case.call_and_validate(headers=headers, checks=CHECKS)
