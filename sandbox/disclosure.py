"""Disclosure control for an aggregating outermost SELECT: one rewritten query learns every group's size in the same
pass as the user's aggregates, and the groups that must not be shown are dropped before they reach Python.

The rewrite (on the parse tree, see sandbox/sqlast.py), with n = the group's row count:
- WHERE w moves into FILTER (WHERE w) on every aggregate, so the same scan also counts each group WITHOUT the WHERE
  (t = count(*)); with w = c1 AND ... AND cm, also without each ci in turn (t_i). Groups with n = 0 are dropped by
  HAVING (they were not in the original result). Without a WHERE nothing of this is added (no second scan).
- a group is shown ("kept") when n >= min_group_size and no 0 < t - n < min_group_size (nor t_i - n): otherwise
  the rows the WHERE (or one of its conditions) left out could be recovered by running the query again without it
  ("differencing": WHERE name <> 'x' against the same query without it gives x's salary).
- every select-list, HAVING and ORDER BY expression of the user is evaluated inside CASE WHEN kept THEN ... END, so a
  group that is not shown never runs user code after aggregation (an error or a slow branch would otherwise tell
  something about it).
- ORDER BY kept DESC comes first: kept groups come in the user's order, under the user's LIMIT, and the dropped ones
  after them; two window sums over the groups count the dropped ones (for the notes). Helper columns are appended
  after the user's and never reach the caller.
- count(...) columns are rounded to a multiple of count_rounding afterwards (`finish`).

GROUP BY ALL, GROUP BY <position> and GROUP BY/WHERE references to select-list aliases are resolved first, because
the wrapped select-list items are no longer plain expressions the binder could group by. With a WHERE, GROUP BY
expressions see every row (the WHERE is a FILTER now): one that fails on rows the WHERE would have removed fails
the query (TRY_CAST instead of CAST).

What this does not stop (threshold rules cannot; noise or query auditing would): differences between two queries
whose groups are both large (GROUP BY region vs GROUP BY region, name = 'x'; or a WHERE hiding its condition in a
CASE or an OR), and totals across queries (the overall sum minus the sums of the groups shown is the sum of the
groups suppressed). Within one query the totals across groups are refused (ROLLUP/CUBE/GROUPING SETS, window
functions over the groups).
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox import sqlast
from sandbox.sqlast import Node, template_expression
from sandbox.sqlcheck import is_aggregate_call, is_order_by_all
from sandbox.sqlfunctions import COUNT_FUNCTIONS

KEEP_ALIAS = "__sbx_keep"
SMALL_ALIAS = "__sbx_small"
DIFFERENCING_ALIAS = "__sbx_differencing"
HELPER_COLUMNS = 3


@dataclass(frozen=True)
class Plan:
    """Where the user's columns end and which of them are counts."""

    columns: int
    count_columns: tuple[int, ...]


@dataclass(frozen=True)
class Outcome:
    """The rows disclosure control lets through, and what it did."""

    rows: list[list[Any]]
    small_groups: int
    differencing_groups: int
    truncated: bool
    rounded_columns: int


@dataclass(frozen=True)
class _Helpers:
    size: Node  # n
    keep: Node
    small: Node
    differencing: Node


def rewrite(
    node: Node, *, names: list[str], min_group_size: int, from_columns: Callable[[], set[str]]
) -> tuple[Node, Plan]:
    """The aggregating SELECT node rewritten for disclosure control (a copy), and how to read its rows."""
    node = copy.deepcopy(node)  # the only copy: FILTER clauses are added to the user's aggregate calls in place
    items = node["select_list"]
    originals = [sqlast.without_alias(item) for item in items]
    aliases = _Aliases(items, from_columns)
    _resolve_group_by(node, originals, aliases)
    where = aliases.resolve(node.get("where_clause"))
    node["where_clause"] = None
    if where is not None:
        for aggregate in _aggregate_calls(node):
            aggregate["filter"] = where
    helpers = _helpers(where, min_group_size)
    node["having"] = _having(node, where, helpers)
    _order(node, len(items), helpers)
    node["select_list"] = [_wrap(item, helpers.keep, name) for item, name in zip(items, names, strict=True)] + [
        _aliased(helpers.keep, KEEP_ALIAS),
        _aliased(template_expression("sum(CASE WHEN __sbx_s THEN 1 ELSE 0 END) OVER ()", s=helpers.small), SMALL_ALIAS),
        _aliased(
            template_expression(
                "sum(CASE WHEN NOT __sbx_s AND __sbx_d THEN 1 ELSE 0 END) OVER ()",
                s=helpers.small,
                d=helpers.differencing,
            ),
            DIFFERENCING_ALIAS,
        ),
    ]
    counts = tuple(index for index, item in enumerate(originals) if _is_count(item))
    return node, Plan(columns=len(items), count_columns=counts)


