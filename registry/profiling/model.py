"""The results of profiling (Profile and its parts, JSON round-trippable) and the error for unusable files."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal


class ProfilingError(Exception):
    """The file cannot be profiled. `code` is stable (for the UI and the API); `line` is 1-based, header included.

    For CSV, `line` is DuckDB's: it counts records, so it is the physical line unless an earlier quoted value spans
    several lines. For JSON Lines it is the line where the JSON parser gave up.

    Codes: empty, no_rows, binary_content, encoding, malformed, format_mismatch, unsupported_format, resources.
    """

    def __init__(self, code: str, message: str = "", *, line: int | None = None) -> None:
        self.code = code
        self.line = line
        self.message = message or code
        super().__init__(f"{code} (line {line}): {self.message}" if line else f"{code}: {self.message}")


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column. `top_values` is None when skipped (nearly unique, too many values, or a type
    without meaningful frequencies such as floats); `invalid_count` counts non-null values failing the declaration.
    """

    name: str
    type: str
    null_count: int
    null_rate: float
    distinct_count: int
    min: str | None = None
    max: str | None = None
    mean: float | None = None
    stddev: float | None = None
    top_values: tuple[tuple[str, int], ...] | None = None
    declared_type: str | None = None
    pattern: str | None = None
    invalid_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.top_values is not None:
            data["top_values"] = [{"value": value, "count": count} for value, count in self.top_values]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ColumnProfile":
        data = dict(data)
        if data.get("top_values") is not None:
            data["top_values"] = tuple((item["value"], item["count"]) for item in data["top_values"])
        return cls(**data)


@dataclass(frozen=True)
class ConsistencyRule:
    """One automatic consistency rule, the columns it reads and how many rows break it."""

    kind: Literal["ordered", "non_negative"]
    columns: tuple[str, ...]
    violations: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "columns": list(self.columns), "violations": self.violations}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ConsistencyRule":
        return cls(kind=data["kind"], columns=tuple(data["columns"]), violations=data["violations"])


@dataclass(frozen=True)
class QualityScores:
    """GB/T 36344-2018 dimensions, 0-100; timeliness is None when it cannot be judged (see the package docstring)."""

    completeness: float
    validity: float
    uniqueness: float
    consistency: float
    timeliness: float | None
    overall: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "QualityScores":
        return cls(**data)


@dataclass(frozen=True)
class Profile:
    """The profile of one data file. `sample_rows` are raw, unmasked values: mask them before showing or storing."""

    format: str
    encoding: str | None
    delimiter: str | None
    row_count: int
    columns: tuple[ColumnProfile, ...]
    distinct_rows: int
    uniqueness_exact: bool
    newest_date: date | None
    quality: QualityScores
    consistency_rules: tuple[ConsistencyRule, ...] = ()
    update_frequency: str | None = None
    today: date | None = None
    sample_rows: tuple[dict[str, str | None], ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def column(self, name: str) -> ColumnProfile:
        return next(column for column in self.columns if column.name == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: dates as ISO strings, tuples as lists."""
        return {
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "row_count": self.row_count,
            "columns": [column.to_dict() for column in self.columns],
            "distinct_rows": self.distinct_rows,
            "uniqueness_exact": self.uniqueness_exact,
            "newest_date": self.newest_date.isoformat() if self.newest_date else None,
            "quality": self.quality.to_dict(),
            "consistency_rules": [rule.to_dict() for rule in self.consistency_rules],
            "update_frequency": self.update_frequency,
            "today": self.today.isoformat() if self.today else None,
            "sample_rows": [dict(row) for row in self.sample_rows],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Profile":
        return cls(
            format=data["format"],
            encoding=data["encoding"],
            delimiter=data["delimiter"],
            row_count=data["row_count"],
            columns=tuple(ColumnProfile.from_dict(column) for column in data["columns"]),
            distinct_rows=data["distinct_rows"],
            uniqueness_exact=data["uniqueness_exact"],
            newest_date=_parse_date(data.get("newest_date")),
            quality=QualityScores.from_dict(data["quality"]),
            consistency_rules=tuple(ConsistencyRule.from_dict(rule) for rule in data.get("consistency_rules", ())),
            update_frequency=data.get("update_frequency"),
            today=_parse_date(data.get("today")),
            sample_rows=tuple(dict(row) for row in data.get("sample_rows", ())),
            warnings=tuple(data.get("warnings", ())),
        )


def _parse_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
