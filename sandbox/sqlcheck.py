"""What sandbox SQL may say, checked on DuckDB's own parse tree (never on the SQL text).

Rules, each refused with a stable `QueryRefused.code`:
- one statement (`several_statements`), and it is a SELECT (`not_select`: COPY, ATTACH, INSTALL/LOAD, SET/RESET,
  PRAGMA, CALL, CREATE/DROP/INSERT/..., EXPORT, EXPLAIN, and DESCRIBE/SHOW/SUMMARIZE); text DuckDB cannot parse is
  `syntax`.
- the only table is the dataset view (`data`) and the query's own CTEs (`forbidden_table`: other names, schema- or
  catalog-qualified names, file paths, table functions such as read_csv, glob or range); a CTE may not be called
  `data` nor start with `__`.
- only allow-listed functions (`forbidden_function`, see sandbox/sqlfunctions.py); a function may not be qualified
  (`x.upper()` method syntax names a column as if it were a schema, so it is refused too).
- a hidden column named anywhere (`hidden_column`; checked first, so it is the reason given).
- an aggregate-only column may only be the bare argument of count/sum/avg/mean/median/stddev*/var*/variance (DISTINCT
  only with count; no ORDER BY inside the call) in the select list, HAVING or ORDER BY of the outermost SELECT, and
  that SELECT must read `data` directly (no join, no subquery in FROM): anywhere else, including inside an
  expression such as sum(salary * 2) or sum(CASE ... salary ...), it is `aggregate_only`. In such a query the
  whole row cannot be reached either: no `*`/COLUMNS(...) in its own clauses, no bare reference to the table alias
  (a row as a struct).
- aggregates, GROUP BY and HAVING only in the outermost SELECT (`nested_aggregate`): group sizes must be known to
  disclosure control. Set operations (UNION, ...) count as nested. An aggregate in WHERE, GROUP BY or a join
  condition is `syntax`.
- `too_complex`: constructs disclosure control cannot reason about: PIVOT/UNPIVOT, SAMPLE, GROUPING SETS/ROLLUP/CUBE,
  NATURAL joins, prepared parameters, #n positional references, time travel (AT), and in an aggregating outermost
  SELECT: FILTER clauses, window functions, QUALIFY, DISTINCT, `*`, more than 16 AND-ed WHERE conditions; and a
  tree that does not render back to the same SQL (checked by the engine before running it).

Column names are compared case-insensitively, as DuckDB does. A column of the same name in a CTE or subquery is
treated like the dataset's column (refused rather than guessed about).

Views: every reference to `data` is later pointed at a view that holds only the visible and masked columns, except
the FROM of an outermost SELECT that aggregates aggregate-only columns (`Analysis.direct_reference`), which reads the
view that also holds them. So `*`, COLUMNS(...) and row structs inside subqueries and CTEs cannot reach them at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
from django.utils.translation import gettext as _

from sandbox import sqlast
from sandbox.sqlast import Node
from sandbox.sqlfunctions import AGGREGATE_FUNCTIONS, SAFE_AGGREGATES, SCALAR_FUNCTIONS, WINDOW_FUNCTIONS

MAX_SQL_LENGTH = 100_000
MAX_CONJUNCTS = 16
_OUTER_AGGREGATE_CLAUSES = frozenset({"select", "having", "order"})
_PLAIN_CLASSES = frozenset({"CONSTANT", "CASE", "CAST", "COMPARISON", "CONJUNCTION", "OPERATOR", "BETWEEN", "COLLATE"})


class QueryRefused(Exception):
    """The query was not run: `code` is stable (see the module docstring), `message` says why, in the user's
    language."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass
class Analysis:
    """What the check found out about a query, for the rewrite and the engine."""

    statement: Node
    aggregated: bool
    data_references: list[Node] = field(default_factory=list)
    direct_reference: Node | None = None  # the outermost FROM when it reads aggregate-only columns

    @property
    def view_references(self) -> int:
        return len(self.data_references)


