"""The List/Count filter language, converted into parameterised SQL.

The query is parsed as the real server parses it (parser.py); the WHERE,
GROUP BY and ORDER BY clauses are then checked in the real server's order,
with its messages, and turned into a WHERE fragment over the visibility
table. Values never reach SQL as text: every literal is a `?` parameter.
"""

from __future__ import annotations

from typing import Any

from temporallite.visibility import search_attributes as sa
from temporallite.visibility.filter import NAMESPACE_DIVISION, Filter
from temporallite.visibility.parser import (
    BoolVal,
    ColName,
    ComparisonExpr,
    Compound,
    IsExpr,
    Node,
    QueryError,
    RangeCond,
    SQLVal,
    UnaryExpr,
    ValTuple,
    parse,
)
from temporallite.visibility.search_attributes import (
    BOOL,
    DATETIME,
    DOUBLE,
    INT,
    KEYWORD,
    KEYWORD_LIST,
    TEXT,
    Attribute,
    NamespaceSearchAttributes,
    UnknownAttribute,
)

NOT_SUPPORTED = "operation is not supported"
INVALID_EXPRESSION = "invalid expression"


# ---------------------------------------------------------------------------
# conversion to SQL

GROUP_BY_ALLOWED = ("ExecutionStatus", "TemporalNamespaceDivision")
KEYWORD_OPERATORS = {"=", "!=", "<", ">", "<=", ">=", "in", "not in", "starts_with",
                     "not starts_with"}
COMPARISON_OPERATORS = {"=", "!=", "<", ">", "<=", ">=", "in", "not in"}
KEYWORD_LIST_OPERATORS = {"=", "!=", "in", "not in"}
TEXT_OPERATORS = {"=", "!="}
RANGE_TYPES = {DATETIME, DOUBLE, INT, KEYWORD}
LIKE_ESCAPE = "!"


def _type_name(node: Node) -> str:
    return f"*sqlparser.{node.kind}"


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _go_repr(value: Any) -> str:
    """Go's %#v of a parsed query value."""
    if isinstance(value, str):
        return _go_quote(value)
    return sa.go_format(value)


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "string"


def _node_text(node: Node) -> str:
    """sqlparser.String of a value node, for messages."""
    if isinstance(node, SQLVal):
        if node.type == "str":
            return "'" + node.text.replace("'", "\\'") + "'"
        return node.text
    if isinstance(node, ColName):
        return node.name
    if isinstance(node, BoolVal):
        return "true" if node.value else "false"
    if isinstance(node, UnaryExpr) and node.expr is not None:
        return node.operator + _node_text(node.expr)
    return node.kind


