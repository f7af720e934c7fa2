# The only SQL assembled here is the two view definitions (operator-given column names through _identifier(), the
# file path through _literal()); user SQL is parsed, checked and rewritten as a tree, never pasted into text.
# ruff: noqa: S608
"""The sandbox query engine: one user SELECT on one Parquet file, in a fresh locked-down DuckDB, through disclosure
control. `run_query` is the entry point; `QueryRefused` (re-exported from sandbox.sqlcheck) carries a stable code.

Per query: a new in-memory connection; the views over read_parquet(<the file>) are created; then the connection is
locked: allowed_paths = that one file, enable_external_access = false, extension autoload/autoinstall off, Python
replacement scans off, memory_limit, threads = 1, temp_directory = '' (nothing spills to disk), max_execution_time,
and finally lock_configuration = true (no SET/RESET/PRAGMA can change any of it). The connection is always closed.

Two views: the user's `data` is pointed at `__sandbox_rows` (visible and masked columns only) everywhere, except
the FROM of an outermost SELECT that aggregates aggregate-only columns (sandbox/sqlcheck.py says when that is
allowed), which reads `__sandbox_all` (also the aggregate-only columns). Columns of the file not named in the
policy are in neither. Hidden columns are not in the file.

Codes (QueryRefused.code): not_select, several_statements, syntax, forbidden_table, forbidden_function,
hidden_column, aggregate_only, nested_aggregate, too_complex (sandbox/sqlcheck.py), and from running: timeout
(max_execution_time), memory (memory_limit), forbidden_table (DuckDB refused a file), execution (any other DuckDB
error, its first line with file paths and internal names scrubbed). Binder errors (unknown column, wrong types)
are `syntax`.
"""

import base64
import math
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import duckdb
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sandbox import disclosure, sqlast, sqlcheck
from sandbox.sqlast import Node
from sandbox.sqlcheck import Analysis, QueryRefused

__all__ = ["Policy", "QueryRefused", "Result", "run_query", "sandbox_connection"]

ALL_VIEW = "__sandbox_all"
ROWS_VIEW = "__sandbox_rows"
_PLACEHOLDER_COLUMN = "__no_visible_columns"
VISIBLE, MASKED, AGGREGATE_ONLY = "visible", "masked", "aggregate_only"


@dataclass(frozen=True)
class Policy:
    """A dataset's column policies and disclosure rules, as the engine applies them to one query."""

    columns: dict[str, str]  # column in the Parquet file -> "visible" | "masked" | "aggregate_only"
    hidden: frozenset[str] = frozenset()  # hidden columns: not in the file, named only to explain a refusal
    min_group_size: int = 10
    row_cap: int = 1000
    count_rounding: int = 5  # counts in aggregated results rounded to a multiple of this (1 = none)
    memory_limit: str = "512MB"
    max_execution_ms: int = 10_000

    @property
    def row_columns(self) -> list[str]:
        return [name for name, access in self.columns.items() if access in (VISIBLE, MASKED)]

    @property
    def aggregate_only(self) -> frozenset[str]:
        return frozenset(name for name, access in self.columns.items() if access == AGGREGATE_ONLY)


@dataclass
class Result:
    """What disclosure control let through: JSON-safe rows, and what it did (`notes`)."""

    columns: list[str]
    rows: list[list]
    aggregated: bool  # the outermost SELECT aggregates
    suppressed_rows: int  # groups left out: too small, or open to differencing (the notes split the two)
    truncated: bool  # more rows than row_cap
    notes: list[dict] = field(default_factory=list)  # {"code", "message", "count"}
    view_references: int = 0  # how many times the query reads the dataset


def run_query(sql: str, *, parquet_path: str, policy: Policy, view_name: str = "data") -> Result:
    """Run one SELECT over the dataset file under the policy; QueryRefused when it may not run or fails."""
    with sandbox_connection(parquet_path, policy) as connection:
        try:
            statement = sqlcheck.parse(connection, sql)
            analysis = sqlcheck.check(
                statement, view_name=view_name, aggregate_only=policy.aggregate_only, hidden=policy.hidden
            )
            _point_at_views(analysis, view_name)
            if analysis.aggregated:
                return _run_aggregated(connection, analysis, policy)
            return _run_rows(connection, analysis, policy)
        except duckdb.Error as exc:
            raise _refusal(exc, parquet_path=parquet_path, view_name=view_name, policy=policy) from exc
        except RecursionError as exc:
            raise QueryRefused("too_complex", _("The query is nested too deeply.")) from exc


