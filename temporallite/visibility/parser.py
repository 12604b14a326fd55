"""A tokenizer and recursive-descent parser for visibility queries.

The real server parses `select * from table1 where <query>` with a MySQL
grammar (sqlparser). We parse the same text with the subset of that grammar a
visibility query can use, so a syntax error is reported at the same byte
position, near the same token, as the real server reports it. The tree's node
kinds are named after sqlparser's because the real server's messages print
them ("must be a column name but was *sqlparser.SQLVal").
"""

from __future__ import annotations

from dataclasses import dataclass, field

SELECT_PREFIX = "select * from table1 "
MALFORMED = "malformed SQL query"


class QueryError(ValueError):
    """An invalid query; str() is the message after 'invalid query: '."""


# ---------------------------------------------------------------------------
# tokens

KEYWORDS = frozenset(
    """
    accessible add all alter analyze and as asc asensitive auto_increment before begin
    between bigint binary blob both by call cascade case cast change char character
    check collate column commit committed condition constraint continue convert create
    cross current_date current_time current_timestamp current_user cursor database
    databases date datetime day_hour day_microsecond day_minute day_second dec decimal
    declare default delayed delete desc describe deterministic distinct distinctrow div
    double drop duplicate each else elseif enclosed end enum escape escaped exists exit
    explain false fetch float float4 float8 for force foreign from fulltext
    generated get grant group group_concat having high_priority hour_microsecond
    hour_minute hour_second if ignore in index infile inner inout insensitive insert
    int int1 int2 int3 int4 int8 integer interval into is iterate join key keys kill
    last_insert_id leading leave left like limit linear lines load localtime
    localtimestamp lock long longblob longtext loop low_priority match mediumblob
    mediumint mediumtext middleint minute_microsecond minute_second mod modifies
    natural not no_write_to_binlog null numeric offset on optimize optimizer_costs
    option optionally or order out outer outfile partition precision primary procedure
    range read reads real references regexp release rename repeat replace require
    resignal restrict return revoke right rlike schema schemas second_microsecond
    select sensitive separator set share show signal smallint spatial specific sql
    sqlexception sqlstate sqlwarning sql_big_result sql_calc_found_rows
    sql_small_result ssl starting starts_with stored straight_join table terminated
    then tinyblob tinyint tinytext to trailing trigger true undo union unique unlock
    unsigned update usage use using utc_date utc_time utc_timestamp values varbinary
    varchar varcharacter varying virtual when where while with write xor year_month
    zerofill
    """.split()
)

# Single characters that are tokens of their own.
PUNCT = set("(),;.*+-/%^~&|=<>!:")


@dataclass
class Token:
    kind: str  # "id" "kw" "str" "int" "float" "hex" "op" "eof" "error"
    value: str  # identifier text, keyword (lowercase), decoded string, number, operator
    end: int  # byte offset just after the token in the parsed text
    # What sqlparser reports as "near '...'" when this token is unexpected.
    near: str | None = None


_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}


