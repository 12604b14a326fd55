# ruff: noqa: E501  (tables of the real server's messages read best one per line)
"""The visibility query language: parser, conversion to SQL and its results.

Every error message in INVALID was produced by the real server (temporal
server start-dev, server 1.32, SQLite visibility) for the same query, with the
same custom attributes registered.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.enums.v1 import WorkflowExecutionStatus

from temporallite.history.mutable_state import MutableState
from temporallite.persistence.schema import SCHEMA
from temporallite.visibility import search_attributes as sa
from temporallite.visibility.parser import QueryError, parse
from temporallite.visibility.query import convert, parse_duration
from temporallite.visibility.rows import visibility_row

NS_ID = "ns-under-test"
ALIASES = {
    "Keyword01": "CustomKeyword",
    "Int01": "CustomInt",
    "Text01": "CustomText",
    "KeywordList01": "CustomKL",
    "Double01": "CustomDouble",
    "Bool01": "CustomBool",
    "Datetime01": "CustomDatetime",
}
ATTRS = sa.NamespaceSearchAttributes("default", ALIASES)


def error_of(query: str) -> str:
    with pytest.raises(QueryError) as info:
        convert(query, ATTRS)
    return f"invalid query: {info.value}"


# ---------------------------------------------------------------------------
# invalid queries: the real server's messages

INVALID = [
    ("Foo = 'x'", "invalid query: invalid search attribute: Foo"),
    ("WorkflowId = 'x' ORDER BY StartTime", "invalid query: operation is not supported: 'ORDER BY' clause"),
    ("WorkflowId = 'x' order by StartTime desc", "invalid query: operation is not supported: 'ORDER BY' clause"),
    ("ORDER BY StartTime", "invalid query: operation is not supported: 'ORDER BY' clause"),
    ("WorkflowId = 'x' LIMIT 10", "invalid query: operation is not supported: 'LIMIT' clause"),
    ("WorkflowId LIKE 'x%'", "invalid query: operation is not supported: operator 'LIKE' not supported for Keyword type search attribute 'WorkflowId'"),
    ("WorkflowId = ", "invalid query: malformed SQL query: syntax error at position 40"),
    ("WorkflowId = 'x' AND", "invalid query: malformed SQL query: syntax error at position 48"),
    ("(WorkflowId = 'x'", "invalid query: malformed SQL query: syntax error at position 45"),
    ("WorkflowId = x", 'invalid query: operation is not supported: column name on the right side of comparison expression (did you forget to quote "x"?)'),
    ("WorkflowId = 'x' GROUP BY WorkflowType", "invalid query: operation is not supported: 'GROUP BY' clause is not supported for search attribute WorkflowType"),
    ("StartTime > '2024-01-01'", "invalid query: invalid expression: unable to parse datetime '2024-01-01'"),
    ("StartTime > 'yesterday'", "invalid query: invalid expression: unable to parse datetime 'yesterday'"),
    ("ExecutionStatus = 'running'", "invalid query: invalid expression: invalid ExecutionStatus value 'running'"),
    ("ExecutionStatus = 'RUNNING'", "invalid query: invalid expression: invalid ExecutionStatus value 'RUNNING'"),
    ("ExecutionStatus = 'Bogus'", "invalid query: invalid expression: invalid ExecutionStatus value 'Bogus'"),
    ("ExecutionStatus = 99", "invalid query: invalid expression: invalid ExecutionStatus value 99"),
    ("ExecutionDuration > 'abc'", "invalid query: invalid expression: invalid duration value for search attribute ExecutionDuration: abc"),
    ("ExecutionDuration > 1.5", "invalid query: invalid expression: unexpected value type float64 for search attribute ExecutionDuration"),
    ("HistoryLength > 'abc'", 'invalid query: invalid expression: invalid value type for search attribute HistoryLength of type Int: "abc" (type: string)'),
    ("HistoryLength = '3'", 'invalid query: invalid expression: invalid value type for search attribute HistoryLength of type Int: "3" (type: string)'),
    ("HistoryLength STARTS_WITH '1'", 'invalid query: invalid expression: invalid value type for search attribute HistoryLength of type Int: "1" (type: string)'),
    ("WorkflowId IN ()", "invalid query: malformed SQL query: syntax error at position 44"),
    ("workflowid = 'a'", "invalid query: invalid search attribute: workflowid"),
    ("WORKFLOWID = 'a'", "invalid query: invalid search attribute: WORKFLOWID"),
    ("'a' = WorkflowId", "invalid query: invalid expression: must be a column name but was *sqlparser.SQLVal"),
    ("WorkflowId = WorkflowType", 'invalid query: operation is not supported: column name on the right side of comparison expression (did you forget to quote "WorkflowType"?)'),
    ("BuildIds > 'a'", "invalid query: operation is not supported: operator '>' not supported for KeywordList type search attribute 'BuildIds'"),
    ("BuildIds STARTS_WITH 'un'", "invalid query: operation is not supported: operator 'STARTS_WITH' not supported for KeywordList type search attribute 'BuildIds'"),
    ("CustomText IN ('hello')", "invalid query: operation is not supported: operator 'IN' not supported for Text type search attribute 'CustomText'"),
    ("CustomText STARTS_WITH 'he'", "invalid query: operation is not supported: operator 'STARTS_WITH' not supported for Text type search attribute 'CustomText'"),
    ("CustomText > 'a'", "invalid query: operation is not supported: operator '>' not supported for Text type search attribute 'CustomText'"),
    ("CustomText = ''", "invalid query: invalid expression: no tokens found filtering on Text type search attribute CustomText"),
    ("CustomInt = '7'", 'invalid query: invalid expression: invalid value type for search attribute CustomInt of type Int: "7" (type: string)'),
    ("CustomDouble = '1.5'", 'invalid query: invalid expression: invalid value type for search attribute CustomDouble of type Double: "1.5" (type: string)'),
    ("CustomBool = 'true'", 'invalid query: invalid expression: invalid value type for search attribute CustomBool of type Bool: "true" (type: string)'),
    ("CustomBool = 1", "invalid query: invalid expression: invalid value type for search attribute CustomBool of type Bool: 1 (type: int64)"),
    ("CustomDatetime > '2024-01-01'", "invalid query: invalid expression: unable to parse datetime '2024-01-01'"),
    ("SELECT * FROM x", "invalid query: malformed SQL query: syntax error at position 34 near 'select'"),
    ("WorkflowId = 'a' AND 1 = 1", "invalid query: invalid expression: must be a column name but was *sqlparser.SQLVal"),
    ("1 = 1", "invalid query: invalid expression: must be a column name but was *sqlparser.SQLVal"),
    ("WorkflowId", "invalid query: invalid expression: incomplete expression"),
    ("(WorkflowId)", "invalid query: invalid expression: incomplete expression"),
    ("WorkflowId = 'a' WorkflowType = 'b'", "invalid query: malformed SQL query: syntax error at position 57 near 'WorkflowType'"),
    ("WorkflowId == 'a'", "invalid query: malformed SQL query: syntax error at position 41"),
    ("NamespaceId = 'x'", "invalid query: invalid search attribute: NamespaceId"),
    ("Memo = 'x'", "invalid query: invalid search attribute: Memo"),
    ("WorkflowId = 'a' ORDER BY StartTime LIMIT 1", "invalid query: operation is not supported: 'LIMIT' clause"),
    ("WorkflowId IS 'a'", "invalid query: malformed SQL query: syntax error at position 45 near 'a'"),
    ("WorkflowId = null", "invalid query: invalid expression: unexpected value type *sqlparser.NullVal"),
    ("WorkflowId IN ('a', 1)", "invalid query: invalid expression: invalid value type for search attribute WorkflowId of type Keyword: 1 (type: int64)"),
    ("HistoryLength IN (1, '2')", 'invalid query: invalid expression: invalid value type for search attribute HistoryLength of type Int: "2" (type: string)'),
    ("HistoryLength = 0x10", 'invalid query: invalid expression: unable to parse value "0x10"'),
    ("StartTime = now()", "invalid query: operation is not supported: nested func"),
    ("WorkflowId = 'a' x", "invalid query: malformed SQL query: syntax error at position 46 near 'x'"),
    ("WorkflowId = 'a' AND x", "invalid query: invalid expression: incomplete expression"),
    ("WorkflowId = 'a' AND (x)", "invalid query: invalid expression: incomplete expression"),
    ("WorkflowId = 'a' ORDER BY StartTime GROUP BY ExecutionStatus", "invalid query: malformed SQL query: syntax error at position 69 near 'group'"),
    ("WorkflowId = 'a' GROUP BY ExecutionStatus ORDER BY StartTime", "invalid query: operation is not supported: 'ORDER BY' clause"),
    ("WorkflowId = 'a' GROUP BY ExecutionStatus, WorkflowType", "invalid query: operation is not supported: 'GROUP BY' clause supports only a single field"),
    ("Foo = 'x' ORDER BY StartTime", "invalid query: invalid search attribute: Foo"),
    ("Foo = 'x' AND WorkflowId = 1", "invalid query: invalid search attribute: Foo"),
    ("WorkflowId = 1", "invalid query: invalid expression: invalid value type for search attribute WorkflowId of type Keyword: 1 (type: int64)"),
    ("WorkflowId = 1.5", "invalid query: invalid expression: invalid value type for search attribute WorkflowId of type Keyword: 1.5 (type: float64)"),
    ("WorkflowId = true", "invalid query: invalid expression: invalid value type for search attribute WorkflowId of type Keyword: true (type: bool)"),
    ("WorkflowId STARTS_WITH 1", "invalid query: invalid expression: invalid value type for search attribute WorkflowId of type Keyword: 1 (type: int64)"),
    ("WorkflowId NOT LIKE 'a'", "invalid query: operation is not supported: operator 'NOT LIKE' not supported for Keyword type search attribute 'WorkflowId'"),
    ("WorkflowId REGEXP 'a'", "invalid query: operation is not supported: operator 'REGEXP' not supported for Keyword type search attribute 'WorkflowId'"),
    ("WorkflowId = 'a' XOR WorkflowId = 'b'", "invalid query: malformed SQL query: syntax error at position 48 near 'xor'"),
    ("WorkflowId IS TRUE", "invalid query: invalid expression: 'IS' operator can only be used as 'IS NULL' or 'IS NOT NULL'"),
    ("WorkflowId + 1 = 2", "invalid query: invalid expression: must be a column name but was *sqlparser.BinaryExpr"),
    ("lower(WorkflowId) = 'a'", "invalid query: invalid expression: must be a column name but was *sqlparser.FuncExpr"),
    ("WorkflowId = lower('a')", "invalid query: operation is not supported: nested func"),
    ("ExecutionStatus STARTS_WITH 'Run'", "invalid query: invalid expression: invalid ExecutionStatus value 'Run'"),
    ("StartTime > '2024-01-01 00:00:00'", "invalid query: invalid expression: unable to parse datetime '2024-01-01 00:00:00'"),
    ("StartTime > '2024-01-01T00:00:00'", "invalid query: invalid expression: unable to parse datetime '2024-01-01T00:00:00'"),
    ("StartTime > '2024-01-01T00:00:00z'", "invalid query: invalid expression: unable to parse datetime '2024-01-01T00:00:00z'"),
    ("StartTime > '2024-1-1T00:00:00Z'", "invalid query: invalid expression: unable to parse datetime '2024-1-1T00:00:00Z'"),
    ("StartTime > 2.5", "invalid query: invalid expression: invalid value type for search attribute StartTime of type Datetime: 2.5 (type: float64)"),
    ("StartTime > true", "invalid query: invalid expression: invalid value type for search attribute StartTime of type Datetime: true (type: bool)"),
    ("StartTime STARTS_WITH '2024'", "invalid query: invalid expression: unable to parse datetime '2024'"),
    ("CustomKL = 1", "invalid query: invalid expression: invalid value type for search attribute CustomKL of type KeywordList: 1 (type: int64)"),
    ("CustomKL BETWEEN 'a' AND 'b'", "invalid query: invalid expression: cannot do range condition on search attribute 'CustomKL' of type KeywordList"),
    ("CustomText = 1", "invalid query: invalid expression: invalid value type for search attribute CustomText of type Text: 1 (type: int64)"),
    ("CustomText BETWEEN 'a' AND 'b'", "invalid query: invalid expression: cannot do range condition on search attribute 'CustomText' of type Text"),
    ("CustomKeyword = 1", "invalid query: invalid expression: invalid value type for search attribute CustomKeyword of type Keyword: 1 (type: int64)"),
    ("CustomBool BETWEEN false AND true", "invalid query: invalid expression: cannot do range condition on search attribute 'CustomBool' of type Bool"),
]


@pytest.mark.parametrize(("query", "message"), INVALID, ids=[q for q, _ in INVALID])
def test_invalid_query_message(query: str, message: str) -> None:
    assert error_of(query) == message


# Valid on the real server: every one of these is accepted.
VALID = [
    'WorkflowId = "x"',
    "`WorkflowId` = 'x'",
    "WorkflowId = 'x' GROUP BY ExecutionStatus",
    "GROUP BY ExecutionStatus",
    "StartTime > '2024-01-01T00:00:00Z'",
    "StartTime > '2024-01-01T00:00:00+02:00'",
    "StartTime > '2024-01-01T00:00:00.123456789Z'",
    "StartTime > 1704067200000000000",
    "ExecutionStatus = 'Running'",
    "ExecutionStatus = 1",
    "ExecutionStatus = 'WORKFLOW_EXECUTION_STATUS_RUNNING'",
    "ExecutionStatus = 'ContinuedAsNew'",
    "ExecutionStatus IN ('Running', 'Completed')",
    "ExecutionStatus > 'Running'",
    "ExecutionStatus BETWEEN 1 AND 3",
    "ExecutionStatus IS NULL",
    "ExecutionDuration > '1s'",
    "ExecutionDuration > 1000",
    "ExecutionDuration > '1h2m'",
    "ExecutionDuration > '00:00:01'",
    "ExecutionDuration > '1d'",
    "ExecutionDuration > '-1s'",
    "ExecutionDuration BETWEEN '0s' AND '1h'",
    "ExecutionDuration IN ('1s', 2)",
    "HistoryLength > 3.5",
    "HistoryLength BETWEEN 1 AND 10",
    "HistoryLength NOT BETWEEN 1 AND 10",
    "HistoryLength = -1",
    "HistoryLength = +1",
    "HistoryLength = 1e3",
    "WorkflowId BETWEEN 'a' AND 'z'",
    "WorkflowId STARTS_WITH 'p-'",
    "WorkflowId NOT STARTS_WITH 'p-'",
    "WorkflowId IS NULL",
    "WorkflowId IS NOT NULL",
    "WorkflowId IN ('a', 'b')",
    "WorkflowId NOT IN ('a', 'b')",
    "NOT WorkflowId = 'a'",
    "NOT (WorkflowId = 'a')",
    "WorkflowId = 'a' OR WorkflowId = 'b' AND WorkflowType = 'c'",
    "WorkflowId != 'a'",
    "WorkflowId <> 'a'",
    "WorkflowId = 'a''b'",
    "WorkflowId = 'a\\'b'",
    "WorkflowId = 'a' and WorkflowType = 'b'",
    "WorkflowId = 'a' AND NOT NOT WorkflowType = 'b'",
    "WorkflowId = 'a';",
    "WorkflowId = 'a' -- comment",
    "WorkflowId = 'a' GROUP BY ExecutionStatus HAVING count(*) > 1",
    "BuildIds = 'unversioned'",
    "BuildIds IN ('unversioned')",
    "BuildIds NOT IN ('unversioned')",
    "TemporalChangeVersion = 'my-patch'",
    "CustomText = 'hello'",
    "CustomText != 'hello'",
    "CustomText = '!!!'",
    "CustomKL = 'a'",
    "CustomKL IS NULL",
    "CustomInt > 6.5",
    "CustomDouble = -1.5e2",
    "CustomBool = TRUE",
    "CustomBool IN (true)",
    "CustomDatetime BETWEEN '2024-01-01T00:00:00Z' AND '2024-12-31T00:00:00Z'",
    "CustomDatetime = 1704164645000000000",
    "TemporalSchedulePaused = false",
    "TemporalScheduledById = 'x'",
    "TemporalWorkerDeployment = 'x'",
    "Int01 = 1",
    "Keyword01 = 'x'",
    "ScheduleId = 'x'",
    "TemporalBuildIds = 'x'",
    "",
    "   ",
]


@pytest.mark.parametrize("query", VALID)
def test_valid_query(query: str) -> None:
    convert(query, ATTRS)


# ---------------------------------------------------------------------------
# conversion: SQL shape and parameters


def test_values_are_parameters_never_sql_text() -> None:
    flt = convert("WorkflowId = 'x''; DROP TABLE visibility; --'", ATTRS)
    assert "DROP" not in flt.where
    assert flt.params == ["x'; DROP TABLE visibility; --"]


def test_namespace_division_is_excluded_unless_named() -> None:
    assert convert("", ATTRS).where == "TemporalNamespaceDivision IS NULL"
    assert convert("WorkflowId = 'a'", ATTRS).where == (
        "(workflow_id = ?) AND TemporalNamespaceDivision IS NULL"
    )
    assert "IS NULL" not in convert("TemporalNamespaceDivision = 'x'", ATTRS).where.replace(
        "TemporalNamespaceDivision = ?", ""
    )


def test_alias_maps_to_its_field_column() -> None:
    flt = convert("CustomKeyword = 'a' AND CustomInt >= 3", ATTRS)
    assert flt.where.startswith("(Keyword01 = ? AND Int01 >= ?)")
    assert flt.params == ["a", 3]


def test_execution_status_by_name_or_number() -> None:
    assert convert("ExecutionStatus = 'Completed'", ATTRS).params == [2]
    assert convert("ExecutionStatus = 'WORKFLOW_EXECUTION_STATUS_FAILED'", ATTRS).params == [3]
    assert convert("ExecutionStatus IN (1, 'TimedOut')", ATTRS).params == [1, 7]


def test_datetimes_in_utc_nanoseconds_at_microsecond_precision() -> None:
    flt = convert("StartTime > '2024-01-01T02:00:00.1234567+02:00'", ATTRS)
    assert flt.params == [1704067200_123456000]


def test_starts_with_escapes_like_wildcards() -> None:
    flt = convert("WorkflowId STARTS_WITH 'a%b_c!'", ATTRS)
    assert "LIKE ? ESCAPE '!'" in flt.where
    assert flt.params == ["a!%b!_c!!%"]


def test_group_by() -> None:
    flt = convert("WorkflowType = 'x' GROUP BY ExecutionStatus", ATTRS)
    assert flt.group_by is not None and flt.group_by.column == "status"


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("1s", 1_000_000_000),
        ("1.5s", 1_500_000_000),
        ("1h2m", 3_720_000_000_000),
        ("2d", 172_800_000_000_000),
        ("-1s", -1_000_000_000),
        ("300ms", 300_000_000),
        ("00:01:05", 65_000_000_000),
        ("12345", 12345),
        ("abc", None),
        ("1x", None),
        ("", None),
    ],
)
def test_execution_duration_values(text: str, nanos: int | None) -> None:
    assert parse_duration(text) == nanos


def test_syntax_error_positions_count_bytes() -> None:
    # sqlparser counts bytes: a two-byte character moves the position by two.
    with pytest.raises(QueryError) as info:
        parse("WorkflowId = 'é' x")
    assert str(info.value) == "malformed SQL query: syntax error at position 47 near 'x'"


# ---------------------------------------------------------------------------
# results: rows written by the visibility writer, queried through SQLite


def _payload(value: Any, type_name: str) -> Payload:
    return Payload(
        metadata={"encoding": b"json/plain", "type": type_name.encode()},
        data=json.dumps(value).encode(),
    )


def _run(
    workflow_id: str,
    start: float,
    *,
    close: float = 0.0,
    status: int = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
    attrs: dict[str, Payload] | None = None,
    workflow_type: str = "Order",
) -> MutableState:
    ms = MutableState(
        namespace_id=NS_ID,
        namespace="default",
        workflow_id=workflow_id,
        run_id=f"run-{workflow_id}",
        first_run_id=f"run-{workflow_id}",
        workflow_type=workflow_type,
        task_queue="tq",
        start_time=start,
        execution_time=start,
        start_request_id="r",
        workflow_task_timeout=10.0,
        status=status,
        close_time=close,
        next_event_id=6 if close else 3,
    )
    if attrs:
        ms.search_attributes = SearchAttributes(indexed_fields=attrs).SerializeToString()
    return ms


COMPLETED = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
FAILED = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED
T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    sa.publish(NS_ID, "default", ALIASES)
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    runs = [
        _run("a", T0, close=T0 + 5, status=COMPLETED, attrs={
            "CustomKeyword": _payload("kw1", "Keyword"),
            "CustomInt": _payload(7, "Int"),
            "CustomText": _payload("Hello brave new World", "Text"),
            "CustomKL": _payload(["a", "B c"], "KeywordList"),
            "CustomDouble": _payload(1.5, "Double"),
            "CustomBool": _payload(True, "Bool"),
            "CustomDatetime": _payload("2024-01-02T03:04:05Z", "Datetime"),
        }),
        _run("b", T0 + 1, close=T0 + 2, status=FAILED, attrs={
            "CustomKeyword": _payload("KW2", "Keyword"),
            "CustomInt": _payload(42, "Int"),
            "CustomBool": _payload(False, "Bool"),
        }),
        _run("c", T0 + 2, workflow_type="Invoice"),
        _run("d%_", T0 + 3, attrs={"CustomKL": _payload(["z"], "KeywordList")}),
    ]
    for ms in runs:
        sql, *params = visibility_row(ms)
        conn.execute(sql, params)
    yield conn
    conn.close()


def ids(conn: sqlite3.Connection, query: str) -> list[str]:
    flt = convert(query, sa.for_namespace(NS_ID))
    where = "namespace_id = ?" + (f" AND {flt.where}" if flt.where else "")
    rows = conn.execute(
        f"SELECT workflow_id FROM visibility WHERE {where}"
        " ORDER BY close_order DESC, start_time DESC, run_id",
        [NS_ID, *flt.params],
    ).fetchall()
    return [r[0] for r in rows]


RESULTS = [
    ("", ["d%_", "c", "a", "b"]),  # running (newest start first), then newest close first
    ("ExecutionStatus = 'Running'", ["d%_", "c"]),
    ("ExecutionStatus != 'Running'", ["a", "b"]),
    ("ExecutionStatus = 3", ["b"]),
    ("ExecutionStatus > 'Running'", ["a", "b"]),
    ("CloseTime IS NULL", ["d%_", "c"]),
    ("CloseTime > '2000-01-01T00:00:00Z'", ["a", "b"]),
    ("HistoryLength IS NULL", ["d%_", "c"]),
    ("ExecutionDuration > '2s'", ["a"]),
    ("ExecutionDuration < '2s'", ["b"]),
    ("WorkflowType = 'Invoice'", ["c"]),
    ("WorkflowType != 'Invoice'", ["d%_", "a", "b"]),
    ("WorkflowId IN ('a', 'c')", ["c", "a"]),
    ("WorkflowId NOT IN ('a', 'c')", ["d%_", "b"]),
    ("WorkflowId STARTS_WITH 'd%'", ["d%_"]),
    ("WorkflowId STARTS_WITH 'D'", ["d%_"]),  # LIKE is case-insensitive, as on SQLite
    ("WorkflowId NOT STARTS_WITH 'd'", ["c", "a", "b"]),
    ("WorkflowId BETWEEN 'b' AND 'c'", ["c", "b"]),
    ("WorkflowId > 'b'", ["d%_", "c"]),
    ("StartTime >= '2023-11-14T22:13:21Z'", ["d%_", "c", "b"]),
    ("CustomKeyword = 'kw1'", ["a"]),
    ("CustomKeyword = 'KW1'", []),
    ("CustomKeyword != 'kw1'", ["b"]),  # rows without a value never match !=
    ("CustomKeyword STARTS_WITH 'kw'", ["a", "b"]),
    ("CustomKeyword IS NULL", ["d%_", "c"]),
    ("CustomInt = 7", ["a"]),
    ("CustomInt > 6.5", ["a", "b"]),
    ("CustomInt BETWEEN 8 AND 100", ["b"]),
    ("CustomInt IN (7, 8)", ["a"]),
    ("CustomDouble = 1.5", ["a"]),
    ("CustomDouble > 1", ["a"]),
    ("CustomBool = true", ["a"]),
    ("CustomBool = false", ["b"]),
    ("CustomBool != true", ["b"]),
    # Datetime attributes compare as the real server's text columns do: the
    # stored value always has three fraction digits, the literal none here.
    ("CustomDatetime = '2024-01-02T03:04:05Z'", []),
    ("CustomDatetime > '2024-01-02T03:04:05Z'", ["a"]),
    ("CustomDatetime > '2024-01-02T05:04:04+02:00'", ["a"]),
    ("CustomDatetime < '2024-01-02T03:04:05Z'", []),
    ("CustomDatetime BETWEEN '2024-01-02T00:00:00Z' AND '2024-01-03T00:00:00Z'", ["a"]),
    ("StartTime = '2023-11-14T22:13:20Z'", ["a"]),  # run times compare exactly
    ("CustomText = 'hello'", ["a"]),
    ("CustomText = 'WORLD'", ["a"]),
    ("CustomText = 'world zzz'", ["a"]),  # any word matches
    ("CustomText = 'brav'", []),  # words, not prefixes
    ("CustomText = '!!!'", []),
    ("CustomText != 'zzz'", ["d%_", "c", "a", "b"]),  # includes rows without a value
    ("CustomText != 'hello'", ["d%_", "c", "b"]),
    ("CustomKL = 'a'", ["a"]),
    ("CustomKL = 'A'", ["a"]),  # the full-text match folds case, as the real server's
    ("CustomKL = 'b c'", ["a"]),
    ("CustomKL = 'B'", []),
    ("CustomKL IN ('z', 'zzz')", ["d%_"]),
    ("CustomKL != 'a'", ["d%_", "c", "b"]),
    ("CustomKL NOT IN ('a', 'z')", ["c", "b"]),
    ("CustomKL IS NOT NULL", ["d%_", "a"]),
    ("NOT CustomInt = 7", ["b"]),
    ("WorkflowType = 'Order' AND (CustomInt = 7 OR CustomBool = false)", ["a", "b"]),
    ("WorkflowId = 'c' OR WorkflowId = 'a' AND CustomInt = 42", ["c"]),
    ("(WorkflowId = 'c' OR WorkflowId = 'a') AND CustomInt = 7", ["a"]),
    ("ParentWorkflowId IS NULL", ["d%_", "c", "a", "b"]),
    ("RootWorkflowId = 'c'", ["c"]),
    ("TemporalNamespaceDivision IS NOT NULL", []),
]


@pytest.mark.parametrize(("query", "expected"), RESULTS, ids=[q or "<empty>" for q, _ in RESULTS])
def test_query_results(db: sqlite3.Connection, query: str, expected: list[str]) -> None:
    assert ids(db, query) == expected


# ---------------------------------------------------------------------------
# search attribute values and the custom attribute registry


def test_validate_start_attributes() -> None:
    def message(name: str, payload: Payload) -> str:
        with pytest.raises(sa.SearchAttributeError) as info:
            ATTRS.validate(SearchAttributes(indexed_fields={name: payload}))
        return str(info.value)

    assert message("Nope", _payload("x", "Keyword")) == (
        "Namespace default has no mapping defined for search attribute Nope"
    )
    assert message("WorkflowId", _payload("x", "Keyword")) == (
        "WorkflowId attribute can't be set in SearchAttributes"
    )
    assert message("TemporalWorkerDeployment", _payload("x", "Keyword")) == (
        "TemporalWorkerDeployment attribute can't be set in SearchAttributes"
    )
    assert message("CustomInt", _payload("abc", "Int")) == (
        "invalid value for search attribute CustomInt of type Int: abc"
    )
    assert message("CustomInt", _payload(1.5, "Int")) == (
        "invalid value for search attribute CustomInt of type Int: 1.5"
    )
    assert message("CustomKeyword", _payload(["a", "b"], "Keyword")) == (
        "invalid value for search attribute CustomKeyword of type Keyword: [a b]"
    )
    assert message("CustomKeyword", Payload(metadata={"encoding": b"binary/plain"}, data=b"xx")) == (
        "invalid value for search attribute CustomKeyword of type Keyword: [120 120]"
    )
    assert message("CustomKeyword", _payload("x" * 3000, "Keyword")) == (
        "search attribute CustomKeyword value size 3002 exceeds size limit 2048"
    )
    assert message("Keyword01", _payload("x", "Keyword")) == (
        "Namespace default has no mapping defined for search attribute Keyword01"
    )
    # Accepted: a registered type wins over the payload's type metadata; null clears.
    ATTRS.validate(SearchAttributes(indexed_fields={
        "CustomInt": _payload(12, "Keyword"),
        "CustomDouble": _payload(3, "Double"),
        "CustomKeyword": _payload(None, "Keyword"),
        "TemporalChangeVersion": _payload(["p"], "KeywordList"),
        "BuildIds": _payload(["x"], "KeywordList"),
        "BatcherUser": _payload("u", "Keyword"),
    }))


def test_add_aliases_uses_the_pre_allocated_fields() -> None:
    aliases = sa.add_aliases({}, {"A": sa.INT, "B": sa.INT, "C": sa.INT})
    assert sorted(aliases) == ["Int01", "Int02", "Int03"]
    assert sa.add_aliases(aliases, {"A": sa.KEYWORD}) == aliases  # exists: left as is
    with pytest.raises(sa.SearchAttributeError) as info:
        sa.add_aliases(aliases, {"D": sa.INT})
    assert str(info.value) == (
        "Unable to create search attributes: cannot have more than 3 search attribute of type Int."
    )
    removed = sa.remove_aliases(aliases, ["B", "Unknown"])
    assert sorted(removed.values()) == ["A", "C"]
    assert "D" in sa.add_aliases(removed, {"D": sa.INT}).values()
    with pytest.raises(sa.SearchAttributeError) as info:
        sa.remove_aliases(aliases, ["WorkflowId"])
    assert str(info.value) == "Unable to remove non-custom search attributes: WorkflowId."


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("WorkflowId", "Search attribute WorkflowId is reserved by system."),
        ("TemporalFoo", "Search attribute TemporalFoo is reserved by system."),
        ("Memo", "Search attribute Memo is reserved by system."),
    ],
)
def test_reserved_aliases(name: str, message: str) -> None:
    with pytest.raises(sa.SearchAttributeError) as info:
        sa.validate_new_aliases({name: sa.KEYWORD})
    assert str(info.value) == message


def test_rfc3339() -> None:
    assert sa.parse_rfc3339("1970-01-01T00:00:01Z") == 1_000_000_000
    assert sa.parse_rfc3339("1970-01-01T02:00:00.5+02:00") == 500_000_000
    assert sa.format_rfc3339(1_500_000_000) == "1970-01-01T00:00:01.5Z"
    for bad in ("1970-01-01", "1970-01-01T00:00:00", "1970-01-01T00:00:00z", "1970-13-01T00:00:00Z"):
        with pytest.raises(ValueError):
            sa.parse_rfc3339(bad)


def test_go_number_formatting() -> None:
    assert sa.go_float(12.0) == "12"
    assert sa.go_float(1.5) == "1.5"
    assert sa.go_float(1e21) == "1e+21"
    assert sa.go_float(1.5e-7) == "1.5e-07"


def test_full_text_index_follows_updates() -> None:
    """A row rewritten with other full-text columns (BuildIds set at the first
    workflow task) keeps matching on the unchanged ones, and a changed value
    stops matching on its old words."""
    sa.publish(NS_ID, "default", ALIASES)
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    ms = _run("x", T0, attrs={
        "CustomKL": _payload(["a", "b"], "KeywordList"),
        "CustomText": _payload("old words", "Text"),
    })

    def write() -> None:
        sql, *params = visibility_row(ms)
        conn.execute(sql, params)

    write()
    ms.search_attributes = SearchAttributes(indexed_fields={
        "CustomKL": _payload(["a", "b"], "KeywordList"),
        "CustomText": _payload("new words", "Text"),
        "BuildIds": _payload(["unversioned"], "KeywordList"),
    }).SerializeToString()
    write()
    write()  # unchanged: nothing to re-index
    assert ids(conn, "CustomKL = 'a'") == ["x"]
    assert ids(conn, "BuildIds = 'unversioned'") == ["x"]
    assert ids(conn, "CustomText = 'new'") == ["x"]
    assert ids(conn, "CustomText = 'old'") == []
    conn.execute("DELETE FROM visibility WHERE run_id = ?", (ms.run_id,))
    assert ids(conn, "CustomKL = 'a'") == []
    assert conn.execute("SELECT COUNT(*) FROM visibility_fts_keyword_list").fetchone() == (0,)


@pytest.mark.parametrize(
    ("value", "type_name", "data"),
    [
        ("2023-06-01T00:00:00+00:00", "Datetime", b'"2023-06-01T00:00:00Z"'),
        ("2024-01-02T05:04:05.500+02:00", "Datetime", b'"2024-01-02T05:04:05.5+02:00"'),
        (3, "Double", b"3"),
        (1.0, "Double", b"1"),
        (1e-7, "Double", b"1e-7"),
        (["a", "B c"], "KeywordList", b'["a","B c"]'),
        ("café <b>", "Keyword", '"café \\u003cb\\u003e"'.encode()),
        (42, "Int", b"42"),
        (True, "Bool", b"true"),
    ],
)
def test_listed_values_are_re_encoded_as_the_real_server_does(
    value: Any, type_name: str, data: bytes
) -> None:
    value_type = sa.TYPES_BY_NAME[type_name.lower()]
    field = next(f for f, t in sa.PREALLOCATED.items() if t == value_type)
    attributes = sa.NamespaceSearchAttributes("default", {field: "Attr"})
    sent = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())
    listed, _ = attributes.index(SearchAttributes(indexed_fields={"Attr": sent}))
    assert listed.indexed_fields["Attr"].data == data
    assert dict(listed.indexed_fields["Attr"].metadata) == {
        "encoding": b"json/plain", "type": type_name.encode()
    }