@contextmanager
def sandbox_connection(parquet_path: str, policy: Policy) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh in-memory connection with the dataset views, locked down (see the module docstring); closed after."""
    connection = duckdb.connect(":memory:")
    try:
        _create_views(connection, parquet_path, policy)
        _lock(connection, parquet_path, policy)
        yield connection
    finally:
        connection.close()


# --- the connection --------------------------------------------------------------------------------------------------


def _create_views(connection: duckdb.DuckDBPyConnection, parquet_path: str, policy: Policy) -> None:
    connection.execute("SET parquet_metadata_cache = true")  # the footer is read once, not at every bind and scan
    every = [name for name, access in policy.columns.items() if access in (VISIBLE, MASKED, AGGREGATE_ONLY)]
    source = f"read_parquet({_literal(parquet_path)})"
    connection.execute(f"CREATE VIEW {ALL_VIEW} AS SELECT {_select_list(every)} FROM {source}")
    connection.execute(f"CREATE VIEW {ROWS_VIEW} AS SELECT {_select_list(policy.row_columns)} FROM {ALL_VIEW}")


def _select_list(columns: list[str]) -> str:
    # A dataset without a row-level column still has rows to count.
    return ", ".join(map(_identifier, columns)) if columns else f"NULL AS {_identifier(_PLACEHOLDER_COLUMN)}"


def _lock(connection: duckdb.DuckDBPyConnection, parquet_path: str, policy: Policy) -> None:
    # temp_directory and the allow-list can only be set while external access is still on; the lock comes last.
    connection.execute("SET enable_progress_bar = false")
    connection.execute("SET temp_directory = ''")
    connection.execute("SET memory_limit = $limit", {"limit": policy.memory_limit})
    connection.execute("SET threads = 1")
    connection.execute("SET allowed_paths = $paths", {"paths": [parquet_path]})
    connection.execute("SET enable_external_access = false")
    connection.execute("SET autoload_known_extensions = false")
    connection.execute("SET autoinstall_known_extensions = false")
    connection.execute("SET python_enable_replacements = false")
    connection.execute("SET max_execution_time = $ms", {"ms": int(policy.max_execution_ms)})
    connection.execute("SET lock_configuration = true")


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- running -------------------------------------------------------------------------------------------------------


def _point_at_views(analysis: Analysis, view_name: str) -> None:
    """Every reference to the dataset reads the row-level view, but the one that aggregates aggregate-only columns."""
    for ref in analysis.data_references:
        view = ALL_VIEW if ref is analysis.direct_reference else ROWS_VIEW
        ref["alias"] = ref.get("alias") or view_name
        ref["table_name"] = view
        ref["qualified_name"] = {"path": [view]}


def _run_rows(connection: duckdb.DuckDBPyConnection, analysis: Analysis, policy: Policy) -> Result:
    cursor = connection.execute(_render(connection, analysis.statement))
    rows = cursor.fetchmany(policy.row_cap + 1)
    truncated = len(rows) > policy.row_cap
    notes = [_row_cap_note(policy.row_cap)] if truncated else []
    return Result(
        columns=[column[0] for column in cursor.description],
        rows=[[json_safe(value) for value in row] for row in rows[: policy.row_cap]],
        aggregated=False,
        suppressed_rows=0,
        truncated=truncated,
        notes=notes,
        view_references=analysis.view_references,
    )


def _run_aggregated(connection: duckdb.DuckDBPyConnection, analysis: Analysis, policy: Policy) -> Result:
    node = analysis.statement["node"]
    # Binding the query as written gives DuckDB's names for its columns, and its errors in terms of the user's SQL.
    names = connection.sql(_render(connection, analysis.statement, verify=False)).columns
    if len(names) != len(node["select_list"]):
        raise QueryRefused("too_complex", _("Each select-list item of an aggregating query must give one column."))
    rewritten, plan = disclosure.rewrite(
        node,
        names=names,
        min_group_size=policy.min_group_size,
        from_columns=lambda: _from_columns(connection, node),
    )
    cursor = connection.execute(_render(connection, {**analysis.statement, "node": rewritten}))
    outcome = disclosure.finish(
        cursor.fetchmany(policy.row_cap + 1), plan, row_cap=policy.row_cap, count_rounding=policy.count_rounding
    )
    return Result(
        columns=[column[0] for column in cursor.description[: plan.columns]],
        rows=[[json_safe(value) for value in row] for row in outcome.rows],
        aggregated=True,
        suppressed_rows=outcome.small_groups + outcome.differencing_groups,
        truncated=outcome.truncated,
        notes=_notes(outcome, policy),
        view_references=analysis.view_references,
    )


def _from_columns(connection: duckdb.DuckDBPyConnection, node: Node) -> set[str]:
    """The column names the FROM of a SELECT node provides (bound, not run)."""
    probe = sqlast.template_node("SELECT * FROM probe")
    probe["from_table"] = node["from_table"]
    probe["cte_map"] = node.get("cte_map") or probe["cte_map"]
    return set(connection.sql(_render(connection, {"node": probe, "named_param_map": []}, verify=False)).columns)


def _render(connection: duckdb.DuckDBPyConnection, statement: Node, *, verify: bool = True) -> str:
    """SQL text for the tree; verified to parse back to the same tree, so DuckDB runs exactly what was checked."""
    sql = sqlast.deserialize(connection, statement)
    if verify:
        try:
            same = sqlast.meaning(sqlast.serialize(connection, sql)["node"]) == sqlast.meaning(statement["node"])
        except sqlast.TreeError:
            same = False
        if not same:
            raise QueryRefused("too_complex", _("This query cannot be checked safely; write it more simply."))
    return sql


# --- notes and values ------------------------------------------------------------------------------------------------


def _notes(outcome: disclosure.Outcome, policy: Policy) -> list[dict]:
    notes = []
    if outcome.small_groups:
        notes.append(_note("small_groups", outcome.small_groups, minimum=policy.min_group_size))
    if outcome.differencing_groups:
        notes.append(_note("differencing", outcome.differencing_groups, minimum=policy.min_group_size))
    if outcome.rounded_columns:
        notes.append(_note("rounded", outcome.rounded_columns, multiple=policy.count_rounding))
    if outcome.truncated:
        notes.append(_row_cap_note(policy.row_cap))
    return notes


def _row_cap_note(row_cap: int) -> dict:
    return _note("row_cap", row_cap, cap=row_cap)


def _note(code: str, count: int, **params: int) -> dict:
    """A disclosure note; its sentence is kept for readers of the stored run, and built again in the reader's language
    by `note_message` (the run may have been made by a worker in another language)."""
    return {"code": code, "count": count, "params": params, "message": note_message(code, count, params)}


def note_message(code: str, count: int, params: dict) -> str:
    """The sentence of a disclosure note in the active language ("" for an unknown code)."""
    if code == "small_groups":
        text = ngettext(
            "%(count)d group had fewer than %(minimum)d rows and was left out.",
            "%(count)d groups had fewer than %(minimum)d rows and were left out.",
            count,
        )
    elif code == "differencing":
        text = ngettext(
            "%(count)d group was left out: the WHERE (or one of its conditions) removed fewer than %(minimum)d rows "
            "from it, which comparing with the same query without it would reveal.",
            "%(count)d groups were left out: the WHERE (or one of its conditions) removed fewer than %(minimum)d rows "
            "from them, which comparing with the same query without it would reveal.",
            count,
        )
    elif code == "rounded":
        text = _("Counts are rounded to the nearest multiple of %(multiple)d.")
    elif code == "row_cap":
        text = _("Only the first %(cap)d rows are shown.")
    else:
        return ""
    return text % {"count": count, **params}


def json_safe(value: Any) -> Any:
    """A DuckDB value as JSON can carry it: Decimal as text, dates and times in ISO 8601, NaN/inf as None."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    return str(value)