def finish(rows: list[tuple], plan: Plan, *, row_cap: int, count_rounding: int) -> Outcome:
    """The kept rows (at most row_cap, helpers cut off, counts rounded) from at most row_cap + 1 fetched rows."""
    keep, small, differencing = plan.columns, plan.columns + 1, plan.columns + 2
    kept = [list(row[: plan.columns]) for row in rows if row[keep]]
    truncated = len(kept) > row_cap
    kept = kept[:row_cap]
    rounded = 0
    if count_rounding > 1 and plan.count_columns and kept:
        rounded = len(plan.count_columns)
        for row in kept:
            for index in plan.count_columns:
                row[index] = round_count(row[index], count_rounding)
    first = rows[0] if rows else None
    return Outcome(
        rows=kept,
        small_groups=int(first[small] or 0) if first else 0,
        differencing_groups=int(first[differencing] or 0) if first else 0,
        truncated=truncated,
        rounded_columns=rounded,
    )


def round_count(value: Any, multiple: int) -> Any:
    """Round a count half up to the nearest multiple (None and non-integers are left alone)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    return (2 * value + multiple) // (2 * multiple) * multiple


# --- the helpers -----------------------------------------------------------------------------------------------------


def _helpers(where: Node | None, min_group_size: int) -> _Helpers:
    """n, and whether a group is too small or could be differenced, as expressions over the group."""
    if where is None:
        size = template_expression("count_star()")
        others: list[Node] = []
    else:
        size = _filtered_count(where)
        others = [template_expression("count_star()")]
        parts = sqlast.conjuncts(where)
        if len(parts) > 1:
            others += [_filtered_count(sqlast.conjunction(parts[:i] + parts[i + 1 :])) for i in range(len(parts))]
    small = template_expression(f"__sbx_n < {int(min_group_size)}", n=size)
    differencing = template_expression("false")
    if others and min_group_size > 1:
        gaps = [
            template_expression(f"(__sbx_o - __sbx_n) BETWEEN 1 AND {int(min_group_size) - 1}", o=other, n=size)
            for other in others
        ]
        differencing = _any(gaps)
    keep = template_expression("NOT __sbx_s AND NOT __sbx_d", s=small, d=differencing)
    return _Helpers(size=size, keep=keep, small=small, differencing=differencing)


def _filtered_count(condition: Node) -> Node:
    return template_expression("count_star() FILTER (WHERE __sbx_w)", w=condition)


def _any(parts: list[Node]) -> Node:
    if len(parts) == 1:
        return parts[0]
    names = " OR ".join(f"__sbx_p{index}" for index in range(len(parts)))
    return template_expression(names, **{f"p{index}": part for index, part in enumerate(parts)})


def _having(node: Node, where: Node | None, helpers: _Helpers) -> Node | None:
    parts = []
    if where is not None and node.get("group_expressions"):
        parts.append(template_expression("__sbx_n > 0", n=helpers.size))
    if node.get("having"):
        parts.append(
            template_expression("CASE WHEN __sbx_k THEN __sbx_h ELSE true END", k=helpers.keep, h=node["having"])
        )
    return sqlast.conjunction(parts) if parts else None


def _order(node: Node, columns: int, helpers: _Helpers) -> None:
    """ORDER BY kept DESC, then the user's order (expressions guarded, ORDER BY ALL spelled out as positions)."""
    modifiers = node.setdefault("modifiers", [])
    order = next((modifier for modifier in modifiers if modifier.get("type") == "ORDER_MODIFIER"), None)
    if order is None:
        order = sqlast.template_node("SELECT 1 ORDER BY 1")["modifiers"][0]
        order["orders"] = []
        modifiers.insert(0, order)
    first = sqlast.template_node("SELECT 1 ORDER BY __sbx_k DESC")["modifiers"][0]["orders"][0]
    orders = [sqlast.replace_placeholders(first, {"k": helpers.keep})]
    for item in order["orders"]:
        expression = item.get("expression") or {}
        if is_order_by_all(expression):
            orders += _positions(columns, item)
        elif expression.get("class") in ("CONSTANT", "COLUMN_REF"):
            orders.append(item)
        else:
            orders.append({**item, "expression": _guard(expression, helpers.keep)})
    order["orders"] = orders


