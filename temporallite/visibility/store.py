"""The read side of visibility: List, Count and Scan over the visibility table.

Rows are ordered as the real server's SQL visibility orders them: running
runs first, then by close time, newest first, then by start time, newest
first, then by run id. A page token holds the sort key of the last row
returned (the real server's JSON token), so later pages continue after it
whatever was inserted meanwhile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from temporallite.persistence.store import Store
from temporallite.visibility import page_token
from temporallite.visibility import search_attributes as sa
from temporallite.visibility.filter import Filter
from temporallite.visibility.page_token import RUNNING_TOKEN_TIME
from temporallite.visibility.rows import RUNNING_CLOSE_ORDER

# The real server's maximum (and default) page size (frontend.visibilityMaxPageSize).
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class PageToken:
    close_order: int
    start_time: int
    run_id: str

    def encode(self) -> bytes:
        close = (
            RUNNING_TOKEN_TIME
            if self.close_order == RUNNING_CLOSE_ORDER
            else sa.format_rfc3339(self.close_order)
        )
        return json.dumps(
            {"CloseTime": close, "StartTime": sa.format_rfc3339(self.start_time),
             "RunID": self.run_id},
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> PageToken | None:
        """None for a `null` token; BadPageToken (Go's error) as the real server fails."""
        token = page_token.decode(raw)
        if token is None:
            return None
        close = token.close_time
        if close == sa.parse_rfc3339(RUNNING_TOKEN_TIME):
            close = RUNNING_CLOSE_ORDER
        return cls(_clamp(close), _clamp(token.start_time), token.run_id)


def _clamp(nanos: int) -> int:
    """Times out of SQLite's integers (Go's zero time: a token without the
    field) sort before or after every row."""
    return min(max(nanos, -(2**63)), 2**63 - 1)


def page_size(requested: int) -> int:
    return requested if 0 < requested <= MAX_PAGE_SIZE else MAX_PAGE_SIZE


def _where(namespace_id: str, flt: Filter) -> tuple[str, list[Any]]:
    where = "namespace_id = ?"
    if flt.where:
        where += f" AND {flt.where}"
    return where, [namespace_id, *flt.params]


async def list_executions(
    store: Store, namespace_id: str, flt: Filter, size: int, token: bytes
) -> tuple[list[bytes], bytes]:
    """A page of serialized WorkflowExecutionInfo and the next page token
    (empty when the page is not full)."""
    where, params = _where(namespace_id, flt)
    after = PageToken.decode(token) if token else None
    if after is not None:
        where += (
            " AND (close_order < ? OR (close_order = ? AND (start_time < ?"
            " OR (start_time = ? AND run_id > ?))))"
        )
        params += [after.close_order, after.close_order, after.start_time, after.start_time,
                   after.run_id]
    rows = await store.fetch_all(
        f"SELECT info, close_order, start_time, run_id FROM visibility WHERE {where}"
        " ORDER BY close_order DESC, start_time DESC, run_id LIMIT ?",
        *params,
        size,
    )
    next_token = b""
    if len(rows) == size:
        last = rows[-1]
        next_token = PageToken(last[1], last[2], last[3]).encode()
    return [row[0] for row in rows], next_token


async def count_executions(
    store: Store, namespace_id: str, flt: Filter
) -> tuple[int, list[tuple[Any, int]]]:
    """The count and, for GROUP BY, (value, count) per group."""
    where, params = _where(namespace_id, flt)
    if flt.group_by is None:
        row = await store.fetch_one(f"SELECT COUNT(*) FROM visibility WHERE {where}", *params)
        return (row[0] if row else 0), []
    column = flt.group_by.column
    rows = await store.fetch_all(
        f"SELECT {column}, COUNT(*) FROM visibility WHERE {where}"
        f" GROUP BY {column} ORDER BY {column}",
        *params,
    )
    return sum(r[1] for r in rows), [(r[0], r[1]) for r in rows]
