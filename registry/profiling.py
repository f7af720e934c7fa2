# SQL here is assembled from column names and user patterns; every one goes through _ident() or _literal().
# ruff: noqa: S608
"""Profiling engine for uploaded data product files (CSV, TSV, Parquet, JSON Lines), run inside a Celery task.

Pure Python + DuckDB, no Django. DuckDB scans the file where it lies; Python never holds more than a few MiB of it.
Non-UTF-8 text (GBK, GB18030, ...) is first transcoded to a private UTF-8 temporary file (see registry.encoding).

Public API::

    sniff_format(path, declared_name) -> FileFormat
    profile_file(path, *, declared_name, declared_types=None, patterns=None, update_frequency=None, today=None,
                 progress=None, memory_limit="512MB", sample_size=20) -> Profile
    sample_rows(path, *, declared_name, n=20) -> list[dict[str, str | None]]
    column_values(path, *, declared_name, limit=10000, method="head") -> dict[str, list[str]]
    open_dataset(path, *, declared_name, ...) -> Dataset   # context manager: one sniff/transcode, several reads

Scans: the statistics, validity, consistency, uniqueness and newest-date figures come from one aggregate query over
all columns; the top values from one GROUPING SETS query over the columns that qualify; files of at most
EXACT_UNIQUENESS_MAX_ROWS rows get one more query for an exact duplicate count.

Quality scores (GB/T 36344-2018 dimensions), each 0-100 rounded to one decimal:

- completeness = mean over columns of (1 - null_count / row_count) x 100.
- uniqueness = distinct full rows / row_count x 100, i.e. 1 - the duplicate-row share. Rows are compared by a
  64-bit hash of all their values; the distinct count is exact up to EXACT_UNIQUENESS_MAX_ROWS rows and a
  HyperLogLog estimate (approx_count_distinct, about +-2 %) above, capped at row_count.
- validity = share of non-null values, over all columns, that conform to their declaration: `declared_types`
  (integer, decimal, date, datetime, text, boolean; checked with TRY_CAST, plus the usual Chinese date spellings
  for date) and `patterns` (regexp_full_match on the value as text). Values of undeclared columns count as
  valid. 100 when there is no non-null value.
- consistency = share of rows that pass every automatic cross-column rule, x 100 (100 when no rule applies):
  * ordered pairs: for two columns whose names differ only by start/end, begin/end, from/to, min/max,
    开始/结束, 起始/终止, 起始/结束, 生效/失效, 最小/最大 or 最低/最高 (e.g. start_date/end_date,
    开始日期/结束日期) and that are both temporal or both numeric: start <= end;
  * non-negative amounts: numeric columns named like amount, amt, price, qty, quantity, cost, fee, 金额, 价格,
    单价, 数量, 费用: value >= 0.
  A NULL on either side passes a rule (completeness already counts it).
- timeliness = from the age in days of the newest date (the latest DATE/TIMESTAMP value, or value of a column
  declared date/datetime, that is not after `today`: planned end dates and expiry dates in the future say nothing
  about freshness) and the declared update period P (realtime and daily 1 day, weekly 7, monthly 30, quarterly 91,
  yearly 365): 100 when age <= P, then falling linearly to 0 at age = 4P, i.e. 100 x (4P - age) / 3P; always 100
  for `once`. None (left out of overall) when no date was found or no update frequency was declared.
- overall = weighted mean of the available scores with weights completeness .25, validity .25, uniqueness .2,
  consistency .15, timeliness .15, renormalised over the scores that are not None.
"""

import codecs
import csv
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import duckdb

from registry import encoding as enc

Progress = Callable[[int, str], None]

EXACT_UNIQUENESS_MAX_ROWS = 1_000_000
TOP_VALUES = 5
# Top values are skipped for (nearly) unique columns, where every value would have a count of about 1, and for
# columns with more distinct values than this, whose GROUP BY would cost more than the rest of the profile.
TOP_VALUES_MAX_DISTINCT = 1_000_000
TOP_VALUES_MAX_UNIQUE_SHARE = 0.9
MAX_TYPE_RETRIES = 20

STAGES = ("sniff", "encoding", "load", "stats", "quality", "sample", "done")
_STAGE_PERCENT = {"sniff": 0, "encoding": 5, "load": 25, "stats": 35, "quality": 85, "sample": 90, "done": 100}

