"""Signals of the audit ledger, for apps that react to state changes (audit imports none of them).

`events_recorded` is sent after the transaction that appended the events commits (never for a rolled-back one),
with `events`: the AuditEvent objects of one append (one event, or a whole audit_batch), in ledger order. A listener
that fails is logged, not raised: the request that caused the events has already committed.
"""

from django.dispatch import Signal

events_recorded = Signal()