# --- parsing -------------------------------------------------------------------------------------------------------


def parse(connection: duckdb.DuckDBPyConnection, sql: str) -> Node:
    """The parse tree of the single SELECT statement in `sql`, or QueryRefused."""
    if len(sql) > MAX_SQL_LENGTH:
        raise QueryRefused("too_complex", _("The query is too long."))
    try:
        statements = connection.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused("syntax", first_line(str(exc))) from exc
    if not statements:
        raise QueryRefused("syntax", _("The query is empty."))
    if len(statements) > 1:
        raise QueryRefused("several_statements", _("Send one SELECT statement at a time."))
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        kind = statement.type.name
        raise QueryRefused(
            "not_select", _("Only SELECT queries can run in the sandbox (this is %(kind)s).") % {"kind": kind}
        )
    try:
        return sqlast.serialize(connection, statement.query)
    except sqlast.TreeError as exc:
        raise QueryRefused(
            "not_select", _("Only SELECT queries can run in the sandbox: %(reason)s") % {"reason": first_line(str(exc))}
        ) from exc


def first_line(message: str) -> str:
    return message.strip().split("\n", 1)[0][:500]


# --- checking ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    outer: bool  # in the outermost SELECT's own clauses (not in a subquery)
    clause: str  # select, where, group, having, order, from, join, limit, qualify, distinct, other
    in_aggregate: bool = False


def check(
    statement: Node,
    *,
    view_name: str,
    aggregate_only: frozenset[str] | set[str],
    hidden: frozenset[str] | set[str],
) -> Analysis:
    """Check a parse tree from `parse` against the rules; QueryRefused when one is broken."""
    checker = _Checker(
        view_name=view_name.lower(),
        aggregate_only={name.lower() for name in aggregate_only},
        hidden={name.lower() for name in hidden},
    )
    try:
        return checker.run(statement)
    except RecursionError as exc:
        raise QueryRefused("too_complex", _("The query is nested too deeply.")) from exc


