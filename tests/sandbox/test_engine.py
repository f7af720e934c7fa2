"""The sandbox engine's normal paths: row-level results under the row cap, aggregated results through disclosure
control, JSON-safe values, how often the dataset is read, and the locked-down connection."""

import json

import duckdb
import pytest

from sandbox import engine
from sandbox.engine import QueryRefused
from tests.factories.sandbox import (
    RESIDENTS_COLUMNS,
    RESIDENTS_POLICY,
    RESIDENTS_ROW_COLUMNS,
    RESIDENTS_SQL,
)
from tests.factories.sandbox import residents_query as query

# --- row-level results -------------------------------------------------------------------------------------------


def test_row_level_results_show_visible_and_masked_columns_only(parquet):
    result = query(parquet, "SELECT * FROM data ORDER BY name LIMIT 2")

    assert result.columns == RESIDENTS_ROW_COLUMNS
    assert result.rows[0][:4] == ["north", "district-0", "F", "P***000"]
    assert not result.aggregated and result.suppressed_rows == 0 and not result.truncated and result.notes == []


def test_row_level_results_are_capped_with_a_note(parquet):
    result = query(parquet, "SELECT name FROM data ORDER BY name", row_cap=50)

    assert len(result.rows) == 50 and result.rows[-1] == ["P***049"]
    assert result.truncated
    assert [note["code"] for note in result.notes] == ["row_cap"] and result.notes[0]["count"] == 50


def test_exactly_the_row_cap_is_not_truncated(parquet):
    result = query(parquet, "SELECT name FROM data WHERE region = 'north'", row_cap=120)

    assert len(result.rows) == 120 and not result.truncated and result.notes == []


def test_values_are_json_safe(parquet):
    result = query(
        parquet,
        "SELECT joined, bonus, bonus * 2 AS double_bonus, joined::TIMESTAMP AS at, 'nan'::DOUBLE AS nan, "
        "[1, 2] AS list, {'k': bonus} AS struct, INTERVAL 1 DAY AS gap FROM data WHERE name = 'P***001'",
    )

    assert result.rows == [
        ["2024-01-02", "12.50", "25.00", "2024-01-02T00:00:00", None, [1, 2], {"k": "12.50"}, "1 day, 0:00:00"]
    ]
    json.dumps(result.rows)


def test_subqueries_ctes_joins_windows_and_set_operations_work_on_row_level_data(parquet):
    sql = """
        WITH f AS (SELECT name, region FROM data WHERE gender = 'F')
        SELECT f.name, row_number() OVER (PARTITION BY f.region ORDER BY f.name) AS rank
        FROM f JOIN data d USING (name)
        WHERE f.region IN (SELECT DISTINCT region FROM data WHERE district = 'district-1')
        QUALIFY rank <= 1
        UNION ALL SELECT 'total', 0
        ORDER BY 1
    """
    result = query(parquet, sql)

    assert result.rows == [["P***000", 1], ["P***120", 1], ["P***240", 1], ["P***296", 1], ["total", 0]]
    assert result.view_references == 3


# --- aggregated results ------------------------------------------------------------------------------------------


def test_small_groups_are_suppressed_and_counts_rounded(parquet):
    result = query(parquet, "SELECT region, count(*) AS people, sum(salary) FROM data GROUP BY region ORDER BY region")

    assert result.aggregated
    assert result.columns == ["region", "people", "sum(salary)"]  # the helper columns never reach the caller
    assert [row[:2] for row in result.rows] == [["east", 55], ["north", 120], ["south", 120]]
    assert result.suppressed_rows == 1
    assert {note["code"]: note["count"] for note in result.notes} == {"small_groups": 1, "rounded": 1}
    assert all(note["message"] for note in result.notes)


