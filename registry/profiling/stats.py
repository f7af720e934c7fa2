# SQL here is assembled from column names and user patterns; every one goes through sql_ident() or sql_literal().
# ruff: noqa: S608
"""The one aggregate statistics query, the top-values query, and the Profile assembled from their results."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from registry.profiling.model import ColumnProfile, ConsistencyRule, Profile
from registry.profiling.quality import _consistency_rules, _mean, _validity, quality_scores, timeliness_score
from registry.profiling.sql import _Column

if TYPE_CHECKING:
    from registry.profiling.dataset import Dataset

TOP_VALUES = 5
# Top values are skipped for (nearly) unique columns, where every value would have a count of about 1, and for
# columns with more distinct values than this, whose GROUP BY would cost more than the rest of the profile.
TOP_VALUES_MAX_DISTINCT = 1_000_000
TOP_VALUES_MAX_UNIQUE_SHARE = 0.9


# --- the statistics query ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The columns to profile, the consistency rules that apply to them, and the one aggregate query."""

    columns: tuple[_Column, ...]
    rules: tuple[tuple[str, tuple[str, ...], str], ...]
    today: date
    missing_declarations: tuple[str, ...]

    @classmethod
    def build(cls, schema, declared_types, patterns, today) -> "_Plan":
        names = {name for name, _ in schema}
        columns = tuple(_Column(name, type_, declared_types.get(name), patterns.get(name)) for name, type_ in schema)
        missing = tuple(sorted((set(declared_types) | set(patterns)) - names))
        return cls(columns, _consistency_rules(columns), today, missing)

    @property
    def row_hash(self) -> str:
        return f"hash({', '.join(column.sql for column in self.columns)})"

    def stats_sql(self, relation: str) -> str:
        parts = ["count(*)", f"approx_count_distinct({self.row_hash})"]
        for column in self.columns:
            value = column.orderable
            parts += [
                f"count({column.sql})",
                f"approx_count_distinct({value})",
                f"CAST(min({value}) AS VARCHAR)",
                f"CAST(max({value}) AS VARCHAR)",
            ]
            if column.numeric:
                parts += [f"avg({column.sql})", f"stddev_samp({column.sql})"]
            if (invalid := column.invalid_sql()) is not None:
                parts.append(f"count(*) FILTER (WHERE {invalid})")
            if (newest := column.newest_sql(self.today)) is not None:
                parts.append(newest)
        for _, _, condition in self.rules:
            parts.append(f"count(*) FILTER (WHERE NOT coalesce({condition}, true))")
        if self.rules:
            every = " AND ".join(f"coalesce({condition}, true)" for _, _, condition in self.rules)
            parts.append(f"count(*) FILTER (WHERE NOT ({every}))")
        return f"SELECT {', '.join(parts)} FROM {relation}"

    def read_stats(self, row: tuple) -> dict[str, Any]:
        """Name the values of the aggregate row, in the order stats_sql() produced them."""
        values = iter(row)
        stats: dict[str, Any] = {"rows": next(values), "distinct_rows": next(values), "columns": {}, "newest": []}
        for column in self.columns:
            item = dict(zip(("non_null", "distinct", "min", "max"), (next(values) for _ in range(4)), strict=True))
            item["mean"], item["stddev"] = (next(values), next(values)) if column.numeric else (None, None)
            item["invalid"] = next(values) if column.invalid_sql() is not None else 0
            if column.newest_sql(self.today) is not None and (newest := next(values)) is not None:
                stats["newest"].append(newest)
            stats["columns"][column.name] = item
        stats["rule_violations"] = [next(values) for _ in self.rules]
        stats["inconsistent_rows"] = next(values) if self.rules else 0
        return stats


def _top_values_sql(columns: list[_Column], relation: str) -> str:
    which = " ".join(f"WHEN GROUPING({column.sql}) = 0 THEN {index}" for index, column in enumerate(columns))
    value = ", ".join(f"CAST({column.sql} AS VARCHAR)" for column in columns)
    sets = ", ".join(f"({column.sql})" for column in columns)
    return (
        f"WITH g AS (SELECT CASE {which} END AS idx, coalesce({value}) AS value, count(*) AS n "
        f"FROM {relation} GROUP BY GROUPING SETS ({sets})) "
        f"SELECT idx, value, n FROM g WHERE value IS NOT NULL "
        f"QUALIFY row_number() OVER (PARTITION BY idx ORDER BY n DESC, value) <= {TOP_VALUES} "
        f"ORDER BY idx, n DESC, value"
    )


def _wants_top_values(column: _Column, stats: Mapping[str, Any]) -> bool:
    item = stats["columns"][column.name]
    if column.family not in ("varchar", "integer", "boolean") and column.type != "DATE":
        return False
    distinct, non_null = item["distinct"], item["non_null"]
    if not non_null or distinct > TOP_VALUES_MAX_DISTINCT:
        return False
    return distinct < TOP_VALUES_MAX_UNIQUE_SHARE * non_null


# --- assembling the profile ----------------------------------------------------------------------------------------


def _build_profile(dataset, plan, stats, top_values, distinct_rows, exact, update_frequency, today) -> Profile:
    rows = stats["rows"]
    columns = tuple(_column_profile(column, stats["columns"][column.name], rows, top_values) for column in plan.columns)
    newest = max(stats["newest"], default=None)
    newest = newest.date() if isinstance(newest, datetime) else newest
    distinct_rows = min(distinct_rows, rows)
    scores = {
        "completeness": _mean([100 * (1 - column.null_rate) for column in columns]),
        "validity": _validity(columns, rows),
        "uniqueness": 100 * distinct_rows / rows,
        "consistency": 100 * (rows - stats["inconsistent_rows"]) / rows,
        "timeliness": timeliness_score(newest, update_frequency, today),
    }
    rules = tuple(
        ConsistencyRule(kind=kind, columns=names, violations=violations)
        for (kind, names, _), violations in zip(plan.rules, stats["rule_violations"], strict=True)
    )
    return Profile(
        format=dataset.format.value,
        encoding=dataset.encoding,
        delimiter=dataset.delimiter,
        row_count=rows,
        columns=columns,
        distinct_rows=distinct_rows,
        uniqueness_exact=exact,
        newest_date=newest,
        quality=quality_scores(**scores),
        consistency_rules=rules,
        update_frequency=update_frequency,
        today=today,
        warnings=_warnings(plan, dataset, exact),
    )


def _column_profile(column: _Column, item: Mapping[str, Any], rows: int, top_values) -> ColumnProfile:
    nulls = rows - item["non_null"]
    return ColumnProfile(
        name=column.name,
        type=column.type,
        null_count=nulls,
        null_rate=nulls / rows,
        distinct_count=item["distinct"],
        min=item["min"],
        max=item["max"],
        mean=_finite(item["mean"]),
        stddev=_finite(item["stddev"]),
        top_values=top_values.get(column.name),
        declared_type=column.declared_type,
        pattern=column.pattern,
        invalid_count=item["invalid"],
    )


def _warnings(plan: _Plan, dataset: "Dataset", exact: bool) -> tuple[str, ...]:
    warnings = [f"declared column not in the file: {name}" for name in plan.missing_declarations]
    warnings += [
        f"column {name} holds values that do not fit the type of its first rows; read as text"
        for name in dataset.widened_columns
    ]
    if not exact:
        warnings.append("uniqueness is estimated (HyperLogLog, about +-2 %) on this many rows")
    return tuple(warnings)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