class Tokenizer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        # Byte offset of each character, for positions as sqlparser counts them.
        self._bytes = [0]
        for ch in text:
            self._bytes.append(self._bytes[-1] + len(ch.encode("utf-8")))

    def _byte_end(self, index: int) -> int:
        return self._bytes[index]

    def _peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def _token(self, kind: str, value: str, near: str | None) -> Token:
        return Token(kind, value, self._byte_end(self.pos), near)

    def next(self) -> Token:
        self._skip_space_and_comments()
        text = self.text
        if self.pos >= len(text):
            return self._token("eof", "", None)
        ch = text[self.pos]
        if ch.isalpha() or ch == "_" or ch == "@" or ord(ch) >= 0x80:
            start = self.pos
            while self.pos < len(text) and (
                text[self.pos].isalnum() or text[self.pos] in "_@" or ord(text[self.pos]) >= 0x80
            ):
                self.pos += 1
            word = text[start : self.pos]
            if word.lower() in KEYWORDS:
                return self._token("kw", word.lower(), word.lower())
            return self._token("id", word, word)
        if ch.isdigit() or (ch == "." and self._peek(1).isdigit()):
            return self._number()
        if ch == "`":
            return self._quoted_identifier()
        if ch in "'\"":
            return self._string(ch)
        return self._operator()

    def _skip_space_and_comments(self) -> None:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in " \t\n\r":
                self.pos += 1
            elif ch == "#" or (ch == "-" and self._peek(1) == "-"):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end + 1
            elif ch == "/" and self._peek(1) == "*":
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    return  # left for the parser to reject
                self.pos = end + 2
            else:
                return

    def _number(self) -> Token:
        text, start = self.text, self.pos
        if text[start] == "0" and self._peek(1) in "xX" and self._peek(2).isalnum():
            self.pos += 2
            while self.pos < len(text) and text[self.pos].isalnum():
                self.pos += 1
            word = text[start : self.pos]
            return self._token("hex", word, word)
        kind = "int"
        while self.pos < len(text) and text[self.pos].isdigit():
            self.pos += 1
        if self._peek() == ".":
            kind = "float"
            self.pos += 1
            while self.pos < len(text) and text[self.pos].isdigit():
                self.pos += 1
        if self._peek() in ("e", "E") and (
            self._peek(1).isdigit() or (self._peek(1) in "+-" and self._peek(2).isdigit())
        ):
            kind = "float"
            self.pos += 2
            while self.pos < len(text) and text[self.pos].isdigit():
                self.pos += 1
        word = text[start : self.pos]
        return self._token(kind, word, word)

    def _quoted_identifier(self) -> Token:
        text = self.text
        self.pos += 1
        out: list[str] = []
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "`":
                if self._peek(1) == "`":
                    out.append("`")
                    self.pos += 2
                    continue
                self.pos += 1
                word = "".join(out)
                return self._token("id", word, word)
            out.append(ch)
            self.pos += 1
        return self._token("error", "".join(out), "".join(out))

    def _string(self, quote: str) -> Token:
        text = self.text
        self.pos += 1
        out: list[str] = []
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == quote:
                if self._peek(1) == quote:
                    out.append(quote)
                    self.pos += 2
                    continue
                self.pos += 1
                value = "".join(out)
                return self._token("str", value, value)
            if ch == "\\" and self.pos + 1 < len(text):
                nxt = text[self.pos + 1]
                out.append(_ESCAPES.get(nxt, nxt))
                self.pos += 2
                continue
            out.append(ch)
            self.pos += 1
        return self._token("error", "".join(out), "".join(out))

    def _operator(self) -> Token:
        ch = self._peek()
        two = ch + self._peek(1)
        three = two + self._peek(2)
        for op in ("<=>",):
            if three == op:
                self.pos += 3
                return self._token("op", op, None)
        if two in ("<=", ">=", "!=", "<>", "<<", ">>", "||", "&&", ":="):
            self.pos += 2
            return self._token("op", two, None)
        self.pos += 1
        if ch in PUNCT:
            return self._token("op", ch, None)
        return self._token("error", ch, ch)


# ---------------------------------------------------------------------------
# syntax tree: node kinds named after sqlparser's, because the real server's
# messages print them ("must be a column name but was *sqlparser.SQLVal").


@dataclass
class Node:
    kind: str  # sqlparser type name, e.g. "ColName", "SQLVal", "ComparisonExpr"


@dataclass
class ColName(Node):
    name: str = ""


@dataclass
class SQLVal(Node):
    type: str = ""  # "str" | "int" | "float" | "hex"
    text: str = ""


@dataclass
class BoolVal(Node):
    value: bool = False


@dataclass
class ValTuple(Node):
    items: list[Node] = field(default_factory=list)


@dataclass
class UnaryExpr(Node):
    operator: str = ""
    expr: Node | None = None


@dataclass
class Compound(Node):
    """AndExpr, OrExpr, ParenExpr, NotExpr, BinaryExpr, FuncExpr…"""

    children: list[Node] = field(default_factory=list)
    operator: str = ""