def test_the_sums_are_those_of_the_whole_groups(parquet):
    result = query(parquet, "SELECT region, sum(salary), avg(salary), median(salary) FROM data GROUP BY 1 ORDER BY 1")

    with duckdb.connect() as bare:
        expected = bare.execute(
            f"SELECT region, sum(salary), avg(salary), median(salary) FROM ({RESIDENTS_SQL}) "
            "WHERE region <> 'west' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert result.rows == [[engine.json_safe(value) for value in row] for row in expected]


def test_counts_are_exact_when_rounding_is_off(parquet):
    result = query(parquet, "SELECT region, count(*) FROM data GROUP BY region ORDER BY 2, 1", count_rounding=1)

    assert result.rows == [["east", 56], ["north", 120], ["south", 120]]
    assert [note["code"] for note in result.notes] == ["small_groups"]


def test_a_query_without_small_groups_has_no_notes_but_rounding(parquet):
    result = query(parquet, "SELECT gender, count(*), avg(salary) FROM data GROUP BY ALL ORDER BY ALL")

    assert [row[:2] for row in result.rows] == [["F", 150], ["M", 150]]
    assert result.suppressed_rows == 0 and [note["code"] for note in result.notes] == ["rounded"]


def test_the_user_limit_applies_to_the_groups_that_are_shown(parquet):
    result = query(parquet, "SELECT region, count(*) FROM data GROUP BY region ORDER BY count(*) LIMIT 1")

    assert result.rows == [["east", 55]]  # not west, the smallest, which is suppressed
    assert result.suppressed_rows == 1


def test_having_filters_the_groups_shown(parquet):
    result = query(parquet, "SELECT region FROM data GROUP BY region HAVING count(*) > 100 ORDER BY region")

    assert result.rows == [["north"], ["south"]]


def test_aggregated_results_are_capped_too(parquet):
    result = query(parquet, "SELECT region, district, count(*) FROM data GROUP BY ALL ORDER BY ALL", row_cap=2)

    assert [row[:2] for row in result.rows] == [["east", "district-0"], ["east", "district-1"]]
    assert result.truncated and "row_cap" in [note["code"] for note in result.notes]


def test_a_where_is_applied_to_the_groups(parquet):
    result = query(parquet, "SELECT region, count(*) FROM data WHERE gender = 'F' GROUP BY region ORDER BY 1")

    assert result.rows == [["east", 30], ["north", 60], ["south", 60]]  # east has 28
    assert result.suppressed_rows == 1  # west's 2 women


def test_groups_the_where_leaves_empty_are_not_reported_as_suppressed(parquet):
    result = query(parquet, "SELECT region, count(*) FROM data WHERE region = 'north' GROUP BY region")

    assert result.rows == [["north", 120]] and result.suppressed_rows == 0 and result.notes[0]["code"] == "rounded"


def test_an_aggregate_over_no_row_is_a_group_too_small_to_show(parquet):
    result = query(parquet, "SELECT count(*) FROM data WHERE region = 'nowhere'")

    assert result.rows == [] and result.suppressed_rows == 1


def test_aggregates_over_a_subquery_or_a_join_of_visible_columns(parquet):
    result = query(
        parquet,
        "SELECT f.region, count(*) FROM (SELECT region, name FROM data WHERE gender = 'M') f "
        "JOIN data d USING (name) GROUP BY f.region ORDER BY 1",
    )

    assert result.rows == [["east", 30], ["north", 60], ["south", 60]] and result.view_references == 2


def test_group_by_aliases_positions_and_expressions(parquet):
    by_alias = query(parquet, "SELECT upper(region) AS r, count(*) FROM data WHERE r <> 'EAST' GROUP BY r ORDER BY r")
    by_month = query(parquet, "SELECT date_trunc('month', joined) AS m, count(*) FROM data GROUP BY 1 ORDER BY 1")

    assert by_alias.rows == [["NORTH", 120], ["SOUTH", 120]]
    assert [[month[:10], count] for month, count in by_month.rows] == [
        ["2024-01-01", 125],
        ["2024-02-01", 85],
        ["2024-03-01", 90],  # 123, 87, 90 rounded
    ]


def test_view_references_count_every_read_of_the_dataset(parquet):
    assert query(parquet, "SELECT 1").view_references == 0
    assert query(parquet, "SELECT count(*) FROM data").view_references == 1
    assert query(parquet, "WITH d AS (SELECT * FROM data) SELECT count(*) FROM d, data").view_references == 2


# --- errors --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("SELECT nosuch FROM data", "syntax"),
        ("SELECT 1 +", "syntax"),
        ("SELECT region, count(*) FROM data", "syntax"),  # region not grouped
        ("SELECT CAST(name AS INTEGER) FROM data", "execution"),
    ],
)
def test_duckdb_errors_are_refusals_with_a_code(parquet, sql, code):
    with pytest.raises(QueryRefused) as refused:
        query(parquet, sql)

    assert refused.value.code == code and refused.value.message
    assert "__sandbox" not in refused.value.message and "\n" not in refused.value.message