class _Checker:
    def __init__(self, *, view_name: str, aggregate_only: set[str], hidden: set[str]) -> None:
        self.view_name = view_name
        self.aggregate_only = aggregate_only
        self.hidden = hidden
        self.cte_names: set[str] = set()
        self.data_references: list[Node] = []
        self.aggregated = False
        self.direct_alias: str | None = None  # set when the outermost FROM reads aggregate-only columns

    def run(self, statement: Node) -> Analysis:
        if statement.get("named_param_map"):
            raise QueryRefused("too_complex", _("Prepared-statement parameters ($1, ?) are not supported."))
        root = statement["node"]
        self._refuse_hidden(root)
        self._collect_cte_names(root)
        self.aggregated = root.get("type") == "SELECT_NODE" and aggregates(root)
        direct = self._direct_reference(root) if self.aggregated else None
        self._query(root, outer=True)
        return Analysis(statement, self.aggregated, self.data_references, direct)

    # names and modes

    def _refuse_hidden(self, tree: Any) -> None:
        """A hidden column named anywhere is the reason given, whatever else is wrong with the query."""
        if isinstance(tree, list):
            for item in tree:
                self._refuse_hidden(item)
        elif isinstance(tree, dict):
            if tree.get("class") == "COLUMN_REF":
                self._check_hidden(tree)
            elif tree.get("class") == "STAR":
                self._check_star_names(tree)
            elif sqlast.is_table_ref(tree) and tree.get("type") == "JOIN":
                self._check_hidden({"column_names": tree.get("using_columns") or []})
            for value in tree.values():
                self._refuse_hidden(value)

    def _collect_cte_names(self, tree: Any) -> None:
        if isinstance(tree, list):
            for item in tree:
                self._collect_cte_names(item)
        elif isinstance(tree, dict):
            for entry in (tree.get("cte_map") or {}).get("map") or []:
                name = str(entry["key"]).lower()
                if name == self.view_name or name.startswith("__"):
                    raise QueryRefused(
                        "forbidden_table", _("A CTE cannot be called %(name)s.") % {"name": entry["key"]}
                    )
                self.cte_names.add(name)
            for value in tree.values():
                self._collect_cte_names(value)

    def _direct_reference(self, root: Node) -> Node | None:
        """The outermost FROM, when the outermost SELECT aggregates an aggregate-only column (else None)."""
        clauses = [root.get("select_list"), root.get("having"), _order_expressions(root)]
        uses = [name for expression in sqlast.level_expressions(clauses) if (name := self._safe_use(expression))]
        if not uses:
            return None
        source = root.get("from_table") or {}
        if not (source.get("type") == "BASE_TABLE" and self._is_dataset(source)):
            raise QueryRefused(
                "aggregate_only",
                _(
                    "%(column)s can only be aggregated directly FROM %(view)s: no join and no subquery in that "
                    "FROM (filter with WHERE instead)."
                )
                % {"column": uses[0], "view": self.view_name},
            )
        self.direct_alias = (source.get("alias") or self.view_name).lower()
        return source

    def _safe_use(self, expression: Node) -> str | None:
        """The aggregate-only column this expression aggregates safely (a safe aggregate's bare argument), if any."""
        if expression.get("class") != "FUNCTION" or expression.get("function_name", "").lower() not in SAFE_AGGREGATES:
            return None
        for argument in expression.get("arguments") or []:
            column = self._aggregate_only_name(argument.get("expression") or {})
            if column:
                return column
        return None

    def _aggregate_only_name(self, node: Node) -> str | None:
        if node.get("class") != "COLUMN_REF":
            return None
        return next((part for part in node.get("column_names", []) if part.lower() in self.aggregate_only), None)

    def _is_dataset(self, ref: Node) -> bool:
        return (
            str(ref.get("table_name", "")).lower() == self.view_name
            and not ref.get("schema_name")
            and not ref.get("catalog_name")
        )

    # query nodes

    def _query(self, node: Node, *, outer: bool) -> None:
        kind = node.get("type")
        if kind == "SELECT_NODE":
            self._select(node, outer=outer)
        elif kind == "SET_OPERATION_NODE":
            self._visit(node.get("cte_map"), _Context(False, "other"))
            for child in node.get("children") or [node.get("left"), node.get("right")]:
                if child:
                    self._query(child, outer=False)
            self._modifiers(node, _Context(False, "order"))
        elif kind == "RECURSIVE_CTE_NODE":
            self._visit(node.get("cte_map"), _Context(False, "other"))
            self._query(node["left"], outer=False)
            self._query(node["right"], outer=False)
            self._visit(node.get("key_targets"), _Context(False, "other"))
        else:
            raise QueryRefused("too_complex", _("This kind of query is not supported (%(kind)s).") % {"kind": kind})

    def _select(self, node: Node, *, outer: bool) -> None:
        aggregated_outer = outer and self.aggregated
        if not outer and aggregates(node):
            raise QueryRefused(
                "nested_aggregate",
                _(
                    "Aggregate (GROUP BY, count, sum, ...) in the outermost SELECT only, not in a subquery or CTE: "
                    "disclosure control must know the size of every group."
                ),
            )
        if node.get("sample"):
            raise QueryRefused("too_complex", _("USING SAMPLE / TABLESAMPLE is not supported."))
        if len(node.get("group_sets") or []) > 1:
            raise QueryRefused("too_complex", _("GROUPING SETS, ROLLUP and CUBE are not supported."))
        if aggregated_outer and node.get("qualify"):
            raise QueryRefused("too_complex", _("QUALIFY cannot be combined with aggregation."))
        self._visit(node.get("cte_map"), _Context(False, "other"))
        self._table(node.get("from_table") or {}, _Context(outer, "from"))
        for key, clause in (("select_list", "select"), ("where_clause", "where"), ("group_expressions", "group"),
                            ("having", "having"), ("qualify", "qualify")):  # fmt: skip
            self._visit(node.get(key), _Context(outer, clause))
        self._modifiers(node, _Context(outer, "order"), aggregated=aggregated_outer)
        if aggregated_outer:
            conjunct_count = len(sqlast.conjuncts(node.get("where_clause")))
            if conjunct_count > MAX_CONJUNCTS:
                raise QueryRefused(
                    "too_complex",
                    _("At most %(count)d conditions joined by AND in the WHERE of an aggregating query.")
                    % {"count": MAX_CONJUNCTS},
                )

    def _modifiers(self, node: Node, context: _Context, *, aggregated: bool = False) -> None:
        for modifier in node.get("modifiers") or []:
            kind = modifier.get("type")
            if kind == "ORDER_MODIFIER":
                for order in modifier.get("orders") or []:
                    expression = order.get("expression") or {}
                    if not is_order_by_all(expression):
                        self._visit(expression, context)
            elif kind in ("LIMIT_MODIFIER", "LIMIT_PERCENT_MODIFIER"):
                self._visit(modifier, _Context(context.outer, "limit"))
            elif kind == "DISTINCT_MODIFIER":
                if aggregated:
                    raise QueryRefused("too_complex", _("DISTINCT cannot be combined with aggregation; GROUP BY."))
                self._visit(modifier, _Context(context.outer, "distinct"))
            else:
                raise QueryRefused("too_complex", _("This clause is not supported (%(kind)s).") % {"kind": kind})

    # table references

    def _table(self, ref: Node, context: _Context) -> None:
        kind = ref.get("type")
        if ref.get("sample"):
            raise QueryRefused("too_complex", _("USING SAMPLE / TABLESAMPLE is not supported."))
        if kind == "BASE_TABLE":
            self._base_table(ref)
        elif kind == "JOIN":
            self._join(ref, context)
        elif kind == "SUBQUERY":
            self._query(ref["subquery"]["node"], outer=False)
        elif kind == "EXPRESSION_LIST":
            self._visit(ref.get("values"), context)
        elif kind == "EMPTY":
            return
        elif kind == "TABLE_FUNCTION":
            name = (ref.get("function") or {}).get("function_name", "?")
            raise QueryRefused(
                "forbidden_table",
                _("Table functions such as %(name)s() are not allowed; query %(view)s.")
                % {"name": name, "view": self.view_name},
            )
        elif kind == "SHOW_REF":
            raise QueryRefused("not_select", _("DESCRIBE, SHOW and SUMMARIZE are not available in the sandbox."))
        elif kind == "PIVOT":
            raise QueryRefused("too_complex", _("PIVOT and UNPIVOT are not supported."))
        else:
            raise QueryRefused("too_complex", _("This kind of FROM is not supported (%(kind)s).") % {"kind": kind})

    def _join(self, ref: Node, context: _Context) -> None:
        if ref.get("ref_type") == "NATURAL":
            raise QueryRefused("too_complex", _("NATURAL joins are not supported; join ON or USING columns."))
        self._table(ref["left"], context)
        self._table(ref["right"], context)
        condition = _Context(context.outer, "join")
        for name in ref.get("using_columns") or []:
            self._column_names([name], condition)
        for key, value in ref.items():
            if key not in ("left", "right", "type", "using_columns"):
                self._visit(value, condition)

    def _base_table(self, ref: Node) -> None:
        if ref.get("at_clause"):
            raise QueryRefused("too_complex", _("AT (time travel) is not supported."))
        name = str(ref.get("table_name", ""))
        if self._is_dataset(ref):
            self.data_references.append(ref)
        elif name.lower() in self.cte_names and not ref.get("schema_name") and not ref.get("catalog_name"):
            return
        else:
            raise QueryRefused(
                "forbidden_table",
                _("Only %(view)s (and your own CTEs) can be queried, not %(name)s.")
                % {
                    "view": self.view_name,
                    "name": ".".join(filter(None, [ref.get("catalog_name"), ref.get("schema_name"), name])),
                },
            )

    # expressions

    def _visit(self, value: Any, context: _Context) -> None:
        if isinstance(value, list):
            for item in value:
                self._visit(item, context)
        elif isinstance(value, dict):
            if sqlast.is_expression(value):
                self._expression(value, context)
            elif sqlast.is_query_node(value):
                self._query(value, outer=False)
            elif sqlast.is_table_ref(value):
                self._table(value, context)
            else:
                for item in value.values():
                    self._visit(item, context)

    def _expression(self, node: Node, context: _Context) -> None:
        kind = node["class"]
        if kind == "COLUMN_REF":
            self._column_names(node.get("column_names") or [], context)
        elif kind == "FUNCTION":
            self._function(node, context)
        elif kind == "WINDOW":
            self._window(node, context)
        elif kind == "STAR":
            self._star(node, context)
            self._children(node, context)
        elif kind == "SUBQUERY":
            self._visit(node.get("child"), context)
            self._query(node["subquery"]["node"], outer=False)
        elif kind == "LAMBDA":
            self._visit(node.get("expr"), context)
        elif kind in _PLAIN_CLASSES:
            self._children(node, context)
        elif kind == "TYPE":
            return
        elif kind == "POSITIONAL_REFERENCE":
            raise QueryRefused("too_complex", _("#n positional references are not supported; name the column."))
        elif kind == "PARAMETER":
            raise QueryRefused("too_complex", _("Prepared-statement parameters ($1, ?) are not supported."))
        else:
            raise QueryRefused("too_complex", _("This expression is not supported (%(kind)s).") % {"kind": kind})

    def _children(self, node: Node, context: _Context) -> None:
        for key, value in node.items():
            if key not in ("class", "type", "alias"):
                self._visit(value, context)

    def _column_names(self, names: list[str], context: _Context) -> None:
        lowered = [str(name).lower() for name in names]
        for name, low in zip(names, lowered, strict=True):
            if low in self.aggregate_only:
                raise QueryRefused(
                    "aggregate_only",
                    _(
                        "The column %(column)s can only be used as the direct argument of count, sum, avg, median, "
                        "stddev or variance in the outermost SELECT (for example sum(%(column)s) ... GROUP BY ...); "
                        "its row-level values are not available."
                    )
                    % {"column": name},
                )
        if self.direct_alias and len(lowered) == 1 and lowered[0] in (self.direct_alias, self.view_name):
            raise QueryRefused(
                "aggregate_only",
                _("A whole row (%(name)s) cannot be used in a query that aggregates aggregate-only columns.")
                % {"name": names[0]},
            )

    def _star(self, node: Node, context: _Context) -> None:
        relation = str(node.get("relation_name") or "").lower()
        if context.outer and self.aggregated:
            raise QueryRefused(
                "too_complex", _("List the columns instead of * or COLUMNS(...) in a query that aggregates.")
            )
        if self.direct_alias and relation in (self.direct_alias, self.view_name):
            raise QueryRefused(
                "aggregate_only",
                _("%(name)s.* cannot be used in a query that aggregates aggregate-only columns.") % {"name": relation},
            )

    def _function(self, node: Node, context: _Context) -> None:
        name = str(node.get("function_name", "")).lower()
        if node.get("schema") or node.get("catalog"):
            raise QueryRefused(
                "forbidden_function",
                _("Call functions by their plain name (%(name)s(...)), not qualified or as x.%(name)s().")
                % {"name": name},
            )
        if name in AGGREGATE_FUNCTIONS:
            self._aggregate(node, name, context)
        elif name in SCALAR_FUNCTIONS:
            self._children(node, context)
        else:
            raise QueryRefused(
                "forbidden_function", _("The function %(name)s is not available in the sandbox.") % {"name": name}
            )

    def _aggregate(self, node: Node, name: str, context: _Context) -> None:
        if not context.outer:
            raise QueryRefused(
                "nested_aggregate",
                _(
                    "Aggregate (GROUP BY, count, sum, ...) in the outermost SELECT only, not in a subquery or CTE: "
                    "disclosure control must know the size of every group."
                ),
            )
        if context.clause not in _OUTER_AGGREGATE_CLAUSES or context.in_aggregate:
            raise QueryRefused(
                "syntax",
                _("Aggregates belong in the select list, HAVING or ORDER BY (not in %(clause)s).")
                % {"clause": context.clause},
            )
        if node.get("filter"):
            raise QueryRefused(
                "too_complex",
                _("FILTER (WHERE ...) on an aggregate is not supported: put the condition in WHERE or GROUP BY."),
            )
        inner = _Context(context.outer, context.clause, in_aggregate=True)
        safe = name in SAFE_AGGREGATES and not (node.get("distinct") and name != "count") and not _orders(node)
        for argument in node.get("arguments") or []:
            expression = argument.get("expression") or {}
            if safe and self._aggregate_only_name(expression):
                continue
            self._visit(expression, inner)
        self._visit(node.get("order_bys"), inner)

    def _check_star_names(self, star: Node) -> None:
        named = [star.get("exclude_list"), star.get("qualified_exclude_list"), star.get("rename_list")]
        named += [entry.get("key") for entry in star.get("replace_list") or [] if isinstance(entry, dict)]
        self._check_hidden({"column_names": _strings(named)})

    def _check_hidden(self, column: Node) -> None:
        for part in column.get("column_names") or []:
            if str(part).lower() in self.hidden:
                raise QueryRefused(
                    "hidden_column", _("The column %(column)s is hidden by the operator.") % {"column": part}
                )

    def _window(self, node: Node, context: _Context) -> None:
        name = str(node.get("function_name", "")).lower()
        if context.outer and self.aggregated:
            raise QueryRefused(
                "too_complex",
                _("Window functions (OVER ...) cannot be combined with aggregation in the outermost SELECT."),
            )
        if node.get("schema") or node.get("catalog"):
            raise QueryRefused("forbidden_function", _("Call functions by their plain name."))
        if name not in WINDOW_FUNCTIONS and name not in AGGREGATE_FUNCTIONS:
            raise QueryRefused(
                "forbidden_function", _("The function %(name)s is not available in the sandbox.") % {"name": name}
            )
        self._children(node, context)


