# SQL here is assembled from column names and user patterns; every one goes through sql_ident() or sql_literal().
"""SQL building blocks: quoting, DuckDB type families, and the expressions one column adds to the stats query."""

from dataclasses import dataclass
from datetime import date

_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
_INTEGER_TYPES |= {f"U{name}" for name in _INTEGER_TYPES}
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}
_TEMPORAL_TYPES = {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"}
_ORDERABLE_TYPES = {"VARCHAR", "BOOLEAN", "TIME", "UUID"} | _INTEGER_TYPES | _FLOAT_TYPES | _TEMPORAL_TYPES
_DATE_FORMATS = "['%Y/%m/%d', '%Y.%m.%d', '%Y%m%d', '%Y年%m月%d日']"


def sql_ident(name: str) -> str:
    """A DuckDB identifier: the name double-quoted, its double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """A DuckDB string literal: the text single-quoted, its single quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Column:
    name: str
    type: str
    declared_type: str | None
    pattern: str | None

    @property
    def sql(self) -> str:
        return sql_ident(self.name)

    @property
    def family(self) -> str:
        base = self.type.split("(")[0]
        if base in _INTEGER_TYPES:
            return "integer"
        if base in _FLOAT_TYPES or base == "DECIMAL":
            return "float"
        if base in _TEMPORAL_TYPES:
            return "temporal"
        if base in _ORDERABLE_TYPES:
            return base.lower()
        return "nested"

    def _holds_declared_type(self) -> bool:
        """True when DuckDB's own type already guarantees every value fits the declaration (no per-row check)."""
        return (
            self.declared_type == "text"
            or (self.declared_type == "integer" and self.family == "integer")
            or (self.declared_type == "decimal" and (self.family == "integer" or self.type.startswith("DECIMAL")))
            or (self.declared_type == "date" and self.type == "DATE")
            or (self.declared_type == "datetime" and self.family == "temporal")
            or (self.declared_type == "boolean" and self.family == "boolean")
        )

    @property
    def numeric(self) -> bool:
        return self.family in ("integer", "float")

    @property
    def orderable(self) -> str:
        """The column as an expression min/max/distinct work on (nested types as their text)."""
        return self.sql if self.family != "nested" else f"CAST({self.sql} AS VARCHAR)"

    def newest_sql(self, today: date) -> str | None:
        """The newest date in this column that is not after `today`, or None if the column holds no dates."""
        if self.family == "temporal":
            value = f"CAST({self.sql} AS DATE)"
        elif self.declared_type in ("date", "datetime"):
            value = _as_date_sql(self.sql)
        else:
            return None
        return f"max({value}) FILTER (WHERE {value} <= DATE '{today.isoformat()}')"

    def invalid_sql(self) -> str | None:
        """Condition true for a non-null value that breaks the column's declared type or pattern."""
        checks = []
        if self.declared_type and not self._holds_declared_type():
            checks.append(_type_check_sql(self.sql, self.declared_type))
        if self.pattern is not None:
            checks.append(f"regexp_full_match(CAST({self.sql} AS VARCHAR), {sql_literal(self.pattern)})")
        if not checks:
            return None
        return f"{self.sql} IS NOT NULL AND NOT coalesce({' AND '.join(checks)}, false)"


def _type_check_sql(value: str, declared_type: str) -> str:
    if declared_type == "integer":
        return f"TRY_CAST({value} AS DOUBLE) = TRY_CAST({value} AS HUGEINT)"
    if declared_type == "decimal":
        return f"isfinite(TRY_CAST({value} AS DOUBLE))"
    if declared_type == "date":
        return f"{_as_date_sql(value)} IS NOT NULL"
    if declared_type == "datetime":
        return f"TRY_CAST({value} AS TIMESTAMP) IS NOT NULL"
    return f"(TRY_CAST({value} AS BOOLEAN) IS NOT NULL OR CAST({value} AS VARCHAR) IN ('是', '否'))"


def _as_date_sql(value: str) -> str:
    text = f"CAST({value} AS VARCHAR)"
    return f"coalesce(TRY_CAST({value} AS DATE), CAST(try_strptime({text}, {_DATE_FORMATS}) AS DATE))"
