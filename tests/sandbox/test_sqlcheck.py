"""What sandbox SQL may say, checked on DuckDB's parse tree before anything runs."""

import duckdb
import pytest

from sandbox import sqlcheck, sqlfunctions
from sandbox.sqlcheck import QueryRefused

AGGREGATE_ONLY = {"salary"}
HIDDEN = {"id_number"}


@pytest.fixture(scope="module")
def connection():
    with duckdb.connect() as connection:
        yield connection


def check(connection, sql: str) -> sqlcheck.Analysis:
    statement = sqlcheck.parse(connection, sql)
    return sqlcheck.check(statement, view_name="data", aggregate_only=AGGREGATE_ONLY, hidden=HIDDEN)


def refusal(connection, sql: str) -> QueryRefused:
    with pytest.raises(QueryRefused) as refused:
        check(connection, sql)
    assert refused.value.message
    return refused.value


# --- statements ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT 1) TO '/tmp/x.csv'",
        "ATTACH '/tmp/x.db' AS x",
        "DETACH x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET threads = 8",
        "RESET threads",
        "PRAGMA version",
        "CALL pragma_version()",
        "CREATE TABLE t AS SELECT 1",
        "CREATE MACRO m() AS 1",
        "DROP VIEW data",
        "INSERT INTO data VALUES (1)",
        "UPDATE data SET region = 'x'",
        "EXPORT DATABASE '/tmp/x'",
        "EXPLAIN SELECT 1",
        "PREPARE p AS SELECT 1",
        "BEGIN",
        "USE memory",
        "PIVOT data ON region",
        "DESCRIBE data",
        "SUMMARIZE data",
        "SHOW TABLES",
    ],
)
def test_only_select_statements_are_accepted(connection, sql):
    assert refusal(connection, sql).code == "not_select"


@pytest.mark.parametrize("sql", ["SELECT 1; SELECT 2", "SELECT 1; DROP VIEW data", "SELECT 1;;SELECT 2"])
def test_one_statement_at_a_time(connection, sql):
    assert refusal(connection, sql).code == "several_statements"


@pytest.mark.parametrize("sql", ["", "   ", "-- nothing", "SELECT 1 +", "SELEKT 1"])
def test_text_that_does_not_parse_is_a_syntax_refusal(connection, sql):
    assert refusal(connection, sql).code == "syntax"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "SELECT 1;",
        "/* comment */ SELECT region FROM data -- trailing; comment",
        "WITH t AS (SELECT region FROM data) SELECT * FROM t",
        "FROM data",
        "TABLE data",
        "VALUES (1), (2)",
        "(SELECT region FROM data) UNION (SELECT district FROM data)",
    ],
)
def test_selects_are_accepted(connection, sql):
    check(connection, sql)


# --- tables --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "name"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
        ("SELECT * FROM read_text('/etc/passwd')", "read_text"),
        ("SELECT * FROM read_parquet('/srv/other.parquet')", "read_parquet"),
        ("SELECT * FROM glob('/*')", "glob"),
        ("SELECT * FROM range(10)", "range"),
        ("SELECT * FROM query('SELECT 1')", "query"),
        ("SELECT * FROM query_table('data')", "query_table"),
        ("SELECT * FROM duckdb_settings()", "duckdb_settings"),
        ("SELECT * FROM json_execute_serialized_sql('{}')", "json_execute_serialized_sql"),
        ("SELECT * FROM data, read_csv('/etc/passwd')", "read_csv"),
        ("SELECT (SELECT 1 FROM glob('/*'))", "glob"),
        ("SELECT * FROM '/etc/passwd'", "/etc/passwd"),
        ("SELECT * FROM 'data.csv'", "data.csv"),
        ("SELECT * FROM information_schema.tables", "information_schema.tables"),
        ("SELECT * FROM main.data", "main.data"),
        ("SELECT * FROM __sandbox_all", "__sandbox_all"),
        ("SELECT * FROM other_table", "other_table"),
    ],
)
def test_only_the_dataset_and_ctes_can_be_read(connection, sql, name):
    refused = refusal(connection, sql)
    assert refused.code == "forbidden_table" and name in refused.message


def test_ctes_may_not_shadow_the_dataset(connection):
    assert refusal(connection, "WITH data AS (SELECT 1 AS region) SELECT * FROM data").code == "forbidden_table"
    assert refusal(connection, "WITH __sandbox_all AS (SELECT 1) SELECT * FROM data").code == "forbidden_table"


def test_every_read_of_the_dataset_is_counted(connection):
    analysis = check(connection, "WITH t AS (SELECT * FROM data) SELECT * FROM t JOIN data USING (region), data AS d")
    assert analysis.view_references == 3 and not analysis.aggregated


