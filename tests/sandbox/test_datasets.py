"""Publishing a registered version in the sandbox, building its Parquet file, changing and withdrawing it."""

import hashlib

import duckdb
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from audit.models import AuditEvent
from core.errors import OrganizationNotVerified, PermissionDeniedError
from registry import services as registry_services
from registry.masking import mask_value
from registry.pii import PiiKind
from registry.storage import local_path
from sandbox.choices import ColumnAccess, DatasetStatus
from sandbox.models import SandboxDataset
from sandbox.services import datasets, parquet
from sandbox.services.common import SandboxConflict, SandboxError
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import regulator
from tests.factories.sandbox import operator_org, published_dataset, registered_version
from tests.sandbox.conftest import actions

pytestmark = pytest.mark.django_db


def _parquet_rows(dataset: SandboxDataset) -> tuple[list[str], list[tuple]]:
    with local_path(dataset.file, suffix=".parquet") as path:
        relation = duckdb.sql(f"SELECT * FROM read_parquet('{path}')")
        return relation.columns, relation.fetchall()


def _publish(version, **kwargs) -> SandboxDataset:
    return datasets.dataset_publish(version=version, by=owner_of(version.product.organization), title="Residents",
                                    **kwargs)  # fmt: skip


# --- publishing ------------------------------------------------------------------------------------------------


def test_publishing_defaults_the_policies_from_the_pii_findings_and_builds_after_the_commit(
    operator, django_capture_on_commit_callbacks
):
    version = registered_version(operator)
    with django_capture_on_commit_callbacks(execute=True):
        dataset = _publish(version, min_group_size=5)

    assert datasets.policy_map(dataset) == {
        "district": "visible", "age_band": "visible", "gender": "visible", "name": "masked",
        "id_number": "hidden", "mobile": "masked", "income": "visible",
    }  # fmt: skip
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.PUBLISHED and dataset.min_group_size == 5 and dataset.progress == 100
    assert dataset.published_at is not None
    assert actions(dataset) == ["sandboxdataset.created", "sandboxdataset.published"]
    assert dataset.organization == operator and SandboxDataset.objects.restrict(owner_of(operator)).get() == dataset


def test_the_parquet_leaves_hidden_columns_out_and_stores_masked_columns_masked(dataset):
    columns, rows = _parquet_rows(dataset)

    assert columns == ["district", "age_band", "gender", "name", "mobile", "income"]
    assert "id_number" not in {column["name"] for column in dataset.schema}
    assert dataset.row_count == len(rows) == 240
    names, mobiles = [row[3] for row in rows], [row[4] for row in rows]
    assert all(len(name) == 3 and name.endswith("**") for name in names)
    assert all(len(mobile) == 11 and mobile[3:7] == "****" for mobile in mobiles)
    assert {type(row[5]) for row in rows} == {int}  # aggregate-only or not, values keep their type
    with local_path(dataset.file) as path:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == dataset.sha256


def test_masks_in_the_parquet_are_those_of_the_registry_masked_sample(operator):
    # given values a fast path takes, values it leaves to Python, blanks and NULLs
    full_width = "13812345678".translate({code: code + 0xFEE0 for code in range(0x30, 0x3A)})
    values = ["13812345678", "+86 138 1234 5678", "138-1234-5678", full_width, "not a phone", " "]
    content = "n,mobile,note\n" + "".join(f'{n},"{value}",x{n}\n' for n, value in enumerate(values))
    content += "6,,y\n" + "".join(f"{7 + n},1390000{n:04d},z\n" for n in range(20))
    version = registered_version(operator, content.encode())
    assert datasets.default_policies(version)["mobile"] == ColumnAccess.MASKED

    dataset = datasets.dataset_prepare(dataset_id=_publish(version, policies={"note": "masked"}).pk)

    rows = {row[0]: row[1:] for row in _parquet_rows(dataset)[1]}
    expected = [mask_value(PiiKind.MOBILE, value) if value.strip() else value for value in values]
    assert [rows[n][0] for n in range(len(values))] == expected and rows[6][0] is None
    assert rows[7][0] == "139****0000" and rows[0][1] == "x**"  # masked by choice: the first character kept


def test_only_a_verified_public_data_operator_publishes_its_own_registered_product(operator):
    version = registered_version(operator)
    with pytest.raises(PermissionDeniedError):
        datasets.dataset_publish(version=version, by=owner_of(OrganizationFactory()), title="Not ours")
    with pytest.raises(PermissionDeniedError):
        datasets.dataset_publish(version=version, by=member(operator, "viewer"), title="Viewer")

    merchant = OrganizationFactory()  # sells, but does not operate public data
    with pytest.raises(SandboxError) as refused:
        _publish(registered_version(merchant))
    assert refused.value.code == "not_an_operator"

    suspended = operator_org()
    other_version = registered_version(suspended)
    suspended.status = "suspended"
    suspended.save(update_fields=["status"])
    with pytest.raises(OrganizationNotVerified):
        _publish(other_version)