def fts_phrase(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class Converter:
    def __init__(self, attributes: NamespaceSearchAttributes) -> None:
        self.attributes = attributes
        self.params: list[Any] = []
        self.seen_namespace_division = False

    def convert(self, query: str) -> Filter:
        sel = parse(query)
        if sel.limit:
            raise QueryError(f"{NOT_SUPPORTED}: 'LIMIT' clause")
        where = self.where(sel.where) if sel.where is not None else ""
        if len(sel.group_by) > 1:
            raise QueryError(f"{NOT_SUPPORTED}: 'GROUP BY' clause supports only a single field")
        group_by: Attribute | None = None
        for node in sel.group_by:
            group_by = self.column(node)
            if group_by.field not in GROUP_BY_ALLOWED:
                raise QueryError(
                    f"{NOT_SUPPORTED}: 'GROUP BY' clause is not supported for"
                    f" search attribute {group_by.alias}"
                )
        for node in sel.order_by:
            attr = self.column(node)
            if attr.value_type == TEXT:
                raise QueryError(
                    f"{NOT_SUPPORTED}: unable to sort by search attribute type"
                    f" {sa.TYPE_NAMES[attr.value_type]}"
                )
        if sel.order_by:
            # SQL visibility stores reject ORDER BY (after the conversion).
            raise QueryError(f"{NOT_SUPPORTED}: 'ORDER BY' clause")
        if not self.seen_namespace_division:
            division = f"{NAMESPACE_DIVISION} IS NULL"
            where = f"({where}) AND {division}" if where else division
        elif where:
            where = f"({where})"
        return Filter(where, self.params, group_by)

    # -- boolean structure

    def where(self, node: Node) -> str:
        if isinstance(node, Compound):
            if node.kind == "ParenExpr":
                return f"({self.where(node.children[0])})"
            if node.kind == "NotExpr":
                return f"NOT ({self.where(node.children[0])})"
            if node.kind == "AndExpr":
                left, right = (self.where(c) for c in node.children)
                return f"{left} AND {right}"
            if node.kind == "OrExpr":
                left, right = (self.where(c) for c in node.children)
                return f"{left} OR {right}"
            if node.kind == "FuncExpr":
                raise QueryError(f"{NOT_SUPPORTED}: function expression")
        if isinstance(node, ComparisonExpr):
            return self.comparison(node)
        if isinstance(node, RangeCond):
            return self.range(node)
        if isinstance(node, IsExpr):
            return self.is_expr(node)
        if isinstance(node, ColName):
            raise QueryError(f"{INVALID_EXPRESSION}: incomplete expression")
        raise QueryError(f"{NOT_SUPPORTED}: expression of type {_type_name(node)}")

    def column(self, node: Node | None) -> Attribute:
        if not isinstance(node, ColName):
            kind = _type_name(node) if node is not None else "<nil>"
            raise QueryError(f"{INVALID_EXPRESSION}: must be a column name but was {kind}")
        try:
            attr = self.attributes.resolve(node.name)
        except UnknownAttribute:
            raise QueryError(f"invalid search attribute: {node.name}") from None
        if attr.field == NAMESPACE_DIVISION:
            self.seen_namespace_division = True
        return attr

    # -- predicates

    def comparison(self, node: ComparisonExpr) -> str:
        attr = self.column(node.left)
        assert node.right is not None
        value = self.value(node.right, attr)
        op = node.operator
        if attr.value_type == KEYWORD:
            allowed = KEYWORD_OPERATORS
        elif attr.value_type == KEYWORD_LIST:
            allowed = KEYWORD_LIST_OPERATORS
        elif attr.value_type == TEXT:
            allowed = TEXT_OPERATORS
        else:
            allowed = COMPARISON_OPERATORS
        if op not in allowed:
            raise QueryError(
                f"{NOT_SUPPORTED}: operator '{op.upper()}' not supported for"
                f" {sa.TYPE_NAMES[attr.value_type]} type search attribute '{attr.alias}'"
            )
        if attr.value_type == KEYWORD_LIST:
            return self._keyword_list(attr, op, value)
        if attr.value_type == TEXT:
            return self._text(attr, op, value)
        column = attr.column
        if op in ("in", "not in"):
            values = value if isinstance(value, list) else [value]
            self.params.extend(values)
            marks = ", ".join("?" for _ in values)
            return f"{column} {op.upper()} ({marks})"
        if isinstance(value, list):
            raise QueryError(
                f"{INVALID_EXPRESSION}: unexpected value type {_type_name(node.right)}"
            )
        if op in ("starts_with", "not starts_with"):
            if not isinstance(value, str):
                raise QueryError(
                    f"{INVALID_EXPRESSION}: right-hand side of '{op}' must be a literal string"
                )
            escaped = "".join(
                LIKE_ESCAPE + ch if ch in (LIKE_ESCAPE, "%", "_") else ch for ch in value
            )
            self.params.append(escaped + "%")
            like = "LIKE" if op == "starts_with" else "NOT LIKE"
            return f"{column} {like} ? ESCAPE '{LIKE_ESCAPE}'"
        self.params.append(value)
        return f"{column} {op} ?"

    def _keyword_list(self, attr: Attribute, op: str, value: Any) -> str:
        values = value if isinstance(value, list) else [value]
        phrases = " OR ".join(fts_phrase(v) for v in values)
        self.params.append(f"{attr.column}:({phrases})")
        negate = "NOT " if op in ("!=", "not in") else ""
        return (
            f"visibility.rowid {negate}IN (SELECT rowid FROM visibility_fts_keyword_list"
            " WHERE visibility_fts_keyword_list MATCH ?)"
        )

    def _text(self, attr: Attribute, op: str, value: Any) -> str:
        tokens = [t for t in str(value).split(" ") if t]
        phrases = " OR ".join(fts_phrase(t) for t in tokens)
        self.params.append(f"{attr.column}:({phrases})")
        negate = "NOT " if op == "!=" else ""
        return (
            f"visibility.rowid {negate}IN (SELECT rowid FROM visibility_fts_text"
            " WHERE visibility_fts_text MATCH ?)"
        )

    def range(self, node: RangeCond) -> str:
        attr = self.column(node.left)
        if attr.value_type not in RANGE_TYPES:
            raise QueryError(
                f"{INVALID_EXPRESSION}: cannot do range condition on search attribute"
                f" '{attr.alias}' of type {sa.TYPE_NAMES[attr.value_type]}"
            )
        assert node.low is not None and node.high is not None
        low = self.value(node.low, attr)
        high = self.value(node.high, attr)
        self.params.extend([low, high])
        return f"{attr.column} {node.operator.upper()} ? AND ?"

    def is_expr(self, node: IsExpr) -> str:
        attr = self.column(node.expr)
        if node.operator not in ("is null", "is not null"):
            raise QueryError(
                f"{INVALID_EXPRESSION}: 'IS' operator can only be used as 'IS NULL' or 'IS NOT NULL'"
            )
        return f"{attr.column} {node.operator.upper()}"

    # -- values

    def value(self, node: Node, attr: Attribute) -> Any:
        if isinstance(node, SQLVal):
            return self.literal(node, attr)
        if isinstance(node, BoolVal):
            return self.check_type(attr, node.value)
        if isinstance(node, ValTuple):
            return [self.value(item, attr) for item in node.items]
        if isinstance(node, UnaryExpr):
            if node.operator not in ("+", "-"):
                raise QueryError(f"{NOT_SUPPORTED}: unary operator {_go_quote(node.operator)}")
            inner = node.expr
            if not isinstance(inner, SQLVal) or inner.type == "str":
                raise QueryError(
                    f"{INVALID_EXPRESSION}: unary operator not supported in"
                    f" {_go_quote(_node_text(node))}"
                )
            value = self.value(inner, attr)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return -value if node.operator == "-" else value
            raise QueryError(
                f"{INVALID_EXPRESSION}: unary expression {_go_quote(_node_text(node))}"
            )
        if isinstance(node, Compound) and node.kind == "FuncExpr":
            raise QueryError(f"{NOT_SUPPORTED}: nested func")
        if isinstance(node, ColName):
            raise QueryError(
                f"{NOT_SUPPORTED}: column name on the right side of comparison expression"
                f" (did you forget to quote {_go_quote(node.name)}?)"
            )
        raise QueryError(f"{INVALID_EXPRESSION}: unexpected value type {_type_name(node)}")

    def literal(self, node: SQLVal, attr: Attribute) -> Any:
        value: Any
        if node.type == "str":
            value = node.text
        elif node.type == "int":
            try:
                value = int(node.text)
                if not -(2**63) <= value < 2**63:
                    value = float(node.text)
            except ValueError:
                value = float(node.text)
        elif node.type == "float":
            value = float(node.text)
        else:
            raise QueryError(f"{INVALID_EXPRESSION}: unable to parse value {_go_quote(node.text)}")
        if attr.field == "ExecutionStatus":
            return self.execution_status(value)
        if attr.field == "ExecutionDuration":
            return self.execution_duration(value)
        return self.check_type(attr, value)

    def check_type(self, attr: Attribute, value: Any) -> Any:
        tp = attr.value_type
        wrong = QueryError(
            f"{INVALID_EXPRESSION}: invalid value type for search attribute {attr.alias}"
            f" of type {sa.TYPE_NAMES[tp]}: {_go_repr(value)} (type: {_go_type(value)})"
        )
        if tp in (INT, DOUBLE):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise wrong
            return value
        if tp == BOOL:
            if not isinstance(value, bool):
                raise wrong
            return int(value)
        if tp == DATETIME:
            if isinstance(value, bool):
                raise wrong
            if isinstance(value, int):
                nanos = value
            elif isinstance(value, str):
                try:
                    nanos = sa.parse_rfc3339(value)
                except ValueError:
                    raise QueryError(
                        f"{INVALID_EXPRESSION}: unable to parse datetime '{value}'"
                    ) from None
            else:
                raise wrong
            if attr.field in sa.SYSTEM:
                # Run times are integer columns (same order as the real server's text).
                return sa.truncate_micros(nanos)
            return sa.datetime_literal(nanos)
        if tp in (KEYWORD, KEYWORD_LIST):
            if not isinstance(value, str):
                raise wrong
            return value
        if tp == TEXT:
            if not isinstance(value, str):
                raise wrong
            if not value.strip():
                raise QueryError(
                    f"{INVALID_EXPRESSION}: no tokens found filtering on Text type"
                    f" search attribute {attr.alias}"
                )
            return value
        raise QueryError(
            f"{INVALID_EXPRESSION}: unknown search attribute type {sa.TYPE_NAMES.get(tp, tp)}"
            f" for {attr.alias}"
        )

    @staticmethod
    def execution_status(value: Any) -> int:
        if isinstance(value, bool) or isinstance(value, float):
            raise QueryError(
                f"{INVALID_EXPRESSION}: unexpected value type {_go_type(value)}"
                " for search attribute ExecutionStatus"
            )
        if isinstance(value, int):
            if value in sa.STATUS_NAMES:
                return value
            raise QueryError(f"{INVALID_EXPRESSION}: invalid ExecutionStatus value {value}")
        status = sa.STATUS_BY_NAME.get(value)
        if status is None:
            raise QueryError(f"{INVALID_EXPRESSION}: invalid ExecutionStatus value '{value}'")
        return status

    @staticmethod
    def execution_duration(value: Any) -> int:
        if isinstance(value, bool) or isinstance(value, float):
            raise QueryError(
                f"{INVALID_EXPRESSION}: unexpected value type {_go_type(value)}"
                " for search attribute ExecutionDuration"
            )
        if isinstance(value, int):
            return value
        nanos = parse_duration(value)
        if nanos is None:
            raise QueryError(
                f"{INVALID_EXPRESSION}: invalid duration value for search attribute"
                f" ExecutionDuration: {value}"
            )
        return nanos


_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # noqa: RUF001 - the micro sign, as Go accepts it
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}


