# SQL here is assembled from column names and file paths; every one goes through sql_ident() or sql_literal().
# ruff: noqa: S608
"""Building a sandbox dataset's Parquet file from a registered version, with DuckDB.

The version is read the way profiling reads it (`registry.profiling.open_dataset`: format, encoding, CSV dialect),
with the column types profiling settled on for the whole file. Then one COPY writes the columns a policy lets in:

- hidden columns are left out;
- masked columns are read as text and masked like the registry's masked sample (`registry.masking.mask_value` for
  the PII kind `version.pii_findings` names, `mask_unknown` for a column masked by choice): each distinct value is
  masked once in Python and joined back in DuckDB through a mapping file in the private work directory, except the
  values a vectorised SQL expression masks to the same text (plain 11-digit mobile numbers, the bulk of a phone
  column). NULL stays NULL and blank stays blank, as in the sample; a value the mapping lacks becomes `***`, never
  the raw value;
- visible and aggregate-only columns keep their values and types (the engine keeps aggregate-only ones out of
  row-level results).

The DuckDB connection is registry.profiling's locked-down one: no extensions, the version's file and the private
directory the only paths it may touch.
"""

import csv
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from registry.masking import HIDDEN, mask_value
from registry.models import ProductVersion
from registry.pii import PiiKind
from registry.profiling import Dataset, FileFormat, open_dataset
from registry.profiling.dataset import connect
from registry.profiling.sql import sql_ident, sql_literal
from registry.storage import CHUNK, local_path
from sandbox.choices import ColumnAccess

Progress = Callable[[int], None]
FETCH_ROWS = 50_000
# Values a SQL expression masks exactly as mask_value does: (full-match pattern, expression over `{v}`).
FAST_PATHS: dict[str, tuple[str, str]] = {
    PiiKind.MOBILE: ("1[3-9][0-9]{9}", "left({v}, 3) || '****' || right({v}, 4)"),
}


@dataclass(frozen=True)
class Built:
    """The Parquet file written (in the caller's work directory) and what describes it."""

    path: Path
    sha256: str
    row_count: int
    schema: list[dict]


def mask_unknown(value: str) -> str:
    """A value of a column masked by the operator's choice, of no known PII kind: its first character kept."""
    text = value.strip()
    return text[:1] + "*" * max(2, len(text) - 1) if len(text) > 1 else HIDDEN


def mask(kind: str | None, value: str) -> str:
    """One value of a masked column, as the Parquet stores it (blank stays blank, like the registry's sample)."""
    if not value.strip():
        return value
    return mask_value(PiiKind(kind), value) if kind else mask_unknown(value)


def build_parquet(
    *,
    version: ProductVersion,
    policies: Mapping[str, str],
    work: Path,
    memory_limit: str,
    progress: Progress | None = None,
) -> Built:
    """Write the version's rows as the policies allow to `work`/data.parquet; `work` must be a private directory."""
    report = progress or (lambda percent: None)
    kinds = {finding["column"]: finding["kind"] for finding in version.pii_findings or []}
    with (
        local_path(version.file, suffix="." + version.file_format) as path,
        open_dataset(path, declared_name=version.original_name, memory_limit=memory_limit, work_dir=work) as source,
    ):
        masked = [name for name, _type in source.schema if policies.get(name) == ColumnAccess.MASKED]
        _settle_types(source, version, masked)
        private = work / "build"
        private.mkdir()
        connection = connect(source.source, private, memory_limit)
        try:
            report(10)
            out = private / "data.parquet"
            connection.execute(_copy_sql(connection, source, policies, kinds, private, out, report))
            report(90)
            return _describe(connection, out)
        finally:
            connection.close()