def test_a_withdrawn_registration_cannot_be_published_and_a_product_is_published_once(operator):
    version = registered_version(operator)
    _publish(version)
    with pytest.raises(SandboxConflict) as twice:
        _publish(version)
    assert twice.value.code == "already_published"

    other = registered_version(operator, title="Another sample")
    registry_services.product_suspend(product=other.product, by=regulator(), reason="Source under review.")
    with pytest.raises(SandboxError) as suspended:
        _publish(other)
    assert suspended.value.code == "product_not_registered"


@pytest.mark.parametrize(
    ("policies", "code"),
    [
        ({"nope": "visible"}, "unknown_column"),
        ({"district": "everything"}, "invalid"),
        ({"name": "visible"}, "pii_visible"),
        (dict.fromkeys(["district", "age_band", "gender", "name", "id_number", "mobile", "income"], "hidden"),
         "all_hidden"),
    ],
)  # fmt: skip
def test_bad_policies_are_refused(operator, policies, code):
    with pytest.raises(ValidationError) as refused:
        _publish(registered_version(operator), policies=policies)
    assert refused.value.error_dict["policies"][0].code == code
    assert not SandboxDataset.objects.exists()


def test_bad_rules_are_refused(operator):
    with pytest.raises(ValidationError) as refused:
        _publish(registered_version(operator), min_group_size=0, row_cap="many")
    assert set(refused.value.message_dict) == {"min_group_size", "row_cap"}


# --- preparing -------------------------------------------------------------------------------------------------


def test_a_failed_build_is_recorded_and_any_update_retries_it(operator, monkeypatch):
    version = registered_version(operator)
    dataset = _publish(version)

    def broken(**kwargs):
        raise RuntimeError("disk full at /tmp,\nOriginal Line: 张伟,13812345678")

    monkeypatch.setattr(parquet, "build_parquet", broken)
    dataset = datasets.dataset_prepare(dataset_id=dataset.pk)

    assert dataset.status == DatasetStatus.FAILED
    assert dataset.error_message == "RuntimeError: disk full at /tmp," and "138" not in dataset.error_message
    assert actions(dataset)[-1] == "sandboxdataset.failed"

    monkeypatch.undo()
    dataset = datasets.dataset_update(dataset=dataset, by=owner_of(operator))
    assert dataset.status == DatasetStatus.PREPARING
    assert datasets.dataset_prepare(dataset_id=dataset.pk).status == DatasetStatus.PUBLISHED


def test_a_build_overtaken_by_a_policy_change_is_dropped(operator, monkeypatch):
    dataset = _publish(registered_version(operator))
    build = parquet.build_parquet

    def changed_meanwhile(**kwargs):
        datasets.dataset_update(dataset=dataset, by=owner_of(operator), policies={"gender": "hidden"})
        return build(**kwargs)

    monkeypatch.setattr(parquet, "build_parquet", changed_meanwhile)
    assert datasets.dataset_prepare(dataset_id=dataset.pk).status == DatasetStatus.PREPARING  # dropped
    monkeypatch.undo()

    dataset = datasets.dataset_prepare(dataset_id=dataset.pk)  # the build the change queued
    assert dataset.status == DatasetStatus.PUBLISHED
    assert "gender" not in _parquet_rows(dataset)[0]


# --- changing --------------------------------------------------------------------------------------------------


def test_a_policy_change_rebuilds_the_file_and_rules_apply_at_once(dataset, operator_owner):
    old_file = dataset.file.name
    updated = datasets.dataset_update(dataset=dataset, by=operator_owner, row_cap=50, daily_query_quota=3)
    assert updated.status == DatasetStatus.PUBLISHED and (updated.row_cap, updated.daily_query_quota) == (50, 3)

    policies = {"age_band": "hidden", "income": "aggregate_only"}
    updated = datasets.dataset_update(dataset=dataset, by=operator_owner, policies=policies)
    assert updated.status == DatasetStatus.PREPARING
    rebuilt = datasets.dataset_prepare(dataset_id=dataset.pk)

    assert rebuilt.status == DatasetStatus.PUBLISHED and rebuilt.file.name != old_file
    assert _parquet_rows(rebuilt)[0] == ["district", "gender", "name", "mobile", "income"]
    assert actions(dataset) == [
        "sandboxdataset.created", "sandboxdataset.published", "sandboxdataset.updated", "sandboxdataset.updated",
        "sandboxdataset.preparing", "sandboxdataset.published",
    ]  # fmt: skip
    changes = AuditEvent.objects.for_object(dataset).filter(action="sandboxdataset.updated").order_by("sequence")
    assert [event.data for event in changes] == [
        {"rules": {"row_cap": 50, "daily_query_quota": 3}, "policies": {}},
        {"rules": {}, "policies": {"age_band": "hidden", "income": "aggregate_only"}},
    ]