UPDATE_PERIOD_DAYS = {"realtime": 1, "daily": 1, "weekly": 7, "monthly": 30, "quarterly": 91, "yearly": 365}
ONCE = "once"
WEIGHTS = {"completeness": 0.25, "validity": 0.25, "uniqueness": 0.2, "consistency": 0.15, "timeliness": 0.15}
DECLARED_TYPES = ("integer", "decimal", "date", "datetime", "text", "boolean")

_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
_INTEGER_TYPES |= {f"U{name}" for name in _INTEGER_TYPES}
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}
_TEMPORAL_TYPES = {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"}
_ORDERABLE_TYPES = {"VARCHAR", "BOOLEAN", "TIME", "UUID"} | _INTEGER_TYPES | _FLOAT_TYPES | _TEMPORAL_TYPES
_DATE_FORMATS = "['%Y/%m/%d', '%Y.%m.%d', '%Y%m%d', '%Y年%m月%d日']"

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_DELIMITERS = (",", ";", "|", "\t")

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


class FileFormat(StrEnum):
    CSV = "csv"
    TSV = "tsv"
    PARQUET = "parquet"
    JSONL = "jsonl"


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
    """GB/T 36344-2018 dimensions, 0-100; timeliness is None when it cannot be judged (see the module docstring)."""

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


# --- format sniffing -----------------------------------------------------------------------------------------------


def sniff_format(path: str | Path, declared_name: str) -> FileFormat:
    """The file's format from the extension of `declared_name` and the first bytes of its content.

    Parquet is recognised by its `PAR1` magic, and must agree with the name; text that is binary (NUL bytes, known
    binary magic numbers, many control bytes in the first 64 KiB) is rejected with code `binary_content`. A name
    without a known extension is judged by its content alone.
    """
    head = enc.read_head(path, enc.BINARY_SNIFF_BYTES)
    if not head.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise ProfilingError("empty", "the file is empty")
    by_name = _EXTENSIONS.get(Path(declared_name).suffix.lower())
    if head.startswith(b"PAR1"):
        if by_name not in (None, "parquet"):
            raise ProfilingError("format_mismatch", f"{declared_name} holds Parquet data")
        return FileFormat.PARQUET
    if by_name == "parquet":
        raise ProfilingError("format_mismatch", f"{declared_name} is not a Parquet file (no PAR1 magic)")
    if enc.looks_binary(head):
        raise ProfilingError("binary_content", f"{declared_name} holds binary data, not text")
    first = _first_text_byte(head)
    if by_name == "jsonl" or (by_name is None and first == b"{"):
        if first != b"{":
            raise ProfilingError("unsupported_format", "JSON files must hold one JSON object per line")
        return FileFormat.JSONL
    if by_name is None and _first_line(head).count(b"\t") > _first_line(head).count(b","):
        return FileFormat.TSV
    return FileFormat(by_name or "csv")


def _first_text_byte(head: bytes) -> bytes:
    stripped = head.removeprefix(codecs.BOM_UTF8).lstrip()
    return stripped[:1]


def _first_line(head: bytes) -> bytes:
    return head.removeprefix(codecs.BOM_UTF8).split(b"\n", 1)[0]


# --- the dataset: one file opened in one DuckDB connection ---------------------------------------------------------


class Dataset:
    """A sniffed (and if need be transcoded) data file, read through one locked-down in-memory DuckDB connection.

    Build it with `open_dataset()`; its methods run one query each against the file.
    """

    def __init__(
        self,
        *,
        path: Path,
        source: Path,
        file_format: FileFormat,
        encoding: str | None,
        delimiter: str | None,
        connection: duckdb.DuckDBPyConnection,
    ) -> None:
        self.path = path
        self.source = source
        self.format = file_format
        self.encoding = encoding
        self.delimiter = delimiter
        self.connection = connection
        self.widened_columns: dict[str, None] = {}
        self._json_full_sample = False
        self._schema: list[tuple[str, str]] | None = None
        self._csv_options = ""

    def relation(self, *, all_varchar: bool = False) -> str:
        """The SQL table expression that reads the file.

        CSV is sniffed once (sniff_csv, in `schema`) and then read with auto_detect off and the sniffed columns,
        so the later queries do not each sniff the file again.
        """
        path = _literal(str(self.source))
        if self.format is FileFormat.PARQUET:
            return f"read_parquet({path})"
        if self.format is FileFormat.JSONL:
            sample = ", sample_size=-1" if self._json_full_sample else ""
            return f"read_json({path}, format='newline_delimited'{sample})"
        columns = ", ".join(
            f"{_literal(name)}: {_literal('VARCHAR' if all_varchar else type_)}" for name, type_ in self.schema
        )
        return f"read_csv({path}, auto_detect=false, {self._csv_options}, columns={{{columns}}})"

    @property
    def schema(self) -> list[tuple[str, str]]:
        """(name, DuckDB type) of each column, as DuckDB infers them (widened columns as VARCHAR)."""
        if self._schema is None:
            self._schema = self._sniff_csv() if self.format in (FileFormat.CSV, FileFormat.TSV) else self._describe()
        return [(name, "VARCHAR" if name in self.widened_columns else type_) for name, type_ in self._schema]

    def _describe(self) -> list[tuple[str, str]]:
        rows = self._run(lambda: f"DESCRIBE SELECT * FROM {self.relation()}")
        return [(row[0], row[1]) for row in rows]

    def _sniff_csv(self) -> list[tuple[str, str]]:
        # Strict RFC 4180 quoting, no comment lines; the delimiter, header and skip=0 are fixed too, or DuckDB's
        # sniffer "explains" a ragged row by skipping every line before it or by reading a single column.
        options = (
            f"delim={_literal(self.delimiter or ',')}, header=true, skip=0, quote='\"', escape='\"', comment='', "
            "strict_mode=true, null_padding=false"
        )
        source = _literal(str(self.source))
        sql = f"SELECT Columns, DateFormat, TimestampFormat FROM sniff_csv({source}, {options})"
        columns, date_format, timestamp_format = self._run(lambda: sql)[0]
        # new_line is left out on purpose: DuckDB 2.0 with auto_detect=false and new_line set reads no rows of a
        # CRLF file, while without it both line endings are read.
        if date_format:
            options += f", dateformat={_literal(date_format)}"
        if timestamp_format:
            options += f", timestampformat={_literal(timestamp_format)}"
        self._csv_options = options
        return [(column["name"], column["type"]) for column in columns]

    def sample_rows(self, n: int = 20) -> list[dict[str, str | None]]:
        """The first `n` rows, every value as text (CSV values exactly as written). Raw: the caller masks them."""
        cursor = self._execute(f"SELECT {self._as_text_columns()} FROM {self._text_relation()} LIMIT {int(n)}")
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def column_values(
        self, limit: int = 10_000, *, method: Literal["head", "reservoir"] = "head"
    ) -> dict[str, list[str]]:
        """Up to `limit` non-null values per column, as text, for the PII scanner: one query over `limit` rows.

        `head` reads the first rows (cheap: stops early); `reservoir` draws a uniform sample (scans the file).
        """
        sample = f" USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (42)" if method == "reservoir" else ""
        query = f"SELECT {self._as_text_columns()} FROM {self._text_relation()}{sample} LIMIT {int(limit)}"
        cursor = self._execute(query)
        names = [column[0] for column in cursor.description]
        values: dict[str, list[str]] = {name: [] for name in names}
        for row in cursor.fetchall():
            for name, value in zip(names, row, strict=True):
                if value is not None:
                    values[name].append(value)
        return values

    def profile(
        self,
        *,
        declared_types: Mapping[str, str] | None = None,
        patterns: Mapping[str, str] | None = None,
        update_frequency: str | None = None,
        today: date | None = None,
        progress: Progress | None = None,
    ) -> Profile:
        """Statistics and quality scores; see the module docstring for the formulas."""
        _check_declarations(declared_types or {}, patterns or {}, update_frequency)
        self._check_patterns(patterns or {})
        today = today or date.today()
        _report(progress, "stats")
        plan, stats = self._run_stats(declared_types or {}, patterns or {}, today)
        if not stats["rows"]:
            raise ProfilingError("no_rows", "the file has no data rows")
        top_values = self._top_values(plan, stats)
        _report(progress, "quality")
        distinct_rows, exact = stats["distinct_rows"], False
        if stats["rows"] <= EXACT_UNIQUENESS_MAX_ROWS:
            distinct_rows, exact = self._exact_distinct_rows(plan), True
        return _build_profile(self, plan, stats, top_values, distinct_rows, exact, update_frequency, today)

    def close(self) -> None:
        self.connection.close()

    # --- queries ---

    def _run_stats(self, declared_types, patterns, today) -> tuple["_Plan", dict[str, Any]]:
        def query() -> str:
            nonlocal plan
            plan = _Plan.build(self.schema, declared_types, patterns, today)
            return plan.stats_sql(self.relation())

        plan: _Plan | None = None
        row = self._run(query)[0]
        return plan, plan.read_stats(row)

    def _top_values(self, plan: "_Plan", stats: Mapping[str, Any]) -> dict[str, tuple[tuple[str, int], ...]]:
        eligible = [column for column in plan.columns if _wants_top_values(column, stats)]
        if not eligible:
            return {}
        rows = self._run(lambda: _top_values_sql(eligible, self.relation()))
        top: dict[str, list[tuple[str, int]]] = {column.name: [] for column in eligible}
        for index, value, count in rows:
            top[eligible[index].name].append((value, count))
        return {name: tuple(values) for name, values in top.items()}

    def _exact_distinct_rows(self, plan: "_Plan") -> int:
        return self._run(lambda: f"SELECT count(DISTINCT {plan.row_hash}) FROM {self.relation()}")[0][0]

    def _text_relation(self) -> str:
        return self.relation(all_varchar=self.format in (FileFormat.CSV, FileFormat.TSV))

    def _as_text_columns(self) -> str:
        return ", ".join(f"CAST({_ident(name)} AS VARCHAR) AS {_ident(name)}" for name, _ in self.schema)

    def _execute(self, sql: str) -> duckdb.DuckDBPyConnection:
        try:
            return self.connection.execute(sql)
        except duckdb.Error as exc:
            raise self._translate(exc) from exc

    def _run(self, build_sql: Callable[[], str]) -> list[tuple]:
        """Run a query; when a value further down the file breaks the type DuckDB inferred from its sample, read
        that column as VARCHAR and run the query again (rebuilt, since the schema changed)."""
        for _ in range(MAX_TYPE_RETRIES):
            try:
                return self.connection.execute(build_sql()).fetchall()
            except duckdb.ConversionException as exc:
                if not self._widen_types(str(exc)):
                    raise self._translate(exc) from exc
            except duckdb.OutOfMemoryException as exc:
                raise ProfilingError("resources", f"the file needs more memory than allowed: {exc}") from exc
            except duckdb.Error as exc:
                raise self._translate(exc) from exc
        raise ProfilingError("malformed", "too many columns change type after the first rows")

    def _widen_types(self, message: str) -> bool:
        if self.format is FileFormat.JSONL and not self._json_full_sample:
            self._json_full_sample, self._schema = True, None
            return True
        match = re.search(r'Error when converting column "(.+?)"\.', message)
        if self.format not in (FileFormat.CSV, FileFormat.TSV) or not match or match[1] in self.widened_columns:
            return False
        self.widened_columns[match[1]] = None
        return True

    def _check_patterns(self, patterns: Mapping[str, str]) -> None:
        for column, pattern in patterns.items():
            try:
                self.connection.execute(f"SELECT regexp_full_match('', {_literal(pattern)})").fetchall()
            except duckdb.Error as exc:
                raise ValueError(f"invalid pattern for column {column!r}: {exc}") from exc

    def _translate(self, exc: duckdb.Error) -> ProfilingError:
        message = str(exc)
        if "Invalid unicode" in message or "byte sequence mismatch" in message:
            return ProfilingError("encoding", "the file is not valid UTF-8 past its first bytes")
        if match := re.search(r"CSV Error on Line: (\d+)", message):
            return ProfilingError("malformed", _first_lines(message, 3), line=int(match[1]))
        if "Error when sniffing file" in message:
            return self._diagnose_csv() or ProfilingError("malformed", "the CSV dialect could not be recognised")
        if match := re.search(r"Malformed JSON.* in line (\d+)", message):
            return ProfilingError("malformed", _first_lines(message, 1), line=int(match[1]))
        return ProfilingError("malformed", _first_lines(message, 3))

    def _diagnose_csv(self) -> ProfilingError | None:
        """DuckDB's sniffer fails without a line number when a bad row falls in its sample: read the file again
        with the header's column count fixed and every column VARCHAR, which reports the first bad line."""
        header = _read_header(self.source, self.delimiter or ",")
        columns = ", ".join(f"'c{index}': 'VARCHAR'" for index in range(len(header)))
        sql = (
            f"SELECT count(*) FROM read_csv({_literal(str(self.source))}, auto_detect=false, header=true, "
            f"delim={_literal(self.delimiter or ',')}, quote='\"', escape='\"', comment='', strict_mode=true, "
            f"columns={{{columns}}})"
        )
        try:
            self.connection.execute(sql).fetchall()
        except duckdb.Error as exc:
            if match := re.search(r"CSV Error on Line: (\d+)", str(exc)):
                return ProfilingError("malformed", _first_lines(str(exc), 3), line=int(match[1]))
        return None


@contextmanager
def open_dataset(
    path: str | Path,
    *,
    declared_name: str,
    memory_limit: str = "512MB",
    progress: Progress | None = None,
    work_dir: str | Path | None = None,
    chunk_bytes: int = enc.TRANSCODE_CHUNK_BYTES,
) -> Iterator[Dataset]:
    """Sniff, transcode if needed, and open `path` in a fresh DuckDB connection; clean everything up on exit.

    Stages reported: sniff, encoding, load. The connection uses 1-2 threads and `memory_limit`, spills to a
    private temporary directory, installs and loads no extension, and may read only the data file and that
    directory (enable_external_access off with allowed_paths / allowed_directories, configuration locked).
    """
    path = Path(path).resolve()
    private = Path(tempfile.mkdtemp(prefix="databourse-profile-", dir=work_dir))
    connection = None
    try:
        _report(progress, "sniff")
        file_format = sniff_format(path, declared_name)
        _report(progress, "encoding")
        source, encoding, delimiter = _prepare_text(path, file_format, private, chunk_bytes)
        _report(progress, "load")
        connection = _connect(source, private, memory_limit)
        dataset = Dataset(
            path=path,
            source=source,
            file_format=file_format,
            encoding=encoding,
            delimiter=delimiter,
            connection=connection,
        )
        if not dataset.schema:
            raise ProfilingError("empty", "the file has no columns")
        yield dataset
    finally:
        if connection is not None:
            connection.close()
        shutil.rmtree(private, ignore_errors=True)


def profile_file(
    path: str | Path,
    *,
    declared_name: str,
    declared_types: dict[str, str] | None = None,
    patterns: dict[str, str] | None = None,
    update_frequency: str | None = None,
    today: date | None = None,
    progress: Progress | None = None,
    memory_limit: str = "512MB",
    sample_size: int = 20,
    work_dir: str | Path | None = None,
    chunk_bytes: int = enc.TRANSCODE_CHUNK_BYTES,
) -> Profile:
    """Profile one file: stages sniff, encoding, load, stats, quality, sample, done are reported to `progress`.

    Raises ProfilingError (see its codes) for files that cannot be profiled and ValueError for bad declarations.
    """
    with open_dataset(
        path,
        declared_name=declared_name,
        memory_limit=memory_limit,
        progress=progress,
        work_dir=work_dir,
        chunk_bytes=chunk_bytes,
    ) as dataset:
        profile = dataset.profile(
            declared_types=declared_types,
            patterns=patterns,
            update_frequency=update_frequency,
            today=today,
            progress=progress,
        )
        _report(progress, "sample")
        rows = tuple(dataset.sample_rows(sample_size)) if sample_size else ()
    profile = replace(profile, sample_rows=rows)
    _report(progress, "done")
    return profile


def sample_rows(
    path: str | Path, *, declared_name: str, n: int = 20, memory_limit: str = "512MB"
) -> list[dict[str, str | None]]:
    """The first `n` rows of a file as text (raw values: callers mask them)."""
    with open_dataset(path, declared_name=declared_name, memory_limit=memory_limit) as dataset:
        return dataset.sample_rows(n)


def column_values(
    path: str | Path,
    *,
    declared_name: str,
    limit: int = 10_000,
    method: Literal["head", "reservoir"] = "head",
    memory_limit: str = "512MB",
) -> dict[str, list[str]]:
    """Up to `limit` non-null text values per column, for the PII scanner (`Mapping[str, Iterable[str | None]]`)."""
    with open_dataset(path, declared_name=declared_name, memory_limit=memory_limit) as dataset:
        return dataset.column_values(limit, method=method)


# --- the statistics query ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    name: str
    type: str
    declared_type: str | None
    pattern: str | None

    @property
    def sql(self) -> str:
        return _ident(self.name)

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
            checks.append(f"regexp_full_match(CAST({self.sql} AS VARCHAR), {_literal(self.pattern)})")
        if not checks:
            return None
        return f"{self.sql} IS NOT NULL AND NOT coalesce({' AND '.join(checks)}, false)"


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


def _warnings(plan: _Plan, dataset: Dataset, exact: bool) -> tuple[str, ...]:
    warnings = [f"declared column not in the file: {name}" for name in plan.missing_declarations]
    warnings += [
        f"column {name} holds values that do not fit the type of its first rows; read as text"
        for name in dataset.widened_columns
    ]
    if not exact:
        warnings.append("uniqueness is estimated (HyperLogLog, about +-2 %) on this many rows")
    return tuple(warnings)


# --- helpers -------------------------------------------------------------------------------------------------------


def _prepare_text(path: Path, file_format: FileFormat, private: Path, chunk_bytes: int):
    """(path DuckDB reads, detected encoding, CSV delimiter): transcodes to UTF-8 in `private` when needed."""
    if file_format is FileFormat.PARQUET:
        return path, None, None
    try:
        encoding = enc.detect_encoding(path)
        source = path
        # DuckDB's JSON reader rejects a BOM, its CSV reader skips it.
        if enc.needs_transcoding(encoding) or (file_format is FileFormat.JSONL and encoding == enc.UTF8_BOM):
            source = private / "utf8-copy"
            enc.transcode_to_utf8(path, source, encoding, chunk_bytes=chunk_bytes)
    except enc.UndecodableError as exc:
        raise ProfilingError("encoding", str(exc)) from exc
    if file_format is FileFormat.JSONL:
        return source, encoding, None
    if file_format is FileFormat.TSV:
        return source, encoding, "\t"
    return source, encoding, _detect_delimiter(source)


def _detect_delimiter(source: Path) -> str:
    """The candidate (, ; | tab) that occurs most often, outside quotes, in the header line; ',' if none does."""
    line = _first_line(enc.read_head(source, enc.BINARY_SNIFF_BYTES)).decode(enc.UTF8, errors="replace")
    unquoted = re.sub(r'"[^"]*"', "", line)
    counts = {delimiter: unquoted.count(delimiter) for delimiter in _DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def _read_header(source: Path, delimiter: str) -> list[str]:
    line = _first_line(enc.read_head(source, enc.BINARY_SNIFF_BYTES)).decode(enc.UTF8, errors="replace")
    return next(csv.reader([line.removeprefix("\ufeff").rstrip("\r")], delimiter=delimiter), [])


def _connect(source: Path, private: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    spill = private / "spill"
    spill.mkdir()
    connection = duckdb.connect(
        ":memory:",
        config={
            "threads": max(1, min(2, os.cpu_count() or 1)),
            "memory_limit": memory_limit,
            "temp_directory": str(spill),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    # DuckDB 2.0 draws a progress bar on stderr for long queries even without a terminal: keep it out of task logs.
    connection.execute("SET enable_progress_bar = false")
    # The order matters: the allow-lists can only be set while external access is still on.
    connection.execute("SET allowed_paths = $paths", {"paths": [str(source)]})
    connection.execute("SET allowed_directories = $dirs", {"dirs": [str(private)]})
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")
    return connection


def _check_declarations(declared_types: Mapping[str, str], patterns: Mapping[str, str], frequency) -> None:
    unknown = {name: kind for name, kind in declared_types.items() if kind not in DECLARED_TYPES}
    if unknown:
        raise ValueError(f"unknown declared types {unknown}; expected one of {', '.join(DECLARED_TYPES)}")
    if frequency is not None and frequency != ONCE and frequency not in UPDATE_PERIOD_DAYS:
        raise ValueError(f"unknown update frequency {frequency!r}")


def _report(progress: Progress | None, stage: str) -> None:
    if progress is not None:
        progress(_STAGE_PERCENT[stage], stage)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_lines(message: str, count: int) -> str:
    return "\n".join(message.splitlines()[:count])


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 100.0


def _parse_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
