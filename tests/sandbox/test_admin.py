"""The regulator console for the sandbox: datasets with their policies, runs, exports and downloads, read-only."""

import pytest
from django.urls import reverse

from sandbox.models import ExportDownload, ExportRequest, QueryRun, SandboxDataset
from sandbox.services import exports
from tests.admin import otp_login
from tests.factories import OrganizationFactory, member
from tests.sandbox.conftest import run

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client):
    """A client logged into the admin as a regulator with a verified TOTP device."""
    otp_login(client, member(OrganizationFactory(kind="regulator", can_buy=False), "admin"))
    return client


@pytest.fixture
def released(dataset, entitlement, analyst, operator_owner):
    done = run(dataset, analyst, "SELECT district, count(*) AS residents FROM data GROUP BY district")
    export = exports.export_request(run=done, by=analyst, purpose="Credit risk by district.")
    exports.export_decide(export=export, by=operator_owner, approve=True)
    exports.export_file(export=export, by=analyst, ip="10.0.0.9")
    return export


def _url(model, name: str, *args) -> str:
    return reverse(f"admin:sandbox_{model._meta.model_name}_{name}", args=args)


def test_the_regulator_reads_every_sandbox_record(console, released, django_assert_max_num_queries):
    objects = [released.dataset, released.run, released, ExportDownload.objects.get()]
    for obj in objects:
        with django_assert_max_num_queries(20):
            listing = console.get(_url(type(obj), "changelist"))
        assert listing.status_code == 200, type(obj)
        page = console.get(_url(type(obj), "change", obj.pk))
        assert page.status_code == 200, type(obj)
    dataset_page = console.get(_url(SandboxDataset, "change", released.dataset.pk)).content.decode()
    assert "id_number" in dataset_page and "Hidden" in dataset_page  # the policies, inline
    assert released.fingerprint in console.get(_url(ExportRequest, "change", released.pk)).content.decode()


def test_the_list_of_runs_searches_by_contract_and_filters_by_status(console, released, dataset, analyst):
    refused = run(dataset, analyst, "SELECT id_number FROM data")
    number = released.run.entitlement.contract.number

    found = console.get(_url(QueryRun, "changelist"), {"q": number}).content.decode()
    assert found.count(number) >= 2  # both runs of the contract
    only_refused = console.get(_url(QueryRun, "changelist"), {"status__exact": "refused"}).content.decode()
    assert _url(QueryRun, "change", refused.pk) in only_refused
    assert _url(QueryRun, "change", released.run.pk) not in only_refused


def test_nothing_is_added_changed_or_deleted_in_the_console(console, released):
    for model, obj in ((SandboxDataset, released.dataset), (QueryRun, released.run), (ExportRequest, released)):
        assert console.get(_url(model, "add")).status_code == 403
        assert console.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        assert console.post(_url(model, "change", obj.pk), {}).status_code == 403
    assert SandboxDataset.objects.filter(pk=released.dataset.pk).exists()


def test_members_who_are_not_regulators_are_kept_out(client, released, analyst):
    client.force_login(analyst)
    response = client.get(_url(SandboxDataset, "changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]
