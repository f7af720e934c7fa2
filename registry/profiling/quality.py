"""The quality dimensions: score formulas, declaration checks and the automatic consistency rules.

The formulas are spelled out in the docstring of the registry.profiling package.
"""

import re
import threading
from collections.abc import Iterator, Mapping
from datetime import date
from functools import cache

import duckdb

from registry.profiling.model import ColumnProfile, QualityScores
from registry.profiling.sql import _Column

UPDATE_PERIOD_DAYS = {"realtime": 1, "daily": 1, "weekly": 7, "monthly": 30, "quarterly": 91, "yearly": 365}
ONCE = "once"
WEIGHTS = {"completeness": 0.25, "validity": 0.25, "uniqueness": 0.2, "consistency": 0.15, "timeliness": 0.15}
DECLARED_TYPES = ("integer", "decimal", "date", "datetime", "text", "boolean")

_PAIR_TOKENS = (
    ("start", "end"),
    ("begin", "end"),
    ("from", "to"),
    ("min", "max"),
    ("开始", "结束"),
    ("起始", "终止"),
    ("起始", "结束"),
    ("生效", "失效"),
    ("最小", "最大"),
    ("最低", "最高"),
)
_NON_NEGATIVE_WORDS = ("amount", "amt", "price", "qty", "quantity", "cost", "fee")
_NON_NEGATIVE_CJK = ("金额", "价格", "单价", "数量", "费用")


# --- consistency rules ---------------------------------------------------------------------------------------------


def _consistency_rules(columns: tuple[_Column, ...]) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """(kind, columns, SQL condition that a consistent row satisfies) for every rule the column names call for."""
    by_name = {_normalise(column.name): column for column in columns}
    rules: list[tuple[str, tuple[str, ...], str]] = []
    seen: set[tuple[str, str]] = set()
    for column in columns:
        for partner in _pair_partners(_normalise(column.name), by_name):
            pair = (column.name, partner.name)
            if pair in seen or not _comparable(column, partner):
                continue
            seen.add(pair)
            left, right = _comparable_sql(column, partner)
            rules.append(("ordered", pair, f"{left} <= {right}"))
    for column in columns:
        if column.numeric and _is_amount(_normalise(column.name)):
            rules.append(("non_negative", (column.name,), f"{column.sql} >= 0"))
    return tuple(rules)


def _normalise(name: str) -> str:
    """snake_case, lower case: startDate, Start-Date and start date all become start_date."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[\s\-.]+", "_", name).lower()


def _pair_partners(name: str, by_name: Mapping[str, _Column]) -> Iterator[_Column]:
    for start, end in _PAIR_TOKENS:
        if start.isascii():
            pattern = rf"(?<![a-z]){start}(?![a-z])"
            if re.search(pattern, name):
                partner = re.sub(pattern, end, name)
                if partner in by_name:
                    yield by_name[partner]
        elif start in name and (partner := name.replace(start, end)) in by_name:
            yield by_name[partner]


def _comparable(left: _Column, right: _Column) -> bool:
    return (left.family == right.family == "temporal") or (left.numeric and right.numeric)


def _comparable_sql(left: _Column, right: _Column) -> tuple[str, str]:
    if left.family == "temporal" and left.type != right.type:
        return f"CAST({left.sql} AS TIMESTAMP)", f"CAST({right.sql} AS TIMESTAMP)"
    return left.sql, right.sql


def _is_amount(name: str) -> bool:
    words = set(re.split(r"[^a-z]+", name))
    return bool(words & {word for base in _NON_NEGATIVE_WORDS for word in (base, base + "s")}) or any(
        token in name for token in _NON_NEGATIVE_CJK
    )


# --- scores --------------------------------------------------------------------------------------------------------


def _validity(columns: tuple[ColumnProfile, ...], rows: int) -> float:
    non_null = sum(rows - column.null_count for column in columns)
    invalid = sum(column.invalid_count for column in columns)
    return 100.0 if not non_null else 100 * (non_null - invalid) / non_null


def timeliness_score(newest: date | None, update_frequency: str | None, today: date) -> float | None:
    """100 when the newest date is at most one update period old, 0 from four periods on, linear in between."""
    if update_frequency == ONCE:
        return 100.0
    if newest is None or update_frequency is None:
        return None
    period = UPDATE_PERIOD_DAYS[update_frequency]
    age = max((today - newest).days, 0)
    if age <= period:
        return 100.0
    return max(0.0, 100 * (4 * period - age) / (3 * period))


def quality_scores(**scores: float | None) -> QualityScores:
    """Round each dimension to one decimal and add the renormalised weighted overall score."""
    available = {name: value for name, value in scores.items() if value is not None}
    weight = sum(WEIGHTS[name] for name in available)
    overall = sum(WEIGHTS[name] * value for name, value in available.items()) / weight
    rounded = {name: (round(value, 1) if value is not None else None) for name, value in scores.items()}
    return QualityScores(**rounded, overall=round(overall, 1))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 100.0


def _check_declarations(declared_types: Mapping[str, str], patterns: Mapping[str, str], frequency) -> None:
    unknown = {name: kind for name, kind in declared_types.items() if kind not in DECLARED_TYPES}
    if unknown:
        raise ValueError(f"unknown declared types {unknown}; expected one of {', '.join(DECLARED_TYPES)}")
    if frequency is not None and frequency != ONCE and frequency not in UPDATE_PERIOD_DAYS:
        raise ValueError(f"unknown update frequency {frequency!r}")


# --- patterns ------------------------------------------------------------------------------------------------------

_PATTERN_LOCK = threading.Lock()


@cache
def _pattern_connection() -> duckdb.DuckDBPyConnection:
    # Opening a DuckDB connection costs about 0.1 s; this empty one only compiles patterns, one caller at a time.
    connection = duckdb.connect(":memory:", config={"threads": 1, "enable_external_access": False})
    connection.execute("SET lock_configuration = true")
    return connection


def pattern_error(pattern: str) -> str | None:
    """Why DuckDB's regular expressions (RE2: no look-around, no back-references) refuse `pattern`; None if it compiles.

    Profiling checks values with `regexp_full_match`, so a pattern must compile there, not just in Python's `re`.
    """
    with _PATTERN_LOCK:
        try:
            _pattern_connection().execute("SELECT regexp_full_match('', $pattern)", {"pattern": pattern}).fetchall()
        except duckdb.Error as exc:
            return str(exc).removeprefix("Invalid Input Error: ").strip()
    return None
