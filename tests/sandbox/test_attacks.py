"""Attempts to get around the sandbox: each is refused or cut off with a clear code, and the next query runs."""

import pytest

from sandbox.engine import QueryRefused
from tests.factories.sandbox import residents_query as query

NORMAL = "SELECT region, count(*) FROM data GROUP BY region ORDER BY region"
NORMAL_ROWS = [["east", 55], ["north", 120], ["south", 120]]


def refused(parquet: str, sql: str, **rules) -> QueryRefused:
    with pytest.raises(QueryRefused) as refusal:
        query(parquet, sql, **rules)
    assert refusal.value.code and refusal.value.message
    assert query(parquet, NORMAL).rows == NORMAL_ROWS  # the sandbox still works afterwards
    return refusal.value


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "forbidden_table"),
        ("SELECT * FROM read_csv_auto('/etc/passwd')", "forbidden_table"),
        ("SELECT * FROM read_text('/etc/passwd')", "forbidden_table"),
        ("SELECT read_text('/etc/passwd')", "forbidden_function"),
        ("SELECT * FROM read_blob('/etc/passwd')", "forbidden_table"),
        ("SELECT * FROM glob('/etc/*')", "forbidden_table"),
        ("SELECT * FROM '/etc/passwd'", "forbidden_table"),
        ("SELECT * FROM data, read_json('/etc/hosts')", "forbidden_table"),
        ("SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')", "forbidden_table"),
        ("COPY (SELECT 1) TO '/tmp/sandbox-leak.csv'", "not_select"),
        ("COPY data TO '/tmp/sandbox-leak.csv'", "not_select"),
        ("ATTACH '/tmp/sandbox-leak.db' AS leak", "not_select"),
        ("INSTALL httpfs", "not_select"),
        ("LOAD httpfs", "not_select"),
        ("SET enable_external_access = true", "not_select"),
        ("SET lock_configuration = false", "not_select"),
        ("PRAGMA threads = 8", "not_select"),
        ("RESET memory_limit", "not_select"),
        ("CALL pragma_version()", "not_select"),
        ("SELECT 1; SELECT 2", "several_statements"),
        ("SELECT 1; COPY (SELECT 1) TO '/tmp/sandbox-leak.csv'", "several_statements"),
        ("CREATE TABLE stolen AS SELECT * FROM data", "not_select"),
        ("DROP VIEW data", "not_select"),
        ("CREATE OR REPLACE VIEW data AS SELECT 1 AS region", "not_select"),
        ("EXPORT DATABASE '/tmp/sandbox-leak'", "not_select"),
        ("SUMMARIZE data", "not_select"),
        ("SELECT getenv('HOME')", "forbidden_function"),
        ("SELECT current_setting('allowed_paths')", "forbidden_function"),
        ("SELECT * FROM duckdb_settings()", "forbidden_table"),
        ("SELECT * FROM information_schema.columns", "forbidden_table"),
        ("SELECT * FROM __sandbox_all", "forbidden_table"),
    ],
)
def test_reaching_outside_the_dataset_is_refused(parquet, sql, code):
    assert refused(parquet, sql).code == code


def test_the_dataset_file_itself_cannot_be_read_around_the_views(parquet):
    assert refused(parquet, f"SELECT salary FROM '{parquet}'").code in ("forbidden_table", "aggregate_only")
    assert refused(parquet, f"SELECT * FROM read_parquet('{parquet}')").code == "forbidden_table"


def test_a_cross_join_that_would_run_for_ever_is_cut_off(parquet):
    sql = "SELECT count(*) FROM data a, data b, data c, data d, data e"

    assert refused(parquet, sql, max_execution_ms=300).code == "timeout"


def test_an_infinite_recursive_cte_is_cut_off(parquet):
    sql = "WITH RECURSIVE forever(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM forever) SELECT n FROM forever ORDER BY n"

    assert refused(parquet, sql, max_execution_ms=300).code == "timeout"


