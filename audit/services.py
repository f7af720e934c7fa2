"""Writing to and checking the audit ledger."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from audit.models import GENESIS_HASH, ActorKind, AuditEvent, LedgerHead
from audit.signals import events_recorded


def _actor_fields(actor: Any) -> tuple[str, str, str]:
    """Describe who acted: a user, an API key (or its principal), or the system."""
    if actor is None or not getattr(actor, "is_authenticated", True):
        return ActorKind.SYSTEM, "", "system"
    api_key = getattr(actor, "api_key", None)
    if api_key is not None:
        return ActorKind.API_KEY, str(api_key.pk), str(api_key)
    if getattr(actor, "_meta", None) is not None and actor._meta.label_lower == "accounts.apikey":
        return ActorKind.API_KEY, str(actor.pk), str(actor)
    return ActorKind.USER, str(actor.pk), str(actor)


def _json_safe(data: dict | None) -> dict:
    return json.loads(json.dumps(data or {}, default=str))


# The events recorded inside the innermost open audit_batch, waiting to be chained; None outside a batch.
_pending: ContextVar[list[AuditEvent] | None] = ContextVar("audit_pending", default=None)


def audit_record(
    *,
    action: str,
    obj: models.Model | None = None,
    actor: Any = None,
    organization_id: int | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Append one event to the ledger, chained to the current head under a row lock (inside an audit_batch: when
    the batch ends, and only then are its sequence, hash and pk filled in)."""
    event = _event(action=action, obj=obj, actor=actor, organization_id=organization_id, data=data)
    pending = _pending.get()
    if pending is not None:
        pending.append(event)
    else:
        _append([event])
    return event


@contextmanager
def audit_batch() -> Iterator[None]:
    """Buffer the events recorded inside the block and append them when it exits: one head lock, one INSERT and one
    head UPDATE, with the lock taken as late as possible (it is held until commit, and every writer waits for it).

    The block runs in a transaction (the caller's, without a savepoint; else its own). An error leaving the block
    discards the buffer along with the transaction. Let errors propagate inside it: an event recorded in an inner
    atomic block whose error is caught there would still be written. A nested batch adds to the outer one.
    """
    if _pending.get() is not None:
        yield
        return
    pending: list[AuditEvent] = []
    with transaction.atomic(savepoint=False):
        token = _pending.set(pending)
        try:
            yield
        finally:
            _pending.reset(token)
        if pending:
            _append(pending)


def _event(
    *, action: str, obj: models.Model | None, actor: Any, organization_id: int | None, data: dict | None
) -> AuditEvent:
    kind, actor_id, actor_label = _actor_fields(actor)
    return AuditEvent(
        created_at=timezone.now(),
        actor_kind=kind,
        actor_id=actor_id,
        actor_label=actor_label[:255],
        organization_id=organization_id,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        data=_json_safe(data),
    )


# No savepoint: callers are services that are already atomic, and a failed append must fail them anyway.
@transaction.atomic(savepoint=False)
def _append(events: list[AuditEvent]) -> None:
    """Chain the events to the head, in order, under the head's row lock (held until the transaction ends)."""
    try:
        head = LedgerHead.objects.select_for_update().get(pk=1)
    except LedgerHead.DoesNotExist:
        head = _restore_head()
    sequence, tip = head.sequence, head.hash
    for event in events:
        sequence += 1
        event.sequence, event.prev_hash = sequence, tip
        event.hash = tip = event.compute_hash()
    AuditEvent.objects.bulk_create(events)
    LedgerHead.objects.filter(pk=1).update(sequence=sequence, hash=tip)
    if events_recorded.has_listeners(AuditEvent):
        transaction.on_commit(partial(events_recorded.send, sender=AuditEvent, events=events), robust=True)


def _restore_head() -> LedgerHead:
    """Recreate the head row from the last event (it is made by a migration; a test flush removes it)."""
    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
    sequence, tip = last or (0, GENESIS_HASH)
    try:
        with transaction.atomic():
            LedgerHead.objects.create(pk=1, sequence=sequence, hash=tip)
    except IntegrityError:
        pass  # another writer restored it first
    return LedgerHead.objects.select_for_update().get(pk=1)


@dataclass(frozen=True)
class LedgerReport:
    """The outcome of walking the chain."""

    ok: bool
    checked: int
    error: str | None = None
    sequence: int | None = None

    def as_dict(self) -> dict:
        return {"ok": self.ok, "checked": self.checked, "error": self.error, "sequence": self.sequence}


def ledger_verify(*, chunk_size: int = 2000) -> LedgerReport:
    """Walk the whole chain in order; name the first missing, altered or mis-linked event."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    events = AuditEvent.objects.order_by("sequence").iterator(chunk_size=chunk_size)
    for event in events:
        problem = _check_event(event, expected_seq, prev_hash)
        if problem:
            return LedgerReport(ok=False, checked=checked, error=problem, sequence=expected_seq)
        expected_seq, prev_hash, checked = event.sequence + 1, event.hash, checked + 1
    head = LedgerHead.objects.filter(pk=1).first()
    if head is not None and head.sequence != expected_seq - 1:
        error = f"event #{expected_seq} is missing: the ledger head records #{head.sequence} as the last event"
        return LedgerReport(ok=False, checked=checked, error=error, sequence=expected_seq)
    return LedgerReport(ok=True, checked=checked)


def _check_event(event: AuditEvent, expected_seq: int, prev_hash: str) -> str | None:
    if event.sequence != expected_seq:
        return f"event #{expected_seq} is missing (next found is #{event.sequence})"
    if event.prev_hash != prev_hash:
        return f"event #{event.sequence} does not link to the previous event's hash"
    if event.compute_hash() != event.hash:
        return f"event #{event.sequence} was altered: its content does not match its hash"
    return None