# --- functions -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "function",
    [
        "getenv('HOME')",
        "current_setting('threads')",
        "getvariable('x')",
        "read_text('/etc/passwd')",
        "json_serialize_sql('SELECT 1')",
        "json_serialize_plan('SELECT 1')",
        "list_aggregate([1], 'max')",
        "error('boom')",
        "random()",
        "sleep_ms(100)",
        "current_query()",
        "nextval('s')",
        "pg_sleep(1)",
        "no_such_function(1)",
    ],
)
def test_functions_outside_the_allow_list_are_refused(connection, function):
    assert refusal(connection, f"SELECT {function}").code == "forbidden_function"


def test_qualified_and_method_calls_are_refused(connection):
    assert refusal(connection, "SELECT main.upper(region) FROM data").code == "forbidden_function"
    assert refusal(connection, "SELECT region.upper() FROM data").code == "forbidden_function"
    assert refusal(connection, "SELECT salary.upper() FROM data").code == "forbidden_function"


def test_common_functions_are_allowed(connection):
    check(
        connection,
        "SELECT upper(region), length(name), substr(name, 1, 2), coalesce(district, '-'), round(1.55, 1), "
        "date_trunc('month', DATE '2024-05-03'), strftime(DATE '2024-05-03', '%Y'), year(DATE '2024-05-03'), "
        "CAST('1' AS INTEGER), TRY_CAST('x' AS INTEGER), region LIKE 'n%', region ILIKE 'N%', "
        "regexp_matches(name, 'P'), "
        "CASE WHEN region = 'north' THEN 1 ELSE 0 END, list_transform([1, 2], x -> x + 1), "
        "{'a': 1}, [1, 2][1], greatest(1, 2), nullif(1, 1), abs(-1), INTERVAL 1 DAY, now() "
        "FROM data",
    )


def test_the_allow_lists_name_functions_duckdb_has_and_no_table_function(connection):
    rows = connection.execute("SELECT lower(function_name), function_type FROM duckdb_functions()").fetchall()
    kinds: dict[str, set[str]] = {}
    for name, kind in rows:
        kinds.setdefault(name, set()).add(kind)
    operators_parsed_not_listed = {"->"}

    allowed = sqlfunctions.SCALAR_FUNCTIONS | sqlfunctions.AGGREGATE_FUNCTIONS | sqlfunctions.WINDOW_FUNCTIONS
    assert allowed - set(kinds) <= operators_parsed_not_listed
    assert all("aggregate" in kinds[name] for name in sqlfunctions.AGGREGATE_FUNCTIONS)
    assert sqlfunctions.SAFE_AGGREGATES <= sqlfunctions.AGGREGATE_FUNCTIONS
    only_table_functions = {name for name in sqlfunctions.SCALAR_FUNCTIONS if kinds.get(name) == {"table"}}
    assert only_table_functions == {"unnest"}  # in a select list it is the row-expanding unnest, not a table


