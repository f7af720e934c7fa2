"""Writing to and checking the audit ledger."""

import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from audit.models import GENESIS_HASH, ActorKind, AuditEvent, LedgerHead


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


# No savepoint: callers are services that are already atomic, and a failed append must fail them anyway.
@transaction.atomic(savepoint=False)
def audit_record(
    *,
    action: str,
    obj: models.Model | None = None,
    actor: Any = None,
    organization_id: int | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Append one event to the ledger, chained to the current head under a row lock."""
    head = LedgerHead.objects.select_for_update().filter(pk=1).first() or _restore_head()
    kind, actor_id, actor_label = _actor_fields(actor)
    event = AuditEvent(
        sequence=head.sequence + 1,
        created_at=timezone.now(),
        actor_kind=kind,
        actor_id=actor_id,
        actor_label=actor_label[:255],
        organization_id=organization_id,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        data=_json_safe(data),
        prev_hash=head.hash,
    )
    event.hash = event.compute_hash()
    event.save()
    LedgerHead.objects.filter(pk=1).update(sequence=event.sequence, hash=event.hash)
    return event


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
