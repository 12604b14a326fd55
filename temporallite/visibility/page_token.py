"""The List/Scan page token, decoded as the real server (SQL visibility)
decodes it: Go's encoding/json into {CloseTime, StartTime time.Time; RunID
string}. A token Go cannot decode fails with Go's error text, which the
frontend masks (see frontend/masking.py); so this module reproduces those
texts: the JSON scanner's syntax errors and time.Parse's RFC 3339 errors.

`null` is no token; an object may lack fields (their zero values are used)
and its keys match the field names case-insensitively, as in Go.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

# The close time a running run's page token carries, and Go's zero time.
RUNNING_TOKEN_TIME = "9999-12-31T23:59:59Z"
_ZERO_TIME = -62135596800 * 1_000_000_000  # 0001-01-01T00:00:00Z
_RFC3339 = "2006-01-02T15:04:05Z07:00"
# The Go type the real server decodes into, as its type errors name it.
_GO_TYPE = "sqlplugin.VisibilityPageToken"


class BadPageToken(ValueError):
    """A token Go cannot decode; the message is Go's error text."""


@dataclass(frozen=True)
class DecodedToken:
    close_time: int  # nanoseconds since the epoch
    start_time: int
    run_id: str


def decode(raw: bytes) -> DecodedToken | None:
    """The token's fields, None for `null`; BadPageToken as Go fails."""
    error = _Scanner(raw).check()
    if error:
        raise BadPageToken(error)
    value = json.loads(raw)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadPageToken(f"json: cannot unmarshal {_kind(value)} into Go value of type {_GO_TYPE}")
    fields: dict[str, Any] = {"closetime": _ZERO_TIME, "starttime": _ZERO_TIME, "runid": ""}
    for key, item in value.items():
        name = key.lower()
        if name not in fields or item is None:
            continue
        if name == "runid":
            if not isinstance(item, str):
                raise BadPageToken(
                    f"json: cannot unmarshal {_kind(item)} into Go struct field"
                    " VisibilityPageToken.RunID of type string"
                )
        else:
            if not isinstance(item, str):
                raise BadPageToken("Time.UnmarshalJSON: input is not a JSON string")
            item = parse_time(item)
        fields[name] = item
    return DecodedToken(fields["closetime"], fields["starttime"], fields["runid"])


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# ---- Go's JSON scanner errors ----------------------------------------------


def _quote_char(c: int) -> str:
    """A byte as Go's scanner quotes it in errors."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    return "'" + _go_quote(chr(c))[1:-1] + "'"


def _go_quote(text: str) -> str:
    """strconv.Quote."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\"\\":
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[ch])
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


class _Eof(Exception):
    pass


class _Invalid(Exception):
    pass