# --- columns ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id_number FROM data",
        "SELECT d.id_number FROM data d",
        "SELECT region FROM data WHERE id_number LIKE '37%'",
        "SELECT region, count(*) FROM data GROUP BY id_number, region",
        "SELECT count(DISTINCT id_number) FROM data",
        "SELECT * EXCLUDE (id_number) FROM data",
        "SELECT a.region FROM data a JOIN data b USING (id_number)",
        "SELECT (SELECT max(ID_NUMBER) FROM data)",
    ],
)
def test_a_hidden_column_named_anywhere_is_refused(connection, sql):
    refused = refusal(connection, sql)
    assert refused.code == "hidden_column" and "id_number" in refused.message.lower()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT region, count(*), count(salary), count(DISTINCT salary), sum(salary), avg(salary), mean(salary), "
        "median(salary), stddev(salary), stddev_samp(salary), stddev_pop(salary), variance(salary), "
        "var_samp(salary), var_pop(salary) FROM data GROUP BY region",
        "SELECT sum(d.salary) / count(*) AS mean FROM data AS d WHERE d.region = 'north'",
        "SELECT region FROM data GROUP BY region HAVING avg(salary) > 5000 ORDER BY sum(salary) DESC",
        "SELECT region, sum(SALARY) FROM data WHERE name IN (SELECT name FROM data WHERE gender = 'F') GROUP BY 1",
    ],
)
def test_aggregate_only_columns_can_be_aggregated_in_the_outermost_select(connection, sql):
    analysis = check(connection, sql)
    assert analysis.aggregated and analysis.direct_reference is not None


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT salary FROM data",
        "SELECT region, salary FROM data",
        "SELECT region FROM data WHERE salary > 5000",
        "SELECT region FROM data ORDER BY salary",
        "SELECT region, count(*) FROM data GROUP BY region, salary",
        "SELECT s FROM (SELECT salary AS s FROM data)",
        "WITH t AS (SELECT salary FROM data) SELECT sum(salary) FROM t",
        "SELECT region, sum(s) FROM (SELECT region, salary AS s FROM data) GROUP BY region",
        "SELECT a.region FROM data a JOIN data b ON a.salary = b.salary",
        "SELECT region FROM data JOIN data USING (salary)",
        "SELECT region, max(salary) FROM data GROUP BY region",
        "SELECT region, min(salary) FROM data GROUP BY region",
        "SELECT region, string_agg(salary::VARCHAR, ',') FROM data GROUP BY region",
        "SELECT region, list(salary) FROM data GROUP BY region",
        "SELECT region, arg_max(name, salary) FROM data GROUP BY region",
        "SELECT region, first(salary), any_value(salary), mode(salary), histogram(salary) FROM data GROUP BY 1",
        "SELECT region, quantile_cont(salary, 0.9) FROM data GROUP BY region",
        "SELECT region, sum(DISTINCT salary) FROM data GROUP BY region",
        "SELECT region, sum(salary ORDER BY name) FROM data GROUP BY region",
        "SELECT region, sum(salary * 2) FROM data GROUP BY region",
        "SELECT region, sum(CASE WHEN name = 'P***001' THEN salary ELSE 0 END) FROM data GROUP BY region",
        "SELECT sum(salary) OVER (PARTITION BY region) FROM data",
        "SELECT rank() OVER (ORDER BY salary) FROM data",
        "SELECT region, sum(salary) FROM data a JOIN data b USING (name) GROUP BY region",
        "SELECT sum(salary) FROM (SELECT * FROM data)",
        "SELECT sum(salary), d FROM data d",
        "SELECT sum(salary), list(data) FROM data",
        "SELECT sum(salary) FROM data d WHERE EXISTS (SELECT d FROM data e)",
        "SELECT sum(salary) FROM data d WHERE EXISTS (SELECT d.* FROM data e)",
        "SELECT sum(salary) FROM data d WHERE EXISTS (SELECT 1 FROM data e WHERE d.salary > 5000)",
    ],
)
def test_aggregate_only_columns_never_come_out_row_by_row(connection, sql):
    assert refusal(connection, sql).code == "aggregate_only"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM (SELECT region, count(*) FROM data GROUP BY region)",
        "WITH t AS (SELECT region, count(*) AS n FROM data GROUP BY region) SELECT * FROM t",
        "SELECT region FROM data WHERE name IN (SELECT max(name) FROM data)",
        "SELECT (SELECT count(*) FROM data)",
        "SELECT * FROM data WHERE region IN (SELECT region FROM data GROUP BY region HAVING count(*) < 5)",
        "SELECT count(*) FROM data UNION ALL SELECT count(*) FROM data",
        "SELECT region FROM (SELECT DISTINCT region FROM data GROUP BY region)",
    ],
)
def test_aggregates_only_in_the_outermost_select(connection, sql):
    refused = refusal(connection, sql)
    assert refused.code == "nested_aggregate" and "outermost" in refused.message


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT region, sum(bonus) FILTER (WHERE gender = 'F') FROM data GROUP BY region",
        "SELECT region, count(*), rank() OVER (ORDER BY count(*)) FROM data GROUP BY region",
        "SELECT region, sum(sum(bonus)) OVER () FROM data GROUP BY region",
        "SELECT region, count(*) FROM data GROUP BY region QUALIFY true",
        "SELECT DISTINCT region, count(*) FROM data GROUP BY region",
        "SELECT *, count(*) FROM data GROUP BY ALL",
        "SELECT region, count(*) FROM data GROUP BY ROLLUP (region)",
        "SELECT region, count(*) FROM data GROUP BY GROUPING SETS ((region), ())",
        "SELECT count(*) FROM data USING SAMPLE 10",
        "SELECT * FROM data TABLESAMPLE 10%",
        "SELECT * FROM data PIVOT (count(*) FOR region IN ('north'))",
        "SELECT * FROM data a NATURAL JOIN data b",
        "SELECT #1 FROM data",
        "SELECT $1",
    ],
)
def test_constructs_disclosure_control_cannot_reason_about_are_refused(connection, sql):
    assert refusal(connection, sql).code == "too_complex"


def test_aggregates_out_of_place_are_refused(connection):
    assert refusal(connection, "SELECT region FROM data WHERE count(*) > 1").code == "syntax"


def test_an_aggregating_outermost_select_is_told_apart(connection):
    assert check(connection, "SELECT count(*) FROM data").aggregated
    assert check(connection, "SELECT region FROM data GROUP BY region").aggregated
    assert check(connection, "SELECT region, count(*) FROM data GROUP BY ALL").aggregated
    assert not check(connection, "SELECT region, count(*) OVER () FROM data").aggregated
    assert not check(connection, "SELECT DISTINCT region FROM data").aggregated
    assert check(connection, "SELECT count(*) FROM data").direct_reference is None  # no aggregate-only column used


def test_deeply_nested_expressions_are_refused_not_crashing(connection):
    sql = "SELECT " + "(" * 3000 + "1" + ")" * 3000
    with pytest.raises(QueryRefused) as refused:
        check(connection, sql)
    assert refused.value.code in ("syntax", "too_complex")


def test_overlong_sql_is_refused(connection):
    assert refusal(connection, "SELECT 1" + " " * sqlcheck.MAX_SQL_LENGTH).code == "too_complex"