def test_error_messages_do_not_show_the_file_path():
    path = "/srv/media/sandbox/42/residents.parquet"
    message = f"IO Error: No magic bytes found at end of file '{path}' in /srv/media/sandbox/42 (__sandbox_rows)"

    scrubbed = engine.scrub_message(message, parquet_path=path)

    assert "/srv" not in scrubbed and "__sandbox" not in scrubbed and "'data'" in scrubbed


# --- the connection ------------------------------------------------------------------------------------------------


def test_the_connection_is_locked_down(parquet, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("secret\n42\n")

    with engine.sandbox_connection(parquet, RESIDENTS_POLICY) as connection:
        for statement in ("SET threads = 4", "SET enable_external_access = true", "RESET memory_limit",
                          "SET lock_configuration = false", "SET allowed_paths = ['/']"):  # fmt: skip
            with pytest.raises(duckdb.Error):
                connection.execute(statement)
        with pytest.raises(duckdb.PermissionException):
            connection.execute(f"SELECT * FROM read_csv('{other}')").fetchall()
        with pytest.raises(duckdb.Error):
            connection.execute(f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'")
        settings = dict(connection.execute("SELECT name, value FROM duckdb_settings()").fetchall())
        assert connection.execute("SELECT count(*) FROM __sandbox_rows").fetchone() == (300,)

    assert settings["threads"] == "1" and settings["temp_directory"] == ""
    assert settings["enable_external_access"] == "false" and settings["lock_configuration"] == "true"
    assert settings["autoload_known_extensions"] == "false" and settings["autoinstall_known_extensions"] == "false"
    assert settings["python_enable_replacements"] == "false" and settings["max_execution_time"] == "5000"
    assert not (tmp_path / "out.csv").exists()


def test_the_views_hold_only_the_columns_of_the_policy(parquet):
    with engine.sandbox_connection(parquet, RESIDENTS_POLICY) as connection:
        rows = [column[0] for column in connection.execute("SELECT * FROM __sandbox_rows").description]
        every = [column[0] for column in connection.execute("SELECT * FROM __sandbox_all").description]

    assert rows == RESIDENTS_ROW_COLUMNS and every == list(RESIDENTS_COLUMNS)


def test_the_connection_is_closed_after_each_query(parquet, monkeypatch):
    opened = []
    connect = duckdb.connect

    def spy(*args, **kwargs):
        opened.append(connect(*args, **kwargs))
        return opened[-1]

    query(parquet, "SELECT count(*) FROM data")  # parses the disclosure templates (once per process)
    monkeypatch.setattr(engine.duckdb, "connect", spy)
    query(parquet, "SELECT count(*) FROM data")
    with pytest.raises(QueryRefused):
        query(parquet, "SELECT salary FROM data")

    assert len(opened) == 2
    for connection in opened:
        with pytest.raises(duckdb.ConnectionException):
            connection.execute("SELECT 1")
