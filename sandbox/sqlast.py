"""DuckDB's parsed SQL tree as JSON: `json_serialize_sql` gives it, `json_deserialize_sql` turns it back into SQL.

Nodes are plain dicts. An expression has a "class" (COLUMN_REF, FUNCTION, ...); a query node a "type" among
QUERY_NODES; a table reference a "type" among TABLE_REFS. Helper expressions are never assembled as SQL strings
around user input: they are parsed from fixed templates whose placeholder column references (`__sbx_*`) are then
replaced by the user's subtrees. Subtrees are shared, not copied (a rewritten tree is only read and dumped to JSON
afterwards), so a rewrite must build new dicts where it changes something rather than edit nodes in place.
"""

import json
import threading
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import duckdb

QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
TABLE_REFS = frozenset(
    {"BASE_TABLE", "JOIN", "SUBQUERY", "TABLE_FUNCTION", "EXPRESSION_LIST", "EMPTY", "PIVOT", "SHOW_REF"}
)
# Keys that do not change what a tree means: where its text was, and whether a function was spelled as an operator.
_COSMETIC_KEYS = frozenset({"query_location", "query_location_length", "is_operator"})
PLACEHOLDER_PREFIX = "__sbx_"

Node = dict[str, Any]


class TreeError(Exception):
    """DuckDB could not parse the text (the message is DuckDB's)."""


def serialize(connection: duckdb.DuckDBPyConnection, sql: str) -> Node:
    """The parsed tree of one SELECT statement (the `statements[0]` object: `node` and `named_param_map`)."""
    text = connection.execute("SELECT json_serialize_sql($sql)", {"sql": sql}).fetchone()[0]
    tree = json.loads(text)
    if tree.get("error"):
        raise TreeError(tree.get("error_message") or tree.get("error_type") or "")
    statements = tree["statements"]
    if len(statements) != 1:
        raise TreeError("expected one statement")
    return statements[0]


def deserialize(connection: duckdb.DuckDBPyConnection, statement: Node) -> str:
    """SQL text for a tree from `serialize` (possibly rewritten)."""
    text = json.dumps({"error": False, "statements": [statement]})
    return connection.execute("SELECT json_deserialize_sql($tree)", {"tree": text}).fetchone()[0]


def meaning(value: Any) -> Any:
    """The tree without its cosmetic keys, for comparing two trees."""
    if isinstance(value, dict):
        return {key: meaning(item) for key, item in value.items() if key not in _COSMETIC_KEYS}
    if isinstance(value, list):
        return [meaning(item) for item in value]
    return value


_template_lock = threading.Lock()
_template_connection: duckdb.DuckDBPyConnection | None = None


@lru_cache(maxsize=512)
def _template_text(sql: str) -> str:
    # One parser connection per process for the fixed templates (it never sees data or user SQL).
    global _template_connection
    with _template_lock:
        if _template_connection is None:
            _template_connection = duckdb.connect(":memory:", config={"threads": 1})
        return json.dumps(serialize(_template_connection, sql)["node"])


def template_node(sql: str) -> Node:
    """A fresh copy of the query node of a fixed template (parsed once per process)."""
    return json.loads(_template_text(sql))


def template_expression(sql: str, **replacements: Node) -> Node:
    """The single select-list expression of `SELECT <sql>`, its `__sbx_<name>` placeholders replaced."""
    expression = template_node(f"SELECT {sql}")["select_list"][0]
    return replace_placeholders(expression, replacements)


def replace_placeholders(tree: Any, replacements: dict[str, Node]) -> Any:
    """Replace each placeholder column reference `__sbx_<name>` by replacements[name] (not recursing into the
    inserted subtrees, so user subtrees are never searched for placeholders)."""
    if isinstance(tree, list):
        return [replace_placeholders(item, replacements) for item in tree]
    if not isinstance(tree, dict):
        return tree
    name = placeholder_name(tree)
    if name is not None and name in replacements:
        return replacements[name]
    return {key: replace_placeholders(value, replacements) for key, value in tree.items()}


def placeholder_name(node: Node) -> str | None:
    if node.get("class") != "COLUMN_REF":
        return None
    names = node.get("column_names") or []
    if len(names) == 1 and names[0].startswith(PLACEHOLDER_PREFIX):
        return names[0][len(PLACEHOLDER_PREFIX) :]
    return None


def is_expression(value: Any) -> bool:
    return isinstance(value, dict) and "class" in value


def is_query_node(value: Any) -> bool:
    return isinstance(value, dict) and "class" not in value and _kind(value) in QUERY_NODES


def is_table_ref(value: Any) -> bool:
    return isinstance(value, dict) and "class" not in value and _kind(value) in TABLE_REFS


def _kind(node: Node) -> str:
    kind = node.get("type")
    return kind if isinstance(kind, str) else ""


def level_expressions(tree: Any) -> Iterator[Node]:
    """Every expression in `tree` that belongs to the same query level: subqueries are not entered."""
    if isinstance(tree, list):
        for item in tree:
            yield from level_expressions(item)
        return
    if not isinstance(tree, dict) or is_query_node(tree):
        return
    if is_expression(tree):
        yield tree
        if tree["class"] == "SUBQUERY":
            yield from level_expressions(tree.get("child"))
            return
    for value in tree.values():
        yield from level_expressions(value)


def conjuncts(expression: Node | None) -> list[Node]:
    """The operands of a top-level AND (nested ANDs flattened); [expression] when it is not an AND."""
    if expression is None:
        return []
    if expression.get("class") == "CONJUNCTION" and expression.get("type") == "CONJUNCTION_AND":
        return [part for child in expression["children"] for part in conjuncts(child)]
    return [expression]


def conjunction(parts: list[Node]) -> Node:
    """AND of the given expressions, or TRUE when there are none."""
    if not parts:
        return template_expression("true")
    if len(parts) == 1:
        return parts[0]
    names = [f"{PLACEHOLDER_PREFIX}p{index}" for index in range(len(parts))]
    return template_expression(" AND ".join(names), **{f"p{index}": part for index, part in enumerate(parts)})


def integer_constant(node: Node) -> int | None:
    """The value of an integer literal node, else None."""
    if node.get("class") != "CONSTANT":
        return None
    literal = node.get("literal") or {}
    if literal.get("kind") != "INTEGER":
        return None
    try:
        return int(literal.get("text", ""))
    except ValueError:
        return None


def without_alias(node: Node) -> Node:
    return {**node, "alias": ""}