def test_the_old_file_is_deleted_after_the_rebuild_commits(dataset, operator_owner, django_capture_on_commit_callbacks):
    old_file = dataset.file.name
    with django_capture_on_commit_callbacks(execute=True):
        datasets.dataset_update(dataset=dataset, by=operator_owner, policies={"gender": "hidden"})
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.PUBLISHED
    assert not default_storage.exists(old_file) and default_storage.exists(dataset.file.name)


def test_only_the_operator_changes_a_dataset(dataset, buyer):
    with pytest.raises(PermissionDeniedError):
        datasets.dataset_update(dataset=dataset, by=owner_of(buyer), row_cap=5)


# --- withdrawing -----------------------------------------------------------------------------------------------


def test_withdrawing_needs_a_reason_and_frees_the_product_for_a_new_dataset(dataset, operator_owner):
    with pytest.raises(SandboxError) as refused:
        datasets.dataset_withdraw(dataset=dataset, by=operator_owner, reason=" ")
    assert refused.value.code == "reason_required"

    withdrawn = datasets.dataset_withdraw(dataset=dataset, by=operator_owner, reason="Replaced by the 2026 census.")
    assert withdrawn.status == DatasetStatus.WITHDRAWN and withdrawn.status_reason == "Replaced by the 2026 census."
    assert actions(dataset)[-1] == "sandboxdataset.withdrawn"
    again = _publish(dataset.version)
    assert again.pk != dataset.pk


def test_a_suspended_registration_withdraws_the_dataset(dataset):
    registry_services.product_suspend(product=dataset.product, by=regulator(), reason="Consent records missing.")
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.WITHDRAWN and dataset.status_reason == "Consent records missing."


# --- what buyers and the engine read ---------------------------------------------------------------------------


def test_the_masked_sample_has_no_hidden_column_and_blank_aggregate_only_values(operator):
    dataset = published_dataset(operator, policies={"income": "aggregate_only"})
    columns, rows = datasets.masked_sample(dataset)

    assert columns == ["district", "age_band", "gender", "name", "mobile", "income"]
    assert rows and all(row[5] is None for row in rows)
    assert all(row[3].endswith("**") and "****" in row[4] for row in rows)


def test_the_engine_policy_carries_the_rules_and_the_columns(operator, settings):
    settings.SANDBOX_MEMORY_LIMIT, settings.SANDBOX_MAX_EXECUTION_MS = "256MB", 5000
    dataset = published_dataset(operator, policies={"income": "aggregate_only"}, min_group_size=7, count_rounding=10)
    policy = datasets.engine_policy(dataset)

    assert policy.hidden == frozenset({"id_number"})
    assert policy.columns == {"district": "visible", "age_band": "visible", "gender": "visible", "name": "masked",
                              "mobile": "masked", "income": "aggregate_only"}  # fmt: skip
    assert (policy.min_group_size, policy.row_cap, policy.count_rounding) == (7, 1000, 10)
    assert (policy.memory_limit, policy.max_execution_ms) == ("256MB", 5000)


def test_a_json_lines_version_is_built_the_same_way(operator):
    line = '{{"district": "市南区", "name": "张{given}", "id_number": null, "mobile": 1381234{n:04d}, "income": {n}}}'
    lines = [line.format(given=given, n=n) for n, given in enumerate("伟芳娜敏静丽强磊洋艳" * 3)]
    version = registered_version(operator, ("\n".join(lines) + "\n").encode(), file_name="residents.jsonl")
    dataset = datasets.dataset_prepare(dataset_id=_publish(version).pk)

    columns, rows = _parquet_rows(dataset)
    assert dataset.status == DatasetStatus.PUBLISHED
    assert "name" in columns and {row[columns.index("name")] for row in rows} == {"张*"}
    mobiles = {row[columns.index("mobile")] for row in rows}  # numbers in the file, masked as text
    assert mobiles == {f"138****{n:04d}" for n in range(30)}