def _settle_types(source: Dataset, version: ProductVersion, masked: list[str]) -> None:
    """CSV: read as text the columns profiling had to widen further down the file, and the masked columns (exact
    text for the masks: a phone number sniffed as BIGINT would lose a leading +86)."""
    if source.format not in (FileFormat.CSV, FileFormat.TSV):
        return
    profiled = {column["name"]: column.get("type") for column in (version.profile or {}).get("columns", [])}
    for name, type_ in source.schema:
        if name in masked or (profiled.get(name) == "VARCHAR" and type_ != "VARCHAR"):
            source.widened_columns[name] = None


def _copy_sql(connection, source: Dataset, policies, kinds, private: Path, out: Path, report: Progress) -> str:
    columns, joins = [], []
    kept = [(name, policies.get(name, ColumnAccess.HIDDEN)) for name, _type in source.schema]
    kept = [(name, access) for name, access in kept if access != ColumnAccess.HIDDEN]
    for index, (name, access) in enumerate(kept):
        if access != ColumnAccess.MASKED:
            columns.append(f"src.{sql_ident(name)} AS {sql_ident(name)}")
            continue
        mapping = private / f"mask-{index}.csv"
        _write_mapping(connection, source, name, kinds.get(name), mapping)
        alias = f"m{index}"
        joins.append(
            f"LEFT JOIN read_csv({sql_literal(str(mapping))}, header=false, auto_detect=false, delim=',', quote='\"', "
            f"escape='\"', allow_quoted_nulls=false, columns={{'raw': 'VARCHAR', 'masked': 'VARCHAR'}}) {alias} "
            f"ON {alias}.raw = {_text(name)}"
        )
        columns.append(f"{_masked_expression(name, kinds.get(name), alias)} AS {sql_ident(name)}")
        report(10 + 60 * (index + 1) // len(kept))
    if not columns:
        raise ValueError("every column is hidden")
    select = f"SELECT {', '.join(columns)} FROM {source.relation()} src {' '.join(joins)}"
    return f"COPY ({select}) TO {sql_literal(str(out))} (FORMAT parquet, COMPRESSION zstd)"


def _text(name: str) -> str:
    return f"CAST(src.{sql_ident(name)} AS VARCHAR)"


def _fast_path(kind: str | None, value: str) -> tuple[str, str] | None:
    if kind not in FAST_PATHS:
        return None
    pattern, expression = FAST_PATHS[kind]
    return f"regexp_full_match({value}, {sql_literal(pattern)})", expression.format(v=value)


def _masked_expression(name: str, kind: str | None, alias: str) -> str:
    value = _text(name)
    fast = _fast_path(kind, value)
    fast_sql = f"WHEN {fast[0]} THEN {fast[1]} " if fast else ""
    return (
        f"CASE WHEN {value} IS NULL THEN NULL WHEN trim({value}) = '' THEN {value} {fast_sql}"
        f"ELSE coalesce({alias}.masked, {sql_literal(HIDDEN)}) END"
    )


def _write_mapping(connection, source: Dataset, name: str, kind: str | None, mapping: Path) -> None:
    """Every distinct value the SQL does not mask itself, with its mask, as CSV (every field quoted)."""
    value = _text(name)
    fast = _fast_path(kind, value)
    skip = f" AND NOT {fast[0]}" if fast else ""
    sql = f"SELECT DISTINCT {value} FROM {source.relation()} src WHERE {value} IS NOT NULL AND trim({value}) <> ''"
    cursor = connection.execute(sql + skip)
    with open(mapping, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        while rows := cursor.fetchmany(FETCH_ROWS):
            writer.writerows((raw, mask(kind, raw)) for (raw,) in rows)


def _describe(connection: duckdb.DuckDBPyConnection, out: Path) -> Built:
    relation = f"read_parquet({sql_literal(str(out))})"
    row_count = connection.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    described = connection.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    schema = [{"name": row[0], "type": row[1]} for row in described]
    digest = hashlib.sha256()
    with open(out, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return Built(path=out, sha256=digest.hexdigest(), row_count=row_count, schema=schema)