# --- shared predicates ---------------------------------------------------------------------------------------------


def aggregates(node: Node) -> bool:
    """Whether a SELECT node aggregates: GROUP BY (ALL), HAVING, or an aggregate call in its own clauses."""
    if node.get("group_expressions") or node.get("having") or node.get("aggregate_handling") == "FORCE_AGGREGATES":
        return True
    clauses = [node.get("select_list"), _order_expressions(node)]
    return any(is_aggregate_call(expression) for expression in sqlast.level_expressions(clauses))


def is_aggregate_call(expression: Node) -> bool:
    return (
        expression.get("class") == "FUNCTION"
        and str(expression.get("function_name", "")).lower() in AGGREGATE_FUNCTIONS
    )


def is_order_by_all(expression: Node) -> bool:
    """ORDER BY ALL parses as a bare COLUMNS(*)."""
    return (
        expression.get("class") == "STAR"
        and bool(expression.get("columns"))
        and not expression.get("expr")
        and not expression.get("relation_name")
        and not expression.get("exclude_list")
        and not expression.get("qualified_exclude_list")
        and not expression.get("replace_list")
        and not expression.get("rename_list")
    )


def _order_expressions(node: Node) -> list[Node]:
    return [
        order.get("expression") or {}
        for modifier in node.get("modifiers") or []
        if modifier.get("type") == "ORDER_MODIFIER"
        for order in modifier.get("orders") or []
        if not is_order_by_all(order.get("expression") or {})
    ]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _orders(function: Node) -> list:
    return (function.get("order_bys") or {}).get("orders") or []
