import pytest

from accounts.choices import Role
from audit.models import AuditEvent
from sandbox.services import exports, queries
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.sandbox import operator_org, published_dataset, sandbox_entitlement, write_residents

# A grouped count of the demo residents: the query the API and page tests run and export.
SQL = "SELECT district, count(*) AS residents FROM data GROUP BY district ORDER BY district"


@pytest.fixture
def parquet(tmp_path) -> str:
    """The engine tests' residents file (tests.factories.sandbox.RESIDENTS_SQL), without any Django model."""
    return write_residents(tmp_path / "residents.parquet")


@pytest.fixture
def operator(db):
    """A verified public-data operator."""
    return operator_org(name="Qingdao Public Data Operation Co.")


@pytest.fixture
def operator_owner(operator):
    return owner_of(operator)


@pytest.fixture
def operator_editor(operator):
    """A member of the operator who edits but does not manage (cannot decide exports)."""
    return member(operator, Role.EDITOR)


@pytest.fixture
def dataset(operator):
    """A published dataset of residents (240 rows): name and mobile masked, ID number hidden."""
    return published_dataset(operator)


@pytest.fixture
def buyer(db):
    return OrganizationFactory(name="Shandong Port Supply Chain Finance Co.")


@pytest.fixture
def analyst(buyer):
    """An editor of the buyer: runs queries and asks for exports."""
    return member(buyer, Role.EDITOR)


@pytest.fixture
def entitlement(dataset, buyer):
    """The buyer's running sandbox entitlement on the dataset's product."""
    return sandbox_entitlement(dataset, buyer)


def run(dataset, by, sql: str):
    """Submit a query and run it here and now (not waiting for the commit)."""
    submitted = queries.query_submit(dataset=dataset, by=by, sql=sql)
    return queries.query_execute(run_id=submitted.pk)


def actions(obj) -> list[str]:
    """The audit actions recorded for `obj`, oldest first."""
    return list(AuditEvent.objects.for_object(obj).order_by("sequence").values_list("action", flat=True))


@pytest.fixture
def done_run(dataset, entitlement, analyst):
    return run(dataset, analyst, SQL)


@pytest.fixture
def export(done_run, analyst):
    return exports.export_request(run=done_run, by=analyst, purpose="Plan the district's clinics.")
