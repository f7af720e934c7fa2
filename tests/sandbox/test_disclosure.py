"""Disclosure control on aggregated results: group sizes learnt in the same pass, small groups and groups open to
differencing dropped, user expressions never run on a dropped group, counts rounded, helper columns cut off."""

import duckdb
import pytest

from sandbox import disclosure, sqlast, sqlcheck
from tests.factories.sandbox import residents_query as query


def rewritten(sql: str, *, min_group_size: int = 10) -> tuple[str, sqlast.Node, disclosure.Plan]:
    with duckdb.connect() as connection:
        statement = sqlcheck.parse(connection, sql)
        columns = [f"c{index}" for index in range(len(statement["node"]["select_list"]))]
        node, plan = disclosure.rewrite(
            statement["node"], names=columns, min_group_size=min_group_size, from_columns=set
        )
        return sqlast.deserialize(connection, {**statement, "node": node}), node, plan


# --- the rewrite -----------------------------------------------------------------------------------------------------


def test_without_a_where_the_rewrite_adds_no_filtered_count():
    sql, node, plan = rewritten("SELECT region, count(*) FROM data GROUP BY region")

    assert "FILTER" not in sql and node["where_clause"] is None and node["having"] is None
    assert plan.columns == 2 and plan.count_columns == (1,)


def test_the_where_moves_into_filter_clauses_with_one_count_per_condition_left_out():
    sql, node, _plan = rewritten(
        "SELECT region, sum(salary) FROM data WHERE gender = 'F' AND district = 'd1' GROUP BY 1"
    )

    assert node["where_clause"] is None  # the scan reads every row once; the WHERE is in the aggregates
    assert "sum(salary) FILTER (WHERE ((gender = 'F') AND (district = 'd1')))" in sql
    assert "count_star() FILTER (WHERE (gender = 'F'))" in sql  # without the second condition
    assert "count_star() FILTER (WHERE (district = 'd1'))" in sql  # without the first
    assert "GROUP BY region" in sql and "HAVING (count_star() FILTER" in sql  # groups the WHERE left empty go


def test_the_rewrite_appends_the_helper_columns_after_the_users():
    sql, _node, plan = rewritten("SELECT count(*) AS n FROM data")

    assert sql.index(" AS c0") < sql.index(disclosure.KEEP_ALIAS) < sql.index(disclosure.SMALL_ALIAS)
    assert disclosure.DIFFERENCING_ALIAS in sql and plan.columns == 1


def test_finish_keeps_the_kept_rows_cuts_the_helpers_and_rounds_counts():
    plan = disclosure.Plan(columns=2, count_columns=(1,))
    rows = [("north", 121, True, 1, 2), ("south", 12, True, 1, 2), ("west", 3, False, 1, 2)]

    outcome = disclosure.finish(rows, plan, row_cap=10, count_rounding=5)

    assert outcome.rows == [["north", 120], ["south", 10]]
    assert (outcome.small_groups, outcome.differencing_groups, outcome.truncated) == (1, 2, False)
    assert outcome.rounded_columns == 1


def test_finish_tells_a_truncated_result():
    plan = disclosure.Plan(columns=1, count_columns=())
    outcome = disclosure.finish([("a", True, 0, 0), ("b", True, 0, 0)], plan, row_cap=1, count_rounding=5)

    assert outcome.rows == [["a"]] and outcome.truncated and outcome.rounded_columns == 0


@pytest.mark.parametrize(("value", "rounded"), [(0, 0), (2, 0), (3, 5), (12, 10), (13, 15), (15, 15), (None, None)])
def test_counts_round_half_up_to_the_multiple(value, rounded):
    assert disclosure.round_count(value, 5) == rounded


# --- differencing --------------------------------------------------------------------------------------------------


def test_a_where_removing_one_person_from_a_group_suppresses_the_group(parquet):
    everyone = query(parquet, "SELECT count(*), sum(salary) FROM data")
    but_one = query(parquet, "SELECT count(*), sum(salary) FROM data WHERE name <> 'P***007'")

    assert len(everyone.rows) == 1
    assert but_one.rows == [] and but_one.suppressed_rows == 1
    assert [(note["code"], note["count"]) for note in but_one.notes] == [("differencing", 1)]


def test_differencing_is_checked_group_by_group(parquet):
    result = query(
        parquet, "SELECT region, count(*), sum(salary) FROM data WHERE name <> 'P***007' GROUP BY 1 ORDER BY 1"
    )

    assert [row[0] for row in result.rows] == ["east", "south"]  # north lost P***007; west is small anyway
    assert {note["code"]: note["count"] for note in result.notes if note["code"] != "rounded"} == {
        "small_groups": 1,
        "differencing": 1,
    }
    assert result.suppressed_rows == 2


def test_a_condition_that_removes_one_person_next_to_others_is_caught_too(parquet):
    # Without the WHERE the total is 300 (far from 119), but without its second condition it is 120.
    result = query(parquet, "SELECT sum(salary) FROM data WHERE region = 'north' AND name <> 'P***007'")

    assert result.rows == [] and [note["code"] for note in result.notes] == ["differencing"]


def test_a_where_removing_many_rows_is_not_differencing(parquet):
    result = query(parquet, "SELECT region, sum(salary) FROM data WHERE gender = 'F' GROUP BY 1 ORDER BY 1")

    assert [row[0] for row in result.rows] == ["east", "north", "south"]
    assert [note["code"] for note in result.notes] == ["small_groups"]


def test_differencing_uses_the_minimum_group_size(parquet):
    # 80 rows; without the district condition 120: the 40 left out are enough at 40, not at 41
    sql = "SELECT count(*) FROM data WHERE region = 'north' AND district <> 'district-0'"

    assert query(parquet, sql).rows == [[80]]
    assert query(parquet, sql, min_group_size=40).rows == [[80]]
    refused = query(parquet, sql, min_group_size=41)
    assert refused.rows == [] and [note["code"] for note in refused.notes] == ["differencing"]


# --- user expressions never run on a dropped group -------------------------------------------------------------------


def test_select_list_expressions_are_not_evaluated_for_suppressed_groups(parquet):
    # West (4 rows) would fail the cast; being suppressed, it is never computed, so its size cannot leak as an error.
    sql = "SELECT region, CAST(CASE WHEN count(*) < 10 THEN 'boom' ELSE '1' END AS INTEGER) FROM data GROUP BY region"

    result = query(parquet, sql)

    assert sorted(result.rows) == [["east", 1], ["north", 1], ["south", 1]] and result.suppressed_rows == 1


def test_having_and_order_by_are_not_evaluated_for_suppressed_groups(parquet):
    boom = "CAST(CASE WHEN count(*) < 10 THEN 'boom' ELSE '1' END AS INTEGER)"

    result = query(parquet, f"SELECT region FROM data GROUP BY region HAVING {boom} = 1 ORDER BY {boom}, region")

    assert result.rows == [["east"], ["north"], ["south"]]


def test_a_kept_group_does_run_the_users_expressions(parquet):
    with pytest.raises(sqlcheck.QueryRefused) as refused:
        query(parquet, "SELECT region, CAST(region AS INTEGER) FROM data GROUP BY region")

    assert refused.value.code == "execution"