def parse_duration(text: str) -> int | None:
    """ExecutionDuration values: integer nanoseconds, a Go duration ("1h30m",
    "1.5s", "-2d"), or "hh:mm:ss". None when none of them."""
    try:
        return int(text)
    except ValueError:
        pass
    nanos = _go_duration(text)
    if nanos is not None:
        return nanos
    parts = text.split(":")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        h, m, s = (int(p) for p in parts)
        if m < 60 and s < 60:
            return ((h * 60 + m) * 60 + s) * 1_000_000_000
    return None


def _go_duration(text: str) -> int | None:
    s = text
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        return None
    total = 0.0
    while s:
        i = 0
        while i < len(s) and (s[i].isdigit() or s[i] == "."):
            i += 1
        number = s[:i]
        if not number or number == "." or number.count(".") > 1:
            return None
        s = s[i:]
        j = 0
        while j < len(s) and not (s[j].isdigit() or s[j] == "."):
            j += 1
        unit = s[:j]
        s = s[j:]
        scale = _UNITS.get(unit)
        if scale is None:
            return None
        total += float(number) * scale
    return sign * int(total)


def convert(query: str, attributes: NamespaceSearchAttributes) -> Filter:
    """Convert a List/Count query for a namespace (QueryError when invalid)."""
    return Converter(attributes).convert(query)
