"""Column rules: the type, and optionally the pattern, a merchant declares for columns of a product's data files.

Stored on `DataProduct.column_rules` as `{column name: {"type": ..., "pattern": ...}}`, keyed by the name exactly as
in the file's header. Profiling checks every non-null value of a declared column (registry.profiling: the type with
TRY_CAST and the usual Chinese date spellings, the pattern with DuckDB's `regexp_full_match`, so the whole value must
match) and counts those that do not fit into the validity score. Undeclared columns count as valid.

`clean_column_rules` is the one validation, used by the services (and so by the web form and the API): known types
(`timestamp` is accepted for `datetime`), patterns DuckDB can compile, at most MAX_RULES rules, names and patterns of
bounded length. The web form and the API serializer check the same rules per row with `rule_errors`.
"""

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from registry.choices import ColumnType
from registry.profiling import pattern_error

MAX_RULES = 200
MAX_COLUMN_LENGTH = 200
MAX_PATTERN_LENGTH = 300
TYPE_ALIASES = {"timestamp": ColumnType.DATETIME.value}


def canonical_type(value: Any) -> str | None:
    """The stored name of a declared type (`timestamp` → `datetime`), or None for an unknown one."""
    if not isinstance(value, str):
        return None
    value = TYPE_ALIASES.get(value.strip().lower(), value.strip().lower())
    return value if value in ColumnType.values else None


def rule_errors(column: str, type_: Any, pattern: Any) -> dict[str, str]:
    """Messages per part of one rule (`column`, `type`, `pattern`) that is wrong; empty when the rule is fine."""
    errors = {}
    if not column.strip():
        errors["column"] = _("Name the column as it is written in the file's header.")
    elif len(column) > MAX_COLUMN_LENGTH:
        errors["column"] = _("A column name has at most %(n)s characters.") % {"n": MAX_COLUMN_LENGTH}
    elif any(unicodedata.category(char) == "Cc" for char in column):
        errors["column"] = _("A column name cannot contain control characters such as tabs or line breaks.")
    if type_ in (None, ""):
        errors["type"] = _("Choose what the column holds.")
    elif canonical_type(type_) is None:
        errors["type"] = _("Unknown type “%(type)s”; use one of: %(types)s.") % {
            "type": type_,
            "types": ", ".join(ColumnType.values),
        }
    if not isinstance(pattern, str):
        errors["pattern"] = _("A pattern is text: a regular expression.")
    elif len(pattern) > MAX_PATTERN_LENGTH:
        errors["pattern"] = _("A pattern has at most %(n)s characters.") % {"n": MAX_PATTERN_LENGTH}
    elif pattern and (reason := pattern_error(pattern)):
        errors["pattern"] = _("Not a regular expression the profiler can use: %(reason)s.") % {"reason": reason}
    return errors


def clean_column_rules(value: Any) -> dict[str, dict[str, str]]:
    """The rules normalised (names stripped, canonical types, "" for no pattern); ValidationError on `column_rules`
    naming every column at fault."""
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise _error([_("Give the column rules as an object: column name → {type, pattern}.")])
    if len(value) > MAX_RULES:
        raise _error([_("At most %(n)s column rules.") % {"n": MAX_RULES}])
    rules: dict[str, dict[str, str]] = {}
    messages = []
    for column, rule in value.items():
        name = str(column).strip()
        errors = _errors_of(name, rule)
        if name in rules:
            errors["column"] = _("Each column has one rule.")
        messages += [_("Column “%(column)s”: %(error)s") % {"column": name, "error": e} for e in errors.values()]
        if not errors:
            rules[name] = {"type": canonical_type(rule["type"]), "pattern": rule.get("pattern") or ""}
    if messages:
        raise _error(messages)
    return rules


def _errors_of(name: str, rule: Any) -> dict[str, str]:
    if not isinstance(rule, Mapping) or set(rule) - {"type", "pattern"}:
        return {"rule": _("Give a type and, if you like, a pattern: {“type”: …, “pattern”: …}.")}
    return rule_errors(name, rule.get("type"), rule.get("pattern") or "")


def _error(messages: list[str]) -> ValidationError:
    return ValidationError({"column_rules": messages})


def declarations(rules: Mapping[str, Mapping[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    """(declared types, patterns) by column, as registry.profiling takes them."""
    types = {name: rule["type"] for name, rule in rules.items()}
    patterns = {name: rule["pattern"] for name, rule in rules.items() if rule.get("pattern")}
    return types, patterns


def ordered(rules: Mapping[str, Mapping[str, str]], columns: Iterable[str] = ()) -> list[tuple[str, dict[str, str]]]:
    """The rules in the file's column order, then the others by name (JSON objects keep no order in PostgreSQL)."""
    position = {name: index for index, name in enumerate(columns)}
    names = sorted(rules, key=lambda name: (position.get(name, len(position)), name))
    return [(name, dict(rules[name])) for name in names]
