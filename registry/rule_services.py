"""Regulators' writes to the negative list: custom rules added, changed and deleted, every one audited."""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import require_regulator
from audit.services import audit_record
from core.errors import DomainError
from registry.models import NegativeListRule, RuleKind
from registry.pii import PiiKind

RULE_FIELDS = ("code", "name", "kind", "message", "sector", "column_pattern", "pii_kind", "active")
# Built-in rules are evaluated by code in registry.rules; only the wording shown to merchants may change.
BUILTIN_EDITABLE = frozenset({"name", "message"})


class BuiltinRuleProtected(DomainError):
    code = "builtin_rule"
    status = 409


def column_pattern_check(pattern: str) -> None:
    """A column pattern must compile: registry.rules runs it on every submission."""
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValidationError(
            _("This is not a valid regular expression: %(error)s.") % {"error": exc}, code="invalid_regex"
        ) from exc


def rule_check(rule: NegativeListRule) -> None:
    """What a custom rule needs beyond the model's own validation; the admin form shows these errors too."""
    errors: dict[str, Any] = {}
    if rule.pii_kind and rule.pii_kind not in {kind.value for kind in PiiKind}:
        errors["pii_kind"] = _("Choose one of the kinds of personal information the registry detects.")
    if rule.column_pattern:
        try:
            column_pattern_check(rule.column_pattern)
        except ValidationError as exc:
            errors["column_pattern"] = exc.messages
    if not (rule.sector or rule.column_pattern or rule.pii_kind):
        # registry.rules ignores a custom rule without criteria: refuse it rather than store a rule that never fires.
        errors["__all__"] = _("Set a sector, a column name pattern or a kind of personal information.")
    if errors:
        raise ValidationError(errors)


def _validate(rule: NegativeListRule) -> None:
    rule.full_clean()
    if not rule.is_builtin:
        rule_check(rule)


def _snapshot(rule: NegativeListRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


@transaction.atomic
def rule_create(*, rule: NegativeListRule, by: User) -> NegativeListRule:
    """Add a custom rule (built-in rules come from a migration, never from here)."""
    require_regulator(by)
    rule.kind = RuleKind.CUSTOM
    _validate(rule)
    rule.save()
    audit_record(action="negativelistrule.created", obj=rule, actor=by, data=_snapshot(rule))
    return rule


@transaction.atomic
def rule_update(*, rule: NegativeListRule, by: User) -> NegativeListRule:
    """Save the changes made to `rule`; a built-in rule only takes a new name and message."""
    require_regulator(by)
    stored = NegativeListRule.objects.select_for_update().get(pk=rule.pk)
    changes = {name: [getattr(stored, name), getattr(rule, name)] for name in RULE_FIELDS}
    changes = {name: values for name, values in changes.items() if values[0] != values[1]}
    if "kind" in changes or (stored.is_builtin and set(changes) - BUILTIN_EDITABLE):
        raise BuiltinRuleProtected(_("Only the name and the message of a built-in rule can be changed."))
    _validate(rule)
    rule.save()
    audit_record(action="negativelistrule.changed", obj=rule, actor=by, data={"changes": changes})
    return rule


@transaction.atomic
def rule_delete(*, rule: NegativeListRule, by: User) -> None:
    """Delete a custom rule; built-in rules stay."""
    require_regulator(by)
    stored = NegativeListRule.objects.select_for_update().get(pk=rule.pk)
    if stored.is_builtin:
        raise BuiltinRuleProtected(_("Built-in rules cannot be deleted."))
    audit_record(action="negativelistrule.deleted", obj=stored, actor=by, data=_snapshot(stored))
    stored.delete()