# --- errors ------------------------------------------------------------------------------------------------------


def _refusal(exc: duckdb.Error, *, parquet_path: str, view_name: str, policy: Policy) -> QueryRefused:
    if isinstance(exc, duckdb.InterruptException):
        seconds = policy.max_execution_ms / 1000
        return QueryRefused(
            "timeout", _("The query ran longer than %(seconds)g s and was stopped.") % {"seconds": seconds}
        )
    if isinstance(exc, duckdb.OutOfMemoryException):
        return QueryRefused(
            "memory",
            _("The query needed more than %(limit)s of memory and was stopped.") % {"limit": policy.memory_limit},
        )
    if isinstance(exc, duckdb.PermissionException):
        return QueryRefused("forbidden_table", _("The sandbox reads no file other than the dataset."))
    message = scrub_message(sqlcheck.first_line(str(exc)), parquet_path=parquet_path, view_name=view_name)
    if isinstance(exc, (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException)):
        return QueryRefused("syntax", message)
    return QueryRefused("execution", message)


def scrub_message(message: str, *, parquet_path: str, view_name: str = "data") -> str:
    """DuckDB's message without the file's path or directory and with the internal view names as the user's."""
    for secret in sorted({parquet_path, os.path.realpath(parquet_path)}, key=len, reverse=True):
        message = message.replace(secret, view_name)
    for directory in {os.path.dirname(parquet_path), os.path.dirname(os.path.realpath(parquet_path))}:
        if directory and directory != os.sep:
            message = message.replace(directory, "…")
    for internal in (ALL_VIEW, ROWS_VIEW):
        message = message.replace(internal, view_name)
    return message