class _Scanner:
    """A recursive reading of JSON that fails where, and as, Go's scanner does."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def check(self) -> str | None:
        try:
            self._value()
            self._ws()
            if self.pos < len(self.data):
                self._fail("after top-level value")
        except _Eof:
            return "unexpected end of JSON input"
        except _Invalid as exc:
            return str(exc)
        return None

    def _peek(self) -> int:
        if self.pos >= len(self.data):
            raise _Eof
        return self.data[self.pos]

    def _fail(self, context: str) -> None:
        # At the end Go's scanner is fed a space: where a character is
        # required, the error names that space.
        c = self.data[self.pos] if self.pos < len(self.data) else 0x20
        raise _Invalid(f"invalid character {_quote_char(c)} {context}")

    def _next_in(self, allowed: bytes) -> bool:
        return self.pos < len(self.data) and self.data[self.pos] in allowed

    def _ws(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos] in b" \t\r\n":
            self.pos += 1

    def _value(self) -> None:
        self._ws()
        c = self._peek()
        if c == ord("{"):
            self._object()
        elif c == ord("["):
            self._array()
        elif c == ord('"'):
            self._string()
        elif c == ord("-") or ord("0") <= c <= ord("9"):
            self._number()
        elif c in b"tfn":
            self._literal({ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}[c])
        else:
            self._fail("looking for beginning of value")

    def _object(self) -> None:
        self.pos += 1
        self._ws()
        if self._peek() == ord("}"):
            self.pos += 1
            return
        while True:
            self._ws()
            if self._peek() != ord('"'):
                self._fail("looking for beginning of object key string")
            self._string()
            self._ws()
            if self._peek() != ord(":"):
                self._fail("after object key")
            self.pos += 1
            self._value()
            self._ws()
            c = self._peek()
            self.pos += 1
            if c == ord("}"):
                return
            if c != ord(","):
                self.pos -= 1
                self._fail("after object key:value pair")

    def _array(self) -> None:
        self.pos += 1
        self._ws()
        if self._peek() == ord("]"):
            self.pos += 1
            return
        while True:
            self._value()
            self._ws()
            c = self._peek()
            self.pos += 1
            if c == ord("]"):
                return
            if c != ord(","):
                self.pos -= 1
                self._fail("after array element")

    def _string(self) -> None:
        self.pos += 1
        while True:
            c = self._peek()
            if c == ord('"'):
                self.pos += 1
                return
            if c < 0x20:
                self._fail("in string literal")
            self.pos += 1
            if c == ord("\\"):
                if not self._next_in(b'"\\/bfnrtu'):
                    self._fail("in string escape code")
                if self._peek() == ord("u"):
                    self.pos += 1
                    for _ in range(4):
                        if not self._next_in(b"0123456789abcdefABCDEF"):
                            self._fail("in \\u hexadecimal character escape")
                        self.pos += 1
                else:
                    self.pos += 1

    def _digits(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos] in b"0123456789":
            self.pos += 1

    def _number(self) -> None:
        if self._peek() == ord("-"):
            self.pos += 1
            if not self._next_in(b"0123456789"):
                self._fail("in numeric literal")
        if self._peek() == ord("0"):
            self.pos += 1
        else:
            self._digits()
        if self.pos < len(self.data) and self.data[self.pos] == ord("."):
            self.pos += 1
            if not self._next_in(b"0123456789"):
                self._fail("after decimal point in numeric literal")
            self._digits()
        if self.pos < len(self.data) and self.data[self.pos] in b"eE":
            self.pos += 1
            if self._next_in(b"+-"):
                self.pos += 1
            if not self._next_in(b"0123456789"):
                self._fail("in exponent of numeric literal")
            self._digits()

    def _literal(self, word: bytes) -> None:
        self.pos += 1
        for expected in word[1:]:
            if not self._next_in(bytes([expected])):
                self._fail(f"in literal {word.decode()} (expecting {_quote_char(expected)})")
            self.pos += 1


# ---- Go's time.Parse(time.RFC3339) -----------------------------------------


def parse_time(value: str) -> int:
    """A token time as Go's time.Parse(time.RFC3339) reads it (a one-digit
    hour and a comma before the fraction pass, as they do on the real
    server): nanoseconds since the epoch; BadPageToken with Go's error."""
    prefix = f"parsing time {_go_quote(value)}"

    def cannot(rest: str, elem: str) -> BadPageToken:
        return BadPageToken(
            f"{prefix} as {_go_quote(_RFC3339)}: cannot parse {_go_quote(rest)} as {_go_quote(elem)}"
        )

    def out_of_range(what: str) -> BadPageToken:
        return BadPageToken(f"{prefix}: {what} out of range")

    rest = value
    if len(rest) < 4 or not all(_is_digit(ch) for ch in rest[:4]):
        raise cannot(rest, "2006")
    numbers, rest = [int(rest[:4])], rest[4:]
    for sep, elem, fixed, name, low, high in (
        ("-", "01", True, "month", 1, 12), ("-", "02", True, "", 0, 99),
        ("T", "15", False, "hour", 0, 23), (":", "04", True, "minute", 0, 59),
        (":", "05", True, "second", 0, 59),
    ):
        if not rest.startswith(sep):
            raise cannot(rest, sep)
        rest = rest[1:]
        number = _getnum(rest, fixed)
        if number is None:
            raise cannot(rest, elem)
        rest = rest[2 if len(rest) > 1 and _is_digit(rest[1]) else 1:]
        if not low <= number <= high:
            raise out_of_range(name)
        numbers.append(number)
    nanos = 0
    if len(rest) >= 2 and rest[0] in ".," and _is_digit(rest[1]):
        n = 2
        while n < len(rest) and _is_digit(rest[n]):
            n += 1
        nanos, rest = int((rest[1:n] + "000000000")[:9]), rest[n:]
    offset = 0
    if rest.startswith("Z"):
        rest = rest[1:]
    else:
        hours = _getnum(rest[1:3], True) if len(rest) >= 6 and rest[3] == ":" else None
        minutes = _getnum(rest[4:6], True) if hours is not None else None
        if hours is None or minutes is None or rest[0] not in "+-":
            raise cannot(rest, "Z07:00")
        if hours > 24:
            raise out_of_range("time zone offset hour")
        if minutes > 60:
            raise out_of_range("time zone offset minute")
        offset = (hours * 3600 + minutes * 60) * (1 if rest[0] == "+" else -1)
        rest = rest[6:]
    if rest:
        raise BadPageToken(f"{prefix}: extra text: {_go_quote(rest)}")
    year, month, day, hour, minute, second = numbers
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise out_of_range("day")
    days = (date(year, month, day) - date(1970, 1, 1)).days
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
    return seconds * 1_000_000_000 + nanos


def _is_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _getnum(text: str, fixed: bool) -> int | None:
    if not text or not _is_digit(text[0]):
        return None
    if len(text) < 2 or not _is_digit(text[1]):
        return None if fixed else int(text[0])
    return int(text[:2])
