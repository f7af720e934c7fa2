# SQL here is assembled from column names and user patterns; every one goes through sql_ident() or sql_literal().
# ruff: noqa: S608
"""One data file opened in one locked-down DuckDB connection, and the public entry points that use it."""

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb

from registry import encoding as enc
from registry.profiling.formats import FileFormat, _prepare_text, _read_header, sniff_format
from registry.profiling.model import Profile, ProfilingError
from registry.profiling.quality import _check_declarations
from registry.profiling.sql import sql_ident, sql_literal
from registry.profiling.stats import _build_profile, _Plan, _top_values_sql, _wants_top_values

Progress = Callable[[int, str], None]

EXACT_UNIQUENESS_MAX_ROWS = 1_000_000
MAX_TYPE_RETRIES = 20

STAGES = ("sniff", "encoding", "load", "stats", "quality", "sample", "done")
_STAGE_PERCENT = {"sniff": 0, "encoding": 5, "load": 25, "stats": 35, "quality": 85, "sample": 90, "done": 100}


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
        path = sql_literal(str(self.source))
        if self.format is FileFormat.PARQUET:
            return f"read_parquet({path})"
        if self.format is FileFormat.JSONL:
            sample = ", sample_size=-1" if self._json_full_sample else ""
            return f"read_json({path}, format='newline_delimited'{sample})"
        columns = ", ".join(
            f"{sql_literal(name)}: {sql_literal('VARCHAR' if all_varchar else type_)}" for name, type_ in self.schema
        )
        return f"read_csv({path}, auto_detect=false, {self._csv_options}, columns={{{columns}}})"

    @property
    def schema(self) -> list[tuple[str, str]]:
        """(name, DuckDB type) of each column, as DuckDB infers them (widened columns as VARCHAR)."""
        if self._schema is None:
            self._schema = self._sniff_csv() if self.format in (FileFormat.CSV, FileFormat.TSV) else self._describe()
        return [(name, "VARCHAR" if name in self.widened_columns else type_) for name, type_ in self._schema]

    def _describe(self) -> list[tuple[str, str]]:
        rows = self.run(lambda: f"DESCRIBE SELECT * FROM {self.relation()}")
        return [(row[0], row[1]) for row in rows]

    def _sniff_csv(self) -> list[tuple[str, str]]:
        # Strict RFC 4180 quoting, no comment lines; the delimiter, header and skip=0 are fixed too, or DuckDB's
        # sniffer "explains" a ragged row by skipping every line before it or by reading a single column.
        options = (
            f"delim={sql_literal(self.delimiter or ',')}, header=true, skip=0, quote='\"', escape='\"', comment='', "
            "strict_mode=true, null_padding=false"
        )
        source = sql_literal(str(self.source))
        sql = f"SELECT Columns, DateFormat, TimestampFormat FROM sniff_csv({source}, {options})"
        columns, date_format, timestamp_format = self.run(lambda: sql)[0]
        # new_line is left out on purpose: DuckDB 2.0 with auto_detect=false and new_line set reads no rows of a
        # CRLF file, while without it both line endings are read.
        if date_format:
            options += f", dateformat={sql_literal(date_format)}"
        if timestamp_format:
            options += f", timestampformat={sql_literal(timestamp_format)}"
        self._csv_options = options
        return [(column["name"], column["type"]) for column in columns]

    def sample_rows(self, n: int = 20) -> list[dict[str, str | None]]:
        """The first `n` rows, every value as text (CSV values exactly as written). Raw: the caller masks them."""
        cursor = self._execute(f"SELECT {self.as_text_columns()} FROM {self.text_relation()} LIMIT {int(n)}")
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def column_values(
        self, limit: int = 10_000, *, method: Literal["head", "reservoir"] = "head"
    ) -> dict[str, list[str]]:
        """Up to `limit` non-null values per column, as text, for the PII scanner: one query over `limit` rows.

        `head` reads the first rows (cheap: stops early); `reservoir` draws a uniform sample (scans the file).
        """
        sample = f" USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (42)" if method == "reservoir" else ""
        query = f"SELECT {self.as_text_columns()} FROM {self.text_relation()}{sample} LIMIT {int(limit)}"
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
        """Statistics and quality scores; see the registry.profiling docstring for the formulas."""
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
        row = self.run(query)[0]
        return plan, plan.read_stats(row)

    def _top_values(self, plan: "_Plan", stats: Mapping[str, Any]) -> dict[str, tuple[tuple[str, int], ...]]:
        eligible = [column for column in plan.columns if _wants_top_values(column, stats)]
        if not eligible:
            return {}
        rows = self.run(lambda: _top_values_sql(eligible, self.relation()))
        top: dict[str, list[tuple[str, int]]] = {column.name: [] for column in eligible}
        for index, value, count in rows:
            top[eligible[index].name].append((value, count))
        return {name: tuple(values) for name, values in top.items()}

    def _exact_distinct_rows(self, plan: "_Plan") -> int:
        return self.run(lambda: f"SELECT count(DISTINCT {plan.row_hash}) FROM {self.relation()}")[0][0]

    def text_relation(self) -> str:
        """The table expression that reads the file, CSV columns as text (so values come back as written)."""
        return self.relation(all_varchar=self.format in (FileFormat.CSV, FileFormat.TSV))

    def as_text_columns(self) -> str:
        """The select list that casts every column to text under its own name."""
        return ", ".join(f"CAST({sql_ident(name)} AS VARCHAR) AS {sql_ident(name)}" for name, _ in self.schema)

    def _execute(self, sql: str) -> duckdb.DuckDBPyConnection:
        try:
            return self.connection.execute(sql)
        except duckdb.Error as exc:
            raise self._translate(exc) from exc

    def run(self, build_sql: Callable[[], str]) -> list[tuple]:
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
                self.connection.execute(f"SELECT regexp_full_match('', {sql_literal(pattern)})").fetchall()
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
            f"SELECT count(*) FROM read_csv({sql_literal(str(self.source))}, auto_detect=false, header=true, "
            f"delim={sql_literal(self.delimiter or ',')}, quote='\"', escape='\"', comment='', strict_mode=true, "
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
        connection = connect(source, private, memory_limit)
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


# --- helpers -------------------------------------------------------------------------------------------------------


def connect(source: Path, private: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection that may read only `source` and write only under `private` (where it
    spills), with 1-2 threads, `memory_limit`, no extension and its configuration locked."""
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


def _report(progress: Progress | None, stage: str) -> None:
    if progress is not None:
        progress(_STAGE_PERCENT[stage], stage)


def _first_lines(message: str, count: int) -> str:
    return "\n".join(message.splitlines()[:count])
