"""The negative list: built-in rules from national rules, plus custom rules regulators add in the admin."""

import logging
import re
from dataclasses import asdict, dataclass

from django.utils.translation import gettext, gettext_noop

from registry.choices import Classification
from registry.models import DataProduct, NegativeListRule, ProductVersion, RuleKind, RuleOutcome

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule for one product, with the message the merchant sees."""

    code: str
    name: str
    outcome: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def _builtin_core(product: DataProduct, version: ProductVersion | None) -> str:
    return RuleOutcome.FAIL if product.classification == Classification.CORE else RuleOutcome.PASS


def _builtin_pii(product: DataProduct, version: ProductVersion | None) -> str:
    found = bool(version and version.pii_findings) or product.has_personal_info
    return RuleOutcome.FAIL if found and not product.deidentification_note.strip() else RuleOutcome.PASS


def _builtin_level4(product: DataProduct, version: ProductVersion | None) -> str:
    return RuleOutcome.RESTRICT if product.sandbox_only else RuleOutcome.PASS


BUILTIN_CHECKS = {
    RuleKind.CORE_DATA: ("core-data", _builtin_core),
    RuleKind.PII_NOT_DEIDENTIFIED: ("pii-not-deidentified", _builtin_pii),
    RuleKind.LEVEL4_SANDBOX_ONLY: ("level4-sandbox-only", _builtin_level4),
}


def _custom_matches(rule: NegativeListRule, product: DataProduct, version: ProductVersion | None) -> bool:
    """A custom rule matches when every criterion it sets matches (sector, a column name, a PII kind)."""
    if not (rule.sector or rule.column_pattern or rule.pii_kind):
        return False
    if rule.sector and rule.sector != product.sector:
        return False
    columns = [c.get("name", "") for c in version.columns] if version else []
    if rule.column_pattern and not any(_search(rule.column_pattern, c) for c in columns):
        return False
    kinds = {f.get("kind") for f in version.pii_findings} if version else set()
    return not (rule.pii_kind and rule.pii_kind not in kinds)


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text, re.IGNORECASE) is not None
    except re.error:
        # The admin validates patterns; one stored some other way must not break every submission. It matches
        # nothing, and the rule's admin page shows the error on its next save.
        logger.warning("Negative-list pattern %r is not a valid regular expression", pattern)
        return False


def evaluate(product: DataProduct, version: ProductVersion | None) -> list[RuleResult]:
    """Run every built-in rule and every active custom rule; each result names its rule."""
    rows = {rule.code: rule for rule in NegativeListRule.objects.all()}
    results = []
    for kind, (code, check) in BUILTIN_CHECKS.items():
        row = rows.get(code)
        name = row.name if row else str(RuleKind(kind).label)
        message = row.message if row else str(RuleKind(kind).label)
        results.append(RuleResult(code, name, check(product, version), message))
    for rule in rows.values():
        if rule.kind == RuleKind.CUSTOM and rule.active:
            outcome = RuleOutcome.FAIL if _custom_matches(rule, product, version) else RuleOutcome.PASS
            results.append(RuleResult(rule.code, rule.name, outcome, rule.message))
    return results


# The built-in rules' seeded English text (migration 0002), marked for translation and translated for display.
# A regulator's own rewording in the admin is shown as written.
BUILTIN_TEXT = {
    "core-data": (
        gettext_noop("Core data is not traded"),
        gettext_noop("Core data cannot be registered for trading (national data security rules)."),
    ),
    "pii-not-deidentified": (
        gettext_noop("Personal information must be de-identified"),
        gettext_noop(
            "The product contains personal information but says nothing about how it was de-identified; "
            "personal information that is not de-identified cannot be listed."
        ),
    ),
    "level4-sandbox-only": (
        gettext_noop("Level-4 data only through the sandbox"),
        gettext_noop(
            "Highly sensitive (level 4) data can only be offered through the sandbox, never as a download or API."
        ),
    ),
}


def localised(results: list) -> list[dict]:
    """Rule results for display: built-in rules still worded as seeded are shown in the reader's language."""
    shown = []
    for result in results:
        row = result.as_dict() if isinstance(result, RuleResult) else dict(result)
        for key, english in zip(("name", "message"), BUILTIN_TEXT.get(row.get("code"), ()), strict=False):
            if row.get(key) == english:
                row[key] = gettext(english)
        shown.append(row)
    return shown


def failures(results: list[RuleResult]) -> list[RuleResult]:
    return [r for r in results if r.outcome == RuleOutcome.FAIL]