@dataclass
class ComparisonExpr(Node):
    operator: str = ""
    left: Node | None = None
    right: Node | None = None


@dataclass
class RangeCond(Node):
    operator: str = ""  # "between" | "not between"
    left: Node | None = None
    low: Node | None = None
    high: Node | None = None


@dataclass
class IsExpr(Node):
    operator: str = ""  # "is null" | "is not null" | "is true" …
    expr: Node | None = None


@dataclass
class Select:
    where: Node | None = None
    group_by: list[Node] = field(default_factory=list)
    order_by: list[Node] = field(default_factory=list)
    limit: bool = False


class _SyntaxError(Exception):
    def __init__(self, token: Token) -> None:
        where = f"syntax error at position {token.end + 1}"
        if token.near is not None:
            where += f" near '{token.near}'"
        super().__init__(where)


COMPARE_OPS = {"=", "<", ">", "<=", ">=", "!=", "<>", "<=>"}


class Parser:
    """Recursive descent over the subset of the MySQL grammar a visibility
    query can use; anything else is a syntax error at the token where the
    MySQL grammar would have stopped."""

    def __init__(self, text: str) -> None:
        self.tokens = Tokenizer(text)
        self.tok = self.tokens.next()

    # -- helpers

    def _advance(self) -> Token:
        tok = self.tok
        self.tok = self.tokens.next()
        return tok

    def _is_kw(self, *words: str) -> bool:
        return self.tok.kind == "kw" and self.tok.value in words

    def _is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.value in ops

    def _expect_kw(self, word: str) -> None:
        if not self._is_kw(word):
            raise _SyntaxError(self.tok)
        self._advance()

    def _expect_op(self, op: str) -> None:
        if not self._is_op(op):
            raise _SyntaxError(self.tok)
        self._advance()

    # -- statement

    def parse_select(self) -> Select:
        self._expect_kw("select")
        self._expect_op("*")
        self._expect_kw("from")
        if self.tok.kind != "id":
            raise _SyntaxError(self.tok)
        self._advance()
        sel = Select()
        if self._is_kw("where"):
            self._advance()
            sel.where = self.expression()
        if self._is_kw("group"):
            self._advance()
            self._expect_kw("by")
            sel.group_by = self.expression_list()
        if self._is_kw("having"):
            self._advance()
            self.expression()  # accepted and ignored, as by the real server
        if self._is_kw("order"):
            self._advance()
            self._expect_kw("by")
            sel.order_by = [self.order_item()]
            while self._is_op(","):
                self._advance()
                sel.order_by.append(self.order_item())
        if self._is_kw("limit"):
            self._advance()
            sel.limit = True
            self.value_expression()
            if self._is_op(","):
                self._advance()
                self.value_expression()
            elif self._is_kw("offset"):
                self._advance()
                self.value_expression()
        if self._is_op(";"):
            self._advance()
        if self.tok.kind != "eof":
            raise _SyntaxError(self.tok)
        return sel

    def order_item(self) -> Node:
        expr = self.expression()
        if self._is_kw("asc", "desc"):
            self._advance()
        return expr

    def expression_list(self) -> list[Node]:
        items = [self.expression()]
        while self._is_op(","):
            self._advance()
            items.append(self.expression())
        return items

    # -- boolean expressions

    def expression(self) -> Node:
        left = self.and_expression()
        while self._is_kw("or") or self._is_op("||"):
            self._advance()
            left = Compound("OrExpr", [left, self.and_expression()])
        return left

    def and_expression(self) -> Node:
        left = self.not_expression()
        while self._is_kw("and") or self._is_op("&&"):
            self._advance()
            left = Compound("AndExpr", [left, self.not_expression()])
        return left

    def not_expression(self) -> Node:
        if self._is_kw("not"):
            self._advance()
            return Compound("NotExpr", [self.not_expression()])
        return self.is_expression()

    def is_expression(self) -> Node:
        expr = self.condition()
        while self._is_kw("is"):
            self._advance()
            negated = False
            if self._is_kw("not"):
                self._advance()
                negated = True
            if not self._is_kw("null", "true", "false"):
                raise _SyntaxError(self.tok)
            what = self._advance().value
            expr = IsExpr("IsExpr", f"is {'not ' if negated else ''}{what}", expr)
        return expr

    def condition(self) -> Node:
        left = self.value_expression()
        tok = self.tok
        if tok.kind == "op" and tok.value in COMPARE_OPS:
            self._advance()
            op = "!=" if tok.value == "<>" else tok.value
            return ComparisonExpr("ComparisonExpr", op, left, self.value_expression())
        negated = False
        if self._is_kw("not"):
            self._advance()
            negated = True
            if not self._is_kw("in", "between", "like", "regexp", "rlike", "starts_with"):
                raise _SyntaxError(self.tok)
        prefix = "not " if negated else ""
        if self._is_kw("in"):
            self._advance()
            return ComparisonExpr("ComparisonExpr", prefix + "in", left, self.tuple())
        if self._is_kw("between"):
            self._advance()
            low = self.value_expression()
            self._expect_kw("and")
            high = self.value_expression()
            return RangeCond("RangeCond", prefix + "between", left, low, high)
        if self._is_kw("like", "regexp", "rlike", "starts_with"):
            word = self._advance().value
            op = prefix + ("regexp" if word == "rlike" else word)
            right = self.value_expression()
            if word == "like" and self._is_kw("escape"):
                self._advance()
                self.value_expression()
            return ComparisonExpr("ComparisonExpr", op, left, right)
        return left

    def tuple(self) -> Node:
        self._expect_op("(")
        items = [self.value_expression()]
        while self._is_op(","):
            self._advance()
            items.append(self.value_expression())
        self._expect_op(")")
        return ValTuple("ValTuple", items)

    # -- values

    def value_expression(self) -> Node:
        left = self.unary()
        while self._is_op("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>") or self._is_kw(
            "div", "mod"
        ):
            op = self._advance().value
            left = Compound("BinaryExpr", [left, self.unary()], op)
        return left

    def unary(self) -> Node:
        if self._is_op("-", "+", "~", "!"):
            op = self._advance().value
            return UnaryExpr("UnaryExpr", op, self.unary())
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "str":
            self._advance()
            return SQLVal("SQLVal", "str", tok.value)
        if tok.kind in ("int", "float", "hex"):
            self._advance()
            return SQLVal("SQLVal", tok.kind, tok.value)
        if tok.kind == "kw" and tok.value in ("true", "false"):
            self._advance()
            return BoolVal("BoolVal", tok.value == "true")
        if tok.kind == "kw" and tok.value == "null":
            self._advance()
            return Node("NullVal")
        if tok.kind == "id":
            self._advance()
            name = tok.value
            if self._is_op("("):
                return self._function(name)
            while self._is_op("."):
                self._advance()
                if self.tok.kind != "id":
                    raise _SyntaxError(self.tok)
                name += "." + self._advance().value
            return ColName("ColName", name)
        if self._is_op("("):
            self._advance()
            first = self.expression()
            if self._is_op(","):
                items = [first]
                while self._is_op(","):
                    self._advance()
                    items.append(self.value_expression())
                self._expect_op(")")
                return ValTuple("ValTuple", items)
            self._expect_op(")")
            return Compound("ParenExpr", [first])
        raise _SyntaxError(tok)

    def _function(self, name: str) -> Node:
        self._expect_op("(")
        args: list[Node] = []
        if self._is_op("*"):
            self._advance()
        elif not self._is_op(")"):
            args = self.expression_list()
        self._expect_op(")")
        return Compound("FuncExpr", args, name)


def parse(query: str) -> Select:
    """Parse a visibility query the way the real server does (QueryError on bad syntax)."""
    where = query.strip()
    lowered = where.lower()
    if where and not lowered.startswith("order by") and not lowered.startswith("group by"):
        where = "where " + where
    try:
        return Parser(SELECT_PREFIX + where).parse_select()
    except _SyntaxError as exc:
        raise QueryError(f"{MALFORMED}: {exc}") from None