def _positions(columns: int, like: Node) -> list[Node]:
    text = ", ".join(str(position) for position in range(1, columns + 1))
    orders = sqlast.template_node(f"SELECT 1 ORDER BY {text}")["modifiers"][0]["orders"]
    return [{**order, "type": like.get("type"), "null_order": like.get("null_order")} for order in orders]


def _wrap(item: Node, keep: Node, name: str) -> Node:
    return _aliased(_guard(sqlast.without_alias(item), keep), name)


def _guard(expression: Node, keep: Node) -> Node:
    return template_expression("CASE WHEN __sbx_k THEN __sbx_e END", k=keep, e=expression)


def _aliased(expression: Node, alias: str) -> Node:
    return {**expression, "alias": alias}


def _is_count(item: Node) -> bool:
    return item.get("class") == "FUNCTION" and str(item.get("function_name", "")).lower() in COUNT_FUNCTIONS


def _aggregate_calls(node: Node) -> list[Node]:
    orders = [modifier for modifier in node.get("modifiers") or [] if modifier.get("type") == "ORDER_MODIFIER"]
    clauses = [node.get("select_list"), node.get("having"), orders]
    return [expression for expression in sqlast.level_expressions(clauses) if is_aggregate_call(expression)]


# --- GROUP BY and alias resolution -----------------------------------------------------------------------------------


class _Aliases:
    """Select-list aliases that GROUP BY and WHERE may name, resolved the way DuckDB does: a column of the FROM
    wins over an alias of the same name."""

    def __init__(self, items: list[Node], from_columns: Callable[[], set[str]]) -> None:
        self.targets = {
            item["alias"].lower(): sqlast.without_alias(item) for item in reversed(items) if item.get("alias")
        }
        self._from_columns = from_columns
        self._columns: set[str] | None = None

    def target(self, node: Node) -> Node | None:
        if node.get("class") != "COLUMN_REF" or len(node.get("column_names") or []) != 1:
            return None
        name = node["column_names"][0].lower()
        if name not in self.targets:
            return None
        if self._columns is None:
            self._columns = {column.lower() for column in self._from_columns()}
        return None if name in self._columns else self.targets[name]

    def resolve(self, tree: Any) -> Any:
        """`tree` with alias references replaced by the aliased expressions (subqueries left alone)."""
        if not self.targets or tree is None:
            return tree
        if isinstance(tree, list):
            return [self.resolve(item) for item in tree]
        if not isinstance(tree, dict) or sqlast.is_query_node(tree):
            return tree
        target = self.target(tree) if sqlast.is_expression(tree) else None
        if target is not None:
            return target
        return {key: self.resolve(value) for key, value in tree.items()}


def _resolve_group_by(node: Node, originals: list[Node], aliases: _Aliases) -> None:
    if node.get("aggregate_handling") == "FORCE_AGGREGATES":  # GROUP BY ALL
        groups = [
            item
            for item in originals
            if item.get("class") != "CONSTANT" and not any(map(is_aggregate_call, sqlast.level_expressions(item)))
        ]
        node["group_expressions"] = groups
        node["group_sets"] = [list(range(len(groups)))] if groups else []
        node["aggregate_handling"] = "STANDARD_HANDLING"
        return
    groups = node.get("group_expressions") or []
    for index, group in enumerate(groups):
        position = sqlast.integer_constant(group)
        if position is not None and 1 <= position <= len(originals):
            groups[index] = originals[position - 1]
        else:
            groups[index] = aliases.resolve(group)
