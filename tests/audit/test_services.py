import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from audit.models import GENESIS_HASH, ActorKind, AppendOnlyError, AuditEvent, LedgerHead
from audit.services import audit_batch, audit_record, ledger_verify
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db


def _raw_sql(sql: str, params: list) -> None:
    """Tamper below the ORM, the way an attacker with database access would (trigger off on PostgreSQL)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")


def test_events_form_a_hash_chain():
    user = UserFactory()
    first = audit_record(action="thing.created", actor=user, data={"n": 1})
    second = audit_record(action="thing.changed", data={"n": 2})
    assert first.prev_hash == GENESIS_HASH if first.sequence == 1 else True
    assert second.sequence == first.sequence + 1
    assert second.prev_hash == first.hash
    assert second.hash == second.compute_hash()
    assert (first.actor_kind, first.actor_id) == (ActorKind.USER, str(user.pk))
    assert second.actor_kind == ActorKind.SYSTEM


def test_api_key_actor_is_recorded_as_key():
    key, _raw = ApiKeyFactory()
    event = audit_record(action="x.y", actor=key)
    assert event.actor_kind == ActorKind.API_KEY
    assert event.actor_id == str(key.pk)


def test_ledger_rejects_changes_through_the_orm():
    event = audit_record(action="thing.created")
    event.action = "thing.deleted"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_database_refuses_updates_to_the_ledger():
    from django.db import DatabaseError

    event = audit_record(action="thing.created")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])


def test_verify_passes_on_an_intact_ledger():
    for n in range(5):
        audit_record(action="thing.created", data={"n": n})
    report = ledger_verify(chunk_size=2)
    assert report.ok and report.checked == AuditEvent.objects.count()


def test_verify_names_a_tampered_event():
    events = [audit_record(action="thing.created", data={"amount": n}) for n in range(4)]
    _raw_sql("UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"amount": 1000000}', events[2].pk])
    report = ledger_verify()
    assert not report.ok
    assert report.sequence == events[2].sequence
    assert "altered" in report.error


def test_verify_names_a_missing_event():
    events = [audit_record(action="thing.created", data={"n": n}) for n in range(4)]
    _raw_sql("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    report = ledger_verify()
    assert not report.ok
    assert report.sequence == events[1].sequence
    assert "missing" in report.error


def test_verify_notices_the_last_event_deleted():
    events = [audit_record(action="thing.created", data={"n": n}) for n in range(3)]
    _raw_sql("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].pk])
    report = ledger_verify()
    assert not report.ok and report.sequence == events[-1].sequence


def test_verify_notices_a_rehashed_event_that_breaks_the_link():
    events = [audit_record(action="thing.created", data={"n": n}) for n in range(3)]
    forged = AuditEvent.objects.get(pk=events[1].pk)
    forged.data = {"n": 99}
    new_hash = forged.compute_hash()
    _raw_sql("UPDATE audit_auditevent SET data = %s, hash = %s WHERE id = %s", ['{"n": 99}', new_hash, events[1].pk])
    report = ledger_verify()
    assert not report.ok
    assert report.sequence == events[2].sequence
    assert "does not link" in report.error


def test_audit_verify_command(capsys):
    events = [audit_record(action="thing.created") for _ in range(2)]
    call_command("audit_verify")
    assert "intact" in capsys.readouterr().out
    _raw_sql("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["thing.hidden", events[0].pk])
    with pytest.raises(CommandError, match=f"#{events[0].sequence}"):
        call_command("audit_verify")


# --- batches ----------------------------------------------------------------------------------------------------


def test_a_batch_appends_its_events_when_it_ends_chained_in_order():
    before = audit_record(action="thing.before")
    with audit_batch():
        events = [audit_record(action="thing.batched", data={"n": n}) for n in range(3)]
        assert events[0].pk is None and not AuditEvent.objects.filter(action="thing.batched").exists()
    stored = list(AuditEvent.objects.filter(action="thing.batched").order_by("sequence"))
    assert [e.data["n"] for e in stored] == [0, 1, 2]
    assert [e.sequence for e in events] == [before.sequence + 1, before.sequence + 2, before.sequence + 3]
    assert [e.pk for e in events] == [e.pk for e in stored] and events[0].prev_hash == before.hash
    after = audit_record(action="thing.after")
    assert after.prev_hash == events[-1].hash
    assert ledger_verify().ok


def test_a_batch_locks_the_head_once(django_assert_num_queries):
    audit_record(action="thing.before")  # the head row exists
    with django_assert_num_queries(3), audit_batch():  # lock the head, one INSERT, update the head
        for n in range(5):
            audit_record(action="thing.batched", data={"n": n})
    head = LedgerHead.objects.get()
    assert head.sequence == AuditEvent.objects.order_by("-sequence").first().sequence
    assert ledger_verify().ok


def test_an_error_in_a_batch_appends_none_of_its_events():
    head = audit_record(action="thing.before")
    with pytest.raises(RuntimeError), transaction.atomic(), audit_batch():
        audit_record(action="thing.lost")
        raise RuntimeError("the service failed")
    assert not AuditEvent.objects.filter(action="thing.lost").exists()
    assert LedgerHead.objects.get().sequence == head.sequence
    assert audit_record(action="thing.next").prev_hash == head.hash


def test_a_nested_batch_is_appended_with_the_outer_one():
    with audit_batch():
        audit_record(action="thing.outer")
        with audit_batch():
            inner = audit_record(action="thing.inner")
        assert inner.pk is None
        audit_record(action="thing.outer")
    actions = list(AuditEvent.objects.order_by("-sequence").values_list("action", flat=True)[:3])
    assert actions == ["thing.outer", "thing.inner", "thing.outer"]
    assert ledger_verify().ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_concurrent_appends_keep_one_unbroken_chain():
    errors = []

    def append(n: int) -> None:
        try:
            for i in range(10):
                audit_record(action="thing.concurrent", data={"worker": n, "i": i})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = ledger_verify()
    assert report.ok, report.error
    assert AuditEvent.objects.filter(action="thing.concurrent").count() == 60


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_concurrent_batches_and_appends_keep_one_unbroken_chain():
    errors = []

    def append(n: int) -> None:
        try:
            for i in range(10):
                if n % 2:
                    audit_record(action="thing.concurrent", data={"worker": n, "i": i})
                    continue
                with audit_batch():
                    for part in range(3):
                        audit_record(action="thing.concurrent", data={"worker": n, "i": i, "part": part})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = ledger_verify()
    assert report.ok, report.error
    assert AuditEvent.objects.filter(action="thing.concurrent").count() == 3 * 10 + 3 * 30
    batches: dict[tuple, list[int]] = {}
    for event in AuditEvent.objects.filter(action="thing.concurrent", data__has_key="part"):
        batches.setdefault((event.data["worker"], event.data["i"]), []).append(event.sequence)
    assert all(sorted(seqs) == list(range(min(seqs), min(seqs) + 3)) for seqs in batches.values())  # unbroken
