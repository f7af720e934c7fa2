"""One transition function per stateful model (django-oscar `set_status`), audited on every change."""

from collections.abc import Mapping
from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext as _

from audit.services import audit_record
from core.errors import InvalidTransition


class StateMachineMixin(models.Model):
    """Adds `transition_to` driven by a TRANSITIONS table; subclasses define a `status` field."""

    TRANSITIONS: ClassVar[Mapping[str, frozenset[str]]] = {}
    status_field: ClassVar[str] = "status"

    class Meta:
        abstract = True

    @property
    def state(self) -> str:
        return getattr(self, self.status_field)

    def can_transition(self, new: str) -> bool:
        return new in self.TRANSITIONS.get(self.state, frozenset())

    def transition_to(self, new: str, *, by: Any = None, reason: str = "", data: dict | None = None) -> None:
        """Move to `new` or raise InvalidTransition; saves the status and writes one audit event."""
        old = self.state
        if not self.can_transition(new):
            message = _("%(model)s: %(old)s → %(new)s is not allowed.")
            raise InvalidTransition(
                message % {"model": self._meta.verbose_name, "old": old, "new": new}, code="invalid_transition"
            )
        setattr(self, self.status_field, new)
        self.on_transition(old, new)
        self.save()
        audit_record(
            action=f"{self._meta.model_name}.{new}",
            obj=self,
            actor=by,
            organization_id=self.audit_organization_id(),
            data={"from": old, "to": new, "reason": reason, **(data or {})},
        )

    def on_transition(self, old: str, new: str) -> None:
        """Hook for fields that change with the state (timestamps)."""

    def audit_organization_id(self) -> int | None:
        return getattr(self, "organization_id", None)