def test_memory_exhaustion_is_stopped(parquet):
    sql = "SELECT max(length(s)) FROM (SELECT repeat(a.name, 10000) || b.name AS s FROM data a, data b ORDER BY s)"

    assert refused(parquet, sql, memory_limit="32MB").code == "memory"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id_number FROM data",
        "SELECT count(DISTINCT id_number) FROM data",
        "SELECT region FROM data WHERE id_number LIKE '37%'",
    ],
)
def test_a_hidden_column_is_refused_by_name(parquet, sql):
    refusal = refused(parquet, sql)
    assert refusal.code == "hidden_column" and "id_number" in refusal.message


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT salary FROM data",
        "SELECT s FROM (SELECT salary AS s FROM data)",  # alias laundering
        "WITH t AS (SELECT name, salary FROM data) SELECT name, sum(salary) FROM t GROUP BY name",
        "SELECT name, avg(salary) OVER (PARTITION BY region) FROM data",  # window function
        "SELECT region, min(salary), max(salary) FROM data GROUP BY region",
        "SELECT region, string_agg(CAST(salary AS VARCHAR), ',') FROM data GROUP BY region",
        "SELECT region, list(salary) FROM data GROUP BY region",
        "SELECT region, arg_max(name, salary) FROM data GROUP BY region",
        "SELECT region, sum(CASE WHEN name = 'P***007' THEN salary ELSE 0 END) FROM data GROUP BY region",
        "SELECT region, sum(salary * (name = 'P***007')::INTEGER) FROM data GROUP BY region",
        "SELECT name FROM data WHERE salary > 7000",
        "SELECT name FROM data ORDER BY salary DESC LIMIT 1",
        "SELECT region, sum(salary), list(d) FROM data d GROUP BY region",  # the whole row as a struct
        "SELECT region, sum(salary) FROM data a JOIN data b USING (name) GROUP BY region",
    ],
)
def test_aggregate_only_values_never_come_out_row_by_row(parquet, sql):
    refusal = refused(parquet, sql)
    assert refusal.code == "aggregate_only"


def test_stars_and_row_structs_do_not_carry_aggregate_only_columns(parquet):
    star = query(parquet, "SELECT * FROM (SELECT * FROM data) LIMIT 1")
    row = query(parquet, "SELECT d FROM data d LIMIT 1")
    pattern = query(parquet, "SELECT COLUMNS('.*a.*') FROM data LIMIT 1")

    assert "salary" not in star.columns and "salary" not in row.rows[0][0] and "salary" not in pattern.columns


def test_filter_clauses_cannot_single_out_a_person_in_a_large_group(parquet):
    sql = "SELECT region, sum(salary) FILTER (WHERE name = 'P***007') FROM data GROUP BY region"

    assert refused(parquet, sql).code == "too_complex"


def test_a_differencing_attempt_on_a_small_group_gets_nothing(parquet):
    everyone = query(parquet, "SELECT count(*), sum(salary) FROM data WHERE region = 'north'")
    all_but_one = "SELECT count(*), sum(salary) FROM data WHERE region = 'north' AND name <> 'P***007'"
    without_one = query(parquet, all_but_one)
    also_by_group = query(parquet, "SELECT region, sum(salary) FROM data WHERE name <> 'P***007' GROUP BY region")

    assert len(everyone.rows) == 1
    assert without_one.rows == [] and without_one.notes[0]["code"] == "differencing"
    assert "north" not in [region for region, _total in also_by_group.rows]


def test_a_failing_expression_cannot_probe_a_suppressed_group(parquet):
    # Would fail only if west's (4 people) salary sum were above 10,000 — if the expression ran on west at all.
    probe = "CAST(CASE WHEN count(*) < 10 AND sum(salary) > 10000 THEN 'yes' ELSE '0' END AS INTEGER)"

    result = query(parquet, f"SELECT region, {probe} AS probe FROM data GROUP BY region ORDER BY region")

    assert result.rows == [["east", 0], ["north", 0], ["south", 0]]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT region, count(*) FROM data GROUP BY ROLLUP (region)",
        "SELECT region, sum(sum(salary)) OVER () FROM data GROUP BY region",
        "SELECT sum(salary) FROM data USING SAMPLE 3 ROWS",
    ],
)
def test_constructs_that_would_total_across_suppressed_groups_are_refused(parquet, sql):
    assert refused(parquet, sql).code == "too_complex"


def test_aggregating_in_a_subquery_to_hide_group_sizes_is_refused(parquet):
    sql = "SELECT * FROM (SELECT region, count(*) AS n FROM data GROUP BY region) WHERE n < 10"

    assert refused(parquet, sql).code == "nested_aggregate"
