"""The audit ledger: an append-only chain of events, each hashing the one before it."""

import hashlib
import json
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a ledger event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("The audit ledger is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("The audit ledger is append-only.")

    def for_object(self, obj: models.Model) -> "AuditEventQuerySet":
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))


class ActorKind(models.TextChoices):
    USER = "user", _("User")
    API_KEY = "api_key", _("API key")
    SYSTEM = "system", _("System")


class AuditEvent(models.Model):
    """One state change, chained to the previous event by SHA-256."""

    sequence = models.PositiveBigIntegerField(_("sequence"), unique=True)
    created_at = models.DateTimeField(_("time"))
    actor_kind = models.CharField(_("actor kind"), max_length=16, choices=ActorKind)
    actor_id = models.CharField(_("actor id"), max_length=64, blank=True)
    actor_label = models.CharField(_("actor"), max_length=255, blank=True)
    organization_id = models.BigIntegerField(_("organisation id"), null=True, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("The audit ledger is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("The audit ledger is append-only.")

    def canonical_json(self) -> str:
        """The event's content as canonical JSON (sorted keys, no spaces, UTF-8)."""
        body = {
            "sequence": self.sequence,
            "created_at": self.created_at.isoformat(),
            "actor_kind": self.actor_kind,
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "organization_id": self.organization_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "data": self.data,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)

    def compute_hash(self) -> str:
        return hashlib.sha256((self.prev_hash + self.canonical_json()).encode()).hexdigest()


class LedgerHead(models.Model):
    """The single row every append locks: it serialises writers and remembers the chain's tip."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("ledger head")

    def __str__(self) -> str:
        return f"head #{self.sequence}"
