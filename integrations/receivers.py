"""Listening to the audit ledger: committed events that partners may hear about are fanned out by a task."""

from typing import Any

from audit.models import AuditEvent
from integrations.events import source_of, subscribed_types


def on_events_recorded(sender: Any, events: list[AuditEvent], **kwargs: Any) -> None:
    """Queue the fan-out of the events that map to partner events some endpoint wants (the task loads the objects
    and finds the endpoints; this only filters)."""
    sources = [(event.pk, source) for event in events if (source := source_of(event)) is not None]
    if not sources:
        return
    types = subscribed_types()
    wanted = [pk for pk, source in sources if source.event_type in types]
    if wanted:
        from integrations.tasks import fan_out

        fan_out.delay(wanted)
