"""Queries, child workflows, continue-as-new, workflow retries, cron, external
signals and cancels, local activities, patches and reset, run end to end with
the real Python SDK worker, as users write them.

Every test was first run against the real server (`temporal server start-dev`,
TEMPORAL_TEST_TARGET=host:port). Each wait is bounded (`finish`, `eventually`)
well below the test's timeout, so that a server without the feature fails the
test in seconds instead of hanging.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import (
    CancelExternalWorkflowExecutionFailedCause,
    ContinueAsNewInitiator,
    EventType,
    IndexedValueType,
    ResetReapplyType,
    RetryState,
    SignalExternalWorkflowExecutionFailedCause,
    StartChildWorkflowExecutionFailedCause,
    WorkflowTaskFailedCause,
)
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowContinuedAsNewError,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.common import (
    QueryRejectCondition,
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.e2e import feature_workflows as fw

pytestmark = pytest.mark.timeout(40)

# Bound on any single wait for a workflow to get somewhere.
WAIT_S = 10.0

T = TypeVar("T")


def worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=fw.WORKFLOWS, activities=fw.ACTIVITIES)


def wid(prefix: str = "wf") -> str:
    return f"{prefix}-{uuid.uuid4()}"


async def finish(awaitable: Awaitable[T], timeout: float = WAIT_S) -> T:
    """Await with a bound, failing with a clear message."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        pytest.fail(f"no outcome within {timeout}s")


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = WAIT_S, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or check}")
        await asyncio.sleep(0.1)


async def events(handle: WorkflowHandle) -> list[HistoryEvent]:
    return list((await handle.fetch_history()).events)


def names(history: Sequence[HistoryEvent]) -> list[str]:
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history]


def of_type(history: Sequence[HistoryEvent], event_type: EventType.ValueType) -> list[HistoryEvent]:
    return [e for e in history if e.event_type == event_type]


_WFT = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}


async def wait_idle(handle: WorkflowHandle) -> list[HistoryEvent]:
    """Until the workflow's last workflow task is completed (none in flight)."""

    async def idle() -> list[HistoryEvent] | None:
        history = await events(handle)
        wft = [e.event_type for e in history if e.event_type in _WFT]
        if wft and wft[-1] == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return history
        return None

    return await eventually(idle, what=f"{handle.id} idle")


async def run_chain(
    client: Client, workflow_id: str, first_run_id: str
) -> list[tuple[str, list[HistoryEvent]]]:
    """The runs of a chain (continue-as-new, retry, cron), in order, following
    new_execution_run_id from each run's last event."""
    chain = []
    run_id = first_run_id
    while run_id:
        history = await events(client.get_workflow_handle(workflow_id, run_id=run_id))
        chain.append((run_id, history))
        last = history[-1]
        which = last.WhichOneof("attributes")
        run_id = getattr(getattr(last, which), "new_execution_run_id", "") if which else ""
    return chain


async def status(handle: WorkflowHandle) -> WorkflowExecutionStatus | None:
    return (await handle.describe()).status


# ---------------------------------------------------------------------------
# Queries


async def test_query_running_workflow(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(fw.Counter.run, id=wid(), task_queue=task_queue)
        await wait_idle(handle)  # no workflow task in flight: the query gets its own task
        assert await finish(handle.query(fw.Counter.current)) == 0
        await handle.signal(fw.Counter.bump)
        await wait_idle(handle)
        assert await finish(handle.query(fw.Counter.current)) == 1
        await handle.signal(fw.Counter.finish)
        assert await finish(handle.result()) == 1
    # Queries leave no trace in the history.
    assert not [n for n in names(await events(handle)) if "QUERY" in n]


async def test_query_during_signal_storm(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(fw.Counter.run, id=wid(), task_queue=task_queue)
        await wait_idle(handle)
        signals = [handle.signal(fw.Counter.bump) for _ in range(50)]
        queries = [handle.query(fw.Counter.current) for _ in range(10)]
        outcomes = await finish(asyncio.gather(*signals, *queries))
        answers = outcomes[50:]
        assert all(isinstance(a, int) and 0 <= a <= 50 for a in answers), answers
        assert await finish(handle.query(fw.Counter.current)) == 50
        await handle.signal(fw.Counter.finish)
        assert await finish(handle.result()) == 50


async def test_query_completed_workflow(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(fw.Counter.run, id=wid(), task_queue=task_queue)
        for _ in range(3):
            await handle.signal(fw.Counter.bump)
        await handle.signal(fw.Counter.finish)
        assert await finish(handle.result()) == 3
        # The worker replays the closed workflow's history to answer.
        assert await finish(handle.query(fw.Counter.current)) == 3
        # Without the run id as well as with it.
        again = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        assert await finish(again.query(fw.Counter.current)) == 3


async def test_unknown_query_type_fails(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(fw.Counter.run, id=wid(), task_queue=task_queue)
        await wait_idle(handle)
        with pytest.raises(WorkflowQueryFailedError) as info:
            await finish(handle.query("no_such_query"))
        # The SDK's message, passed through by the server (gRPC INVALID_ARGUMENT
        # with a QueryFailedFailure detail).
        assert "no_such_query" in info.value.message
        assert "known queries" in info.value.message
        await handle.signal(fw.Counter.finish)
        await finish(handle.result())
        # Also on a closed workflow (answered by replay).
        with pytest.raises(WorkflowQueryFailedError):
            await finish(handle.query("no_such_query"))


async def test_query_handler_raises(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(fw.Counter.run, id=wid(), task_queue=task_queue)
        await wait_idle(handle)
        with pytest.raises(WorkflowQueryFailedError) as info:
            await finish(handle.query(fw.Counter.broken))
        assert info.value.message == "this query always fails"
        # The workflow is unaffected.
        assert await finish(handle.query(fw.Counter.current)) == 0
        await handle.signal(fw.Counter.finish)
        assert await finish(handle.result()) == 0


async def test_query_reject_condition(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        running = await client.start_workflow(fw.Counter.run, id=wid(), task_queue=task_queue)
        await wait_idle(running)
        # NOT_OPEN on a running workflow: answered.
        answer = await finish(
            running.query(fw.Counter.current, reject_condition=QueryRejectCondition.NOT_OPEN)
        )
        assert answer == 0
        await running.signal(fw.Counter.finish)
        await finish(running.result())

        with pytest.raises(WorkflowQueryRejectedError) as info:
            await finish(running.query(fw.Counter.current, reject_condition=QueryRejectCondition.NOT_OPEN))
        assert info.value.status == WorkflowExecutionStatus.COMPLETED
        # NOT_COMPLETED_CLEANLY lets a cleanly completed workflow answer...
        answer = await finish(
            running.query(fw.Counter.current, reject_condition=QueryRejectCondition.NOT_COMPLETED_CLEANLY)
        )
        assert answer == 0

        # ... but not a failed one (rejected before any worker is asked, so
        # the query type does not even matter).
        failed = await client.start_workflow(fw.FailsUntilAttempt.run, 99, id=wid(), task_queue=task_queue)
        with pytest.raises(WorkflowFailureError):
            await finish(failed.result())
        with pytest.raises(WorkflowQueryRejectedError) as info:
            await finish(
                failed.query("anything", reject_condition=QueryRejectCondition.NOT_COMPLETED_CLEANLY)
            )
        assert info.value.status == WorkflowExecutionStatus.FAILED


async def test_query_with_no_worker(client: Client, task_queue: str) -> None:
    """Nobody polls the workflow's task queue: the query can only time out.

    The real server holds the query until the request's deadline and then
    answers DEADLINE_EXCEEDED "query timed out before a worker could process
    it"; when a poller was seen on the queue but not within the last 20 s
    (QueryPollerUnavailableWindow) it answers 1 s before the deadline with
    FAILED_PRECONDITION "no poller seen for task queue recently, worker may be
    down". The client's own deadline may fire first (CANCELLED "Timeout
    expired"). Which one wins is a race, so all three are accepted; what
    matters is an RPCError within about the rpc timeout."""
    handle = await client.start_workflow(fw.Counter.run, id=wid(), task_queue=task_queue)
    try:
        began = time.monotonic()
        with pytest.raises(RPCError) as info:
            await handle.query(fw.Counter.current, rpc_timeout=timedelta(seconds=2))
        elapsed = time.monotonic() - began
        assert info.value.status in (
            RPCStatusCode.DEADLINE_EXCEEDED,
            RPCStatusCode.CANCELLED,
            RPCStatusCode.FAILED_PRECONDITION,
        ), (info.value.status, info.value.message)
        # The client retries DEADLINE_EXCEEDED once at most.
        assert elapsed < 10, elapsed
    finally:
        await handle.terminate()


async def test_query_unknown_workflow(client: Client) -> None:
    with pytest.raises(RPCError) as info:
        await client.get_workflow_handle(wid("missing")).query("anything", rpc_timeout=timedelta(seconds=5))
    assert info.value.status == RPCStatusCode.NOT_FOUND
    assert "workflow not found" in info.value.message


# ---------------------------------------------------------------------------
# Child workflows


async def test_child_workflow_result(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(fw.ParentRunsChild.run, "bob", id=wid(), task_queue=task_queue)
        assert await finish(handle.result()) == "child says hi to bob"
    history = await events(handle)
    # Usually 14 events (initiated 5, started 6, a workflow task 7-9, child
    # completed 10, a task 11-13, completed 14), but the child may complete
    # before the parent's second task starts: only the order is certain.
    kinds = names(history)
    assert kinds[:6] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "START_CHILD_WORKFLOW_EXECUTION_INITIATED",
        "CHILD_WORKFLOW_EXECUTION_STARTED",
    ]
    assert kinds[-1] == "WORKFLOW_EXECUTION_COMPLETED"
    assert kinds.count("CHILD_WORKFLOW_EXECUTION_COMPLETED") == 1
    initiated = history[4].start_child_workflow_execution_initiated_event_attributes
    assert initiated.workflow_id == f"{handle.id}-child"
    assert initiated.workflow_type.name == "Child"
    assert initiated.task_queue.name == task_queue
    assert initiated.namespace == "default"
    assert initiated.workflow_task_completed_event_id == 4
    started = history[5].child_workflow_execution_started_event_attributes
    assert started.initiated_event_id == 5
    assert started.workflow_type.name == "Child"
    completed_event = of_type(history, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)[0]
    completed = completed_event.child_workflow_execution_completed_event_attributes
    assert (completed.initiated_event_id, completed.started_event_id) == (5, 6)
    assert completed.workflow_execution.run_id == started.workflow_execution.run_id
    assert json.loads(completed.result.payloads[0].data) == "child says hi to bob"

    child = client.get_workflow_handle(f"{handle.id}-child")
    description = await child.describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert description.parent_id == handle.id
    assert description.parent_run_id == handle.result_run_id
    child_started = (await events(child))[0].workflow_execution_started_event_attributes
    assert child_started.parent_workflow_execution.workflow_id == handle.id
    assert child_started.parent_initiated_event_id == 5
    assert child_started.parent_workflow_namespace == "default"


async def test_child_workflow_info_parent(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(fw.ParentOfReporter.run, id=wid(), task_queue=task_queue)
        assert await finish(handle.result()) == ["default", handle.id, handle.result_run_id]


async def test_child_failure_propagates(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            fw.ParentOfFailingChild.run, "bob", id=wid(), task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as info:
            await finish(handle.result())
        assert isinstance(info.value.cause, ChildWorkflowError)
        assert isinstance(info.value.cause.cause, ApplicationError)
        assert info.value.cause.cause.type == "ChildRefuses"
        assert info.value.cause.cause.message == "child refuses bob"

        caught = await client.start_workflow(
            fw.ParentCatchesChildFailure.run, "ann", id=wid(), task_queue=task_queue
        )
        assert await finish(caught.result()) == ["ChildWorkflowError", "ChildRefuses", "child refuses ann"]
    failed = of_type(await events(handle), EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED)
    assert len(failed) == 1
    attrs = failed[0].child_workflow_execution_failed_event_attributes
    assert attrs.failure.application_failure_info.type == "ChildRefuses"
    # The child ran with maximum_attempts=1.
    assert attrs.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert await status(client.get_workflow_handle(f"{handle.id}-child")) == WorkflowExecutionStatus.FAILED


async def test_child_already_running(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            fw.ParentStartsDuplicateChild.run, id=wid(), task_queue=task_queue
        )
        assert await finish(handle.result()) == "already started: True WaitingChild"
    failed = of_type(await events(handle), EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED)
    assert len(failed) == 1
    attrs = failed[0].start_child_workflow_execution_failed_event_attributes
    assert attrs.cause == (
        StartChildWorkflowExecutionFailedCause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS
    )
    assert attrs.workflow_id == f"{handle.id}-child"
    assert attrs.workflow_type.name == "WaitingChild"


_CHILD_STATUS_AFTER_PARENT = {
    "TERMINATE": WorkflowExecutionStatus.TERMINATED,
    "REQUEST_CANCEL": WorkflowExecutionStatus.CANCELED,  # the child handles the request
    "ABANDON": WorkflowExecutionStatus.RUNNING,
}


@pytest.mark.parametrize("policy", list(_CHILD_STATUS_AFTER_PARENT))
async def test_parent_close_policy(client: Client, task_queue: str, policy: str) -> None:
    expected = _CHILD_STATUS_AFTER_PARENT[policy]
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            fw.ParentLeavesChildRunning.run, policy, id=wid(), task_queue=task_queue
        )
        child_id = await finish(handle.result())
        child = client.get_workflow_handle(child_id)
        try:
            if expected == WorkflowExecutionStatus.RUNNING:
                await asyncio.sleep(1.5)
                assert await status(child) == WorkflowExecutionStatus.RUNNING
            else:

                async def closed() -> WorkflowExecutionStatus | None:
                    found = await status(child)
                    return found if found != WorkflowExecutionStatus.RUNNING else None

                assert await eventually(closed, what="child closed") == expected
        finally:
            if await status(child) == WorkflowExecutionStatus.RUNNING:
                await child.terminate()
    child_history = await events(child)
    if policy == "TERMINATE":
        last = child_history[-1]
        assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
        assert last.workflow_execution_terminated_event_attributes.reason == "by parent close policy"
    elif policy == "REQUEST_CANCEL":
        requested = of_type(child_history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
        assert len(requested) == 1
        attrs = requested[0].workflow_execution_cancel_requested_event_attributes
        assert attrs.external_workflow_execution.workflow_id == handle.id
        assert child_history[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED
    # The parent's own history says nothing about what happened to the child.
    assert names(await events(handle))[-1] == "WORKFLOW_EXECUTION_COMPLETED"


async def test_parent_cancels_child(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(fw.ParentCancelsChild.run, id=wid(), task_queue=task_queue)
        assert await finish(handle.result()) == "child cancelled"
    history = await events(handle)
    kinds = names(history)
    assert "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED" in kinds
    assert "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED" in kinds
    assert "CHILD_WORKFLOW_EXECUTION_CANCELED" in kinds
    initiated = of_type(history, EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)[0]
    assert initiated.request_cancel_external_workflow_execution_initiated_event_attributes.child_workflow_only
    child = client.get_workflow_handle(f"{handle.id}-child")
    assert await status(child) == WorkflowExecutionStatus.CANCELED


# ---------------------------------------------------------------------------
# Continue-as-new


async def test_continue_as_new_chain(client: Client, task_queue: str) -> None:
    """Each continue-as-new run starts about 1 s after the previous one on the
    real server (the new run's first workflow task is delayed so that runs
    are at least history.workflowIdReuseMinimalInterval = 1 s apart)."""
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            fw.ContinuesAsNew.run,
            args=[0, 3],
            id=wid(),
            task_queue=task_queue,
            memo={"owner": "alice"},
            run_timeout=timedelta(seconds=60),
            task_timeout=timedelta(seconds=7),
        )
        result = await finish(handle.result(), 15)
    first_run = handle.result_run_id
    assert first_run is not None
    assert result == {
        "count": 3,
        "memo": "alice",
        "continued_run_id": True,
        "first_run_id": first_run,
        "search_attributes": {},
        "task_queue": task_queue,
        "run_timeout": 60.0,
        "task_timeout": 7.0,
    }
    first = client.get_workflow_handle(handle.id, run_id=first_run)
    assert await status(first) == WorkflowExecutionStatus.CONTINUED_AS_NEW
    assert await status(client.get_workflow_handle(handle.id)) == WorkflowExecutionStatus.COMPLETED
    # Following the run without following the chain stops at the first run.
    with pytest.raises(WorkflowContinuedAsNewError):
        await finish(first.result(follow_runs=False))

    chain = await run_chain(client, handle.id, first_run)
    assert len(chain) == 4
    for index, (_run_id, history) in enumerate(chain):
        started = history[0].workflow_execution_started_event_attributes
        assert started.first_execution_run_id == first_run
        assert started.memo.fields["owner"].data == b'"alice"'
        assert started.workflow_run_timeout.ToTimedelta() == timedelta(seconds=60)
        assert started.workflow_task_timeout.ToTimedelta() == timedelta(seconds=7)
        assert started.attempt == 1
        if index == 0:
            assert not started.continued_execution_run_id
        else:
            assert started.continued_execution_run_id == chain[index - 1][0]
            assert started.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
            # 1 s minus the previous run's lifetime (a few ms here).
            backoff = started.first_workflow_task_backoff.ToTimedelta()
            assert timedelta(milliseconds=300) < backoff <= timedelta(seconds=1)
        last = history[-1]
        if index < 3:
            assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            attrs = last.workflow_execution_continued_as_new_event_attributes
            assert attrs.new_execution_run_id == chain[index + 1][0]
            assert attrs.workflow_type.name == "ContinuesAsNew"
            assert attrs.task_queue.name == task_queue
            assert [p.data for p in attrs.input.payloads] == [str(index + 1).encode(), b"3"]
            assert attrs.workflow_task_completed_event_id == last.event_id - 1
        else:
            assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


CUSTOM_KEYWORD = SearchAttributeKey.for_keyword("CustomKeywordField")


async def _register_custom_keyword(client: Client) -> None:
    """What `temporal operator search-attribute create` does; the real server
    accepts re-registering an attribute with the same type."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={"CustomKeywordField": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD},
        )
    )


async def test_continue_as_new_carries_search_attributes(client: Client, task_queue: str) -> None:
    await _register_custom_keyword(client)
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            fw.ContinuesAsNew.run,
            args=[0, 1],
            id=wid(),
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes([SearchAttributePair(CUSTOM_KEYWORD, "kw")]),
        )
        result = await finish(handle.result())
    assert result["count"] == 1
    assert result["search_attributes"] == {"CustomKeywordField": ["kw"]}
    last = await client.get_workflow_handle(handle.id).describe()
    assert last.typed_search_attributes.get(CUSTOM_KEYWORD) == "kw"
    chain = await run_chain(client, handle.id, handle.result_run_id or "")
    can = chain[0][1][-1].workflow_execution_continued_as_new_event_attributes
    assert "CustomKeywordField" in can.search_attributes.indexed_fields


# ---------------------------------------------------------------------------
# Workflow retry policy


async def test_workflow_retry_policy(client: Client, task_queue: str) -> None:
    """A failed attempt closes its run as FAILED with retry_state IN_PROGRESS
    and the next run's id; the next run starts after the retry backoff, but
    never less than 1 s after the previous run started."""
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            fw.FailsUntilAttempt.run,
            3,
            id=wid(),
            task_queue=task_queue,
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )
        assert await finish(handle.result(), 15) == 3
    first_run = handle.result_run_id or ""
    chain = await run_chain(client, handle.id, first_run)
    assert len(chain) == 3
    for index, (run_id, history) in enumerate(chain):
        started = history[0].workflow_execution_started_event_attributes
        assert started.attempt == index + 1
        assert started.first_execution_run_id == first_run
        last = history[-1]
        if index < 2:
            assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
            attrs = last.workflow_execution_failed_event_attributes
            assert attrs.retry_state == RetryState.RETRY_STATE_IN_PROGRESS
            assert attrs.new_execution_run_id == chain[index + 1][0]
            assert attrs.failure.message == f"workflow attempt {index + 1} failed"
            assert await status(client.get_workflow_handle(handle.id, run_id=run_id)) == (
                WorkflowExecutionStatus.FAILED
            )
        else:
            assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
        if index > 0:
            assert started.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY
            assert started.continued_execution_run_id == chain[index - 1][0]
            assert started.continued_failure.message == f"workflow attempt {index} failed"
            # Not the retry's 100 ms: the 1 s minimal interval between runs
            # wins (1 s minus the previous run's lifetime, a few ms here).
            backoff = started.first_workflow_task_backoff.ToTimedelta()
            assert timedelta(milliseconds=300) < backoff <= timedelta(seconds=1)


async def test_workflow_retry_exhausted(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            fw.FailsUntilAttempt.run,
            5,
            id=wid(),
            task_queue=task_queue,
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=2),
        )
        with pytest.raises(WorkflowFailureError) as info:
            await finish(handle.result(), 15)
    assert isinstance(info.value.cause, ApplicationError)
    assert info.value.cause.message == "workflow attempt 2 failed"
    chain = await run_chain(client, handle.id, handle.result_run_id or "")
    assert len(chain) == 2
    last = chain[-1][1][-1].workflow_execution_failed_event_attributes
    assert last.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert not last.new_execution_run_id


# ---------------------------------------------------------------------------
# Cron


async def test_cron_schedule(client: Client, task_queue: str) -> None:
    """ "@every 2s": even the first run waits for the schedule (its first
    workflow task is backed off 2 s); each run completes with the next run's
    id and the next run carries the last completion result."""
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            fw.CronJob.run, id=wid(), task_queue=task_queue, cron_schedule="@every 2s"
        )
        first_run = handle.result_run_id or ""
        try:
            description = await handle.describe()
            assert description.status == WorkflowExecutionStatus.RUNNING

            async def two_runs_done() -> list | None:
                chain = await run_chain(client, handle.id, first_run)
                completed = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
                done = [c for c in chain if c[1][-1].event_type == completed]
                return chain if len(done) >= 2 else None

            chain = await eventually(two_runs_done, timeout=9, what="two cron runs")
        finally:
            await client.get_workflow_handle(handle.id).terminate("enough")

    results = []
    for index, (_run_id, history) in enumerate(chain[:2]):
        started = history[0].workflow_execution_started_event_attributes
        assert started.cron_schedule == "@every 2s"
        assert started.initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
        # The next "@every 2s" time after the previous run's execution time,
        # rounded up to whole seconds: 2 s, or 1 s when the previous run
        # ended late in its second (the same math on the real server).
        backoff = started.first_workflow_task_backoff.ToTimedelta()
        assert backoff == timedelta(seconds=2) or (index > 0 and backoff == timedelta(seconds=1))
        completed = history[-1].workflow_execution_completed_event_attributes
        assert completed.new_execution_run_id == chain[index + 1][0]
        results.append(json.loads(completed.result.payloads[0].data))
        if index == 1:
            assert started.continued_execution_run_id == first_run
            first_result = chain[0][1][-1].workflow_execution_completed_event_attributes.result
            assert started.last_completion_result == first_result
    assert results == [
        {"cron_schedule": "@every 2s", "continued": False, "attempt": 1},
        {"cron_schedule": "@every 2s", "continued": True, "attempt": 1},
    ]
    # A completed cron run counts as COMPLETED, and its result (not
    # following the chain) says the workflow went on.
    first = client.get_workflow_handle(handle.id, run_id=first_run)
    assert await status(first) == WorkflowExecutionStatus.COMPLETED
    with pytest.raises(WorkflowContinuedAsNewError):
        await finish(first.result(follow_runs=False))
    assert await status(client.get_workflow_handle(handle.id)) == WorkflowExecutionStatus.TERMINATED


# ---------------------------------------------------------------------------
# External signals and cancels


async def test_signal_external_workflow(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        target = await client.start_workflow(fw.SignalTarget.run, 1, id=wid("target"), task_queue=task_queue)
        sender = await client.start_workflow(
            fw.SignalsOther.run, args=[target.id, "hello"], id=wid("sender"), task_queue=task_queue
        )
        assert await finish(sender.result()) == "signalled"
        assert await finish(target.result()) == ["hello"]
    sender_history = await events(sender)
    initiated = of_type(sender_history, EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
    assert len(initiated) == 1
    attrs = initiated[0].signal_external_workflow_execution_initiated_event_attributes
    assert attrs.workflow_execution.workflow_id == target.id
    assert attrs.signal_name == "add"
    signalled = of_type(sender_history, EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED)
    assert signalled[0].external_workflow_execution_signaled_event_attributes.initiated_event_id == (
        initiated[0].event_id
    )
    received = of_type(await events(target), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    assert len(received) == 1
    rattrs = received[0].workflow_execution_signaled_event_attributes
    assert rattrs.signal_name == "add"
    assert rattrs.external_workflow_execution.workflow_id == sender.id
    assert rattrs.external_workflow_execution.run_id == sender.result_run_id


async def test_signal_missing_external_workflow(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        sender = await client.start_workflow(
            fw.SignalsMissing.run, wid("nobody"), id=wid("sender"), task_queue=task_queue
        )
        error_class, error_type, _message = await finish(sender.result())
    # The SDK raises an ApplicationError made from the failure cause.
    assert (error_class, error_type) == ("ApplicationError", "ExternalWorkflowExecutionNotFound")
    failed = of_type(await events(sender), EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)
    assert len(failed) == 1
    assert failed[0].signal_external_workflow_execution_failed_event_attributes.cause == (
        SignalExternalWorkflowExecutionFailedCause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
    )


async def test_signal_closed_external_workflow(client: Client, task_queue: str) -> None:
    """A closed workflow cannot be signalled: the same failure as a missing one."""
    async with worker(client, task_queue):
        done = await client.start_workflow(fw.Child.run, "x", id=wid("done"), task_queue=task_queue)
        await finish(done.result())
        sender = await client.start_workflow(
            fw.SignalsMissing.run, done.id, id=wid("sender"), task_queue=task_queue
        )
        assert (await finish(sender.result()))[1] == "ExternalWorkflowExecutionNotFound"


async def test_cancel_external_workflow(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        target = await client.start_workflow(fw.SignalTarget.run, 1, id=wid("target"), task_queue=task_queue)
        await wait_idle(target)
        canceller = await client.start_workflow(
            fw.CancelsOther.run, target.id, id=wid("canceller"), task_queue=task_queue
        )
        assert await finish(canceller.result()) == "cancel requested"
        with pytest.raises(WorkflowFailureError) as info:
            await finish(target.result())
        assert isinstance(info.value.cause, CancelledError)
    assert await status(target) == WorkflowExecutionStatus.CANCELED
    kinds = names(await events(canceller))
    assert "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED" in kinds
    assert "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED" in kinds
    target_history = await events(target)
    requested = of_type(target_history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    assert len(requested) == 1
    attrs = requested[0].workflow_execution_cancel_requested_event_attributes
    assert attrs.external_workflow_execution.workflow_id == canceller.id
    assert attrs.external_initiated_event_id == 5
    assert target_history[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED


async def test_cancel_missing_external_workflow(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        canceller = await client.start_workflow(
            fw.CancelsMissing.run, wid("nobody"), id=wid("canceller"), task_queue=task_queue
        )
        error_class, error_type, _message = await finish(canceller.result())
    assert (error_class, error_type) == ("ApplicationError", "ExternalWorkflowExecutionNotFound")
    failed = of_type(
        await events(canceller), EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED
    )
    assert len(failed) == 1
    assert failed[0].request_cancel_external_workflow_execution_failed_event_attributes.cause == (
        CancelExternalWorkflowExecutionFailedCause.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
    )


# ---------------------------------------------------------------------------
# Local activities and patches


def _marker_details(event: HistoryEvent) -> dict[str, Any]:
    attrs = event.marker_recorded_event_attributes
    return {key: [json.loads(p.data) for p in value.payloads] for key, value in attrs.details.items()}


async def test_local_activities(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            fw.ThreeLocalActivities.run, "x", id=wid(), task_queue=task_queue
        )
        assert await finish(handle.result()) == ["la:x-0", "la:x-1", "la:x-2"]
    history = await events(handle)
    # All three ran inside the first workflow task: one marker each, no
    # activity task events.
    assert names(history) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "MARKER_RECORDED",
        "MARKER_RECORDED",
        "MARKER_RECORDED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    for i, event in enumerate(of_type(history, EventType.EVENT_TYPE_MARKER_RECORDED)):
        assert event.marker_recorded_event_attributes.marker_name == "core_local_activity"
        assert event.marker_recorded_event_attributes.workflow_task_completed_event_id == 4
        details = _marker_details(event)
        assert details["result"] == [f"la:x-{i}"]
        data = details["data"][0]
        assert (data["activity_type"], data["seq"], data["attempt"]) == ("la_echo", i + 1, 1)


async def test_local_activity_retries(client: Client, task_queue: str) -> None:
    key = str(uuid.uuid4())
    async with worker(client, task_queue):
        handle = await client.start_workflow(fw.FlakyLocalActivity.run, key, id=wid(), task_queue=task_queue)
        assert await finish(handle.result()) == "ok after 3"
    assert fw.LA_ATTEMPTS[key] == 3
    markers = of_type(await events(handle), EventType.EVENT_TYPE_MARKER_RECORDED)
    # Retries happen in the worker: only the final outcome is recorded.
    assert len(markers) == 1
    assert _marker_details(markers[0])["data"][0]["attempt"] == 3


async def test_local_activity_failure(client: Client, task_queue: str) -> None:
    key = str(uuid.uuid4())
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            fw.FailingLocalActivity.run, key, id=wid(), task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as info:
            await finish(handle.result())
    cause: BaseException | None = info.value.cause
    if isinstance(cause, ActivityError):
        cause = cause.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "Flaky"
    markers = of_type(await events(handle), EventType.EVENT_TYPE_MARKER_RECORDED)
    assert len(markers) == 1
    attrs = markers[0].marker_recorded_event_attributes
    assert attrs.marker_name == "core_local_activity"
    assert attrs.failure.application_failure_info.type == "Flaky"
    assert "result" not in attrs.details


async def test_long_local_activity_heartbeats_workflow_task(client: Client, task_queue: str) -> None:
    """A local activity longer than the workflow task timeout (2 s): the worker
    completes the task with no commands at 80% of its timeout, asking for a
    new one at once (the server hands it back in the completion's response),
    so that no workflow task times out."""
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            fw.LongLocalActivity.run, 3.0, id=wid(), task_queue=task_queue, task_timeout=timedelta(seconds=2)
        )
        assert await finish(handle.result()) == "slept 3.0"
    history = await events(handle)
    kinds = names(history)
    assert "WORKFLOW_TASK_TIMED_OUT" not in kinds
    assert "WORKFLOW_TASK_FAILED" not in kinds
    marker_at = kinds.index("MARKER_RECORDED")
    assert kinds[:marker_at].count("WORKFLOW_TASK_COMPLETED") >= 2
    assert kinds[marker_at:] == ["MARKER_RECORDED", "WORKFLOW_EXECUTION_COMPLETED"]


async def test_patches(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(fw.Patched.run, id=wid(), task_queue=task_queue)
        assert await finish(handle.result()) == ["new p1", "p2 deprecated"]
    history = await events(handle)
    assert names(history)[4:] == [
        "MARKER_RECORDED",
        "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
        "MARKER_RECORDED",
        "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    markers = of_type(history, EventType.EVENT_TYPE_MARKER_RECORDED)
    assert [m.marker_recorded_event_attributes.marker_name for m in markers] == ["core_patch", "core_patch"]
    assert [_marker_details(m) for m in markers] == [
        {"patch-data": [{"id": "p1", "deprecated": False}]},
        {"patch-data": [{"id": "p2", "deprecated": True}]},
    ]
    upserts = of_type(history, EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
    values = [
        json.loads(
            u.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields[
                "TemporalChangeVersion"
            ].data
        )
        for u in upserts
    ]
    assert values == [["p1"], ["p1", "p2"]]
    # The server keeps the attribute (a KeywordList) for visibility.
    description = await handle.describe()
    change_version = SearchAttributeKey.for_keyword_list("TemporalChangeVersion")
    assert description.typed_search_attributes.get(change_version) == ["p1", "p2"]


# ---------------------------------------------------------------------------
# Reset


async def _reset(
    client: Client,
    workflow_id: str,
    run_id: str | None,
    event_id: int,
    reason: str,
    reapply: ResetReapplyType.ValueType | None = None,
) -> str:
    request = ResetWorkflowExecutionRequest(
        namespace="default",
        workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id or ""),
        reason=reason,
        workflow_task_finish_event_id=event_id,
        request_id=str(uuid.uuid4()),
    )
    if reapply is not None:
        request.reset_reapply_type = reapply
    response = await finish(client.workflow_service.reset_workflow_execution(request))
    return response.run_id


async def _collect_with_signals(client: Client, task_queue: str) -> WorkflowHandle:
    """A completed Collects run: "s0" with the start, "a" and "b" after the
    first workflow task (each once the workflow is idle)."""
    handle = await client.start_workflow(
        fw.Collects.run, 3, id=wid(), task_queue=task_queue, start_signal="add", start_signal_args=["s0"]
    )
    await wait_idle(handle)
    await handle.signal(fw.Collects.add, "a")
    await wait_idle(handle)
    await handle.signal(fw.Collects.add, "b")
    assert await finish(handle.result()) == ["s0", "a", "b"]
    return handle


def _first_completed_task(history: Sequence[HistoryEvent]) -> int:
    return of_type(history, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)[0].event_id


async def test_reset_reapplies_later_signals(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await _collect_with_signals(client, task_queue)
        old_run = handle.result_run_id or ""
        old_history = await events(handle)
        reset_point = _first_completed_task(old_history)  # 5: the signal-with-start signal is event 2
        new_run = await _reset(client, handle.id, old_run, reset_point, "testing reset")
        assert new_run and new_run != old_run
        new_handle = client.get_workflow_handle(handle.id, run_id=new_run)
        # The signals after the reset point are reapplied (the default,
        # RESET_REAPPLY_TYPE_SIGNAL), so the new run completes the same way.
        assert await finish(new_handle.result()) == ["s0", "a", "b"]
    old = client.get_workflow_handle(handle.id, run_id=old_run)
    assert await status(old) == WorkflowExecutionStatus.COMPLETED
    assert (await client.get_workflow_handle(handle.id).describe()).run_id == new_run

    history = await events(new_handle)
    kinds = names(history)
    # Events before the reset point are copied; the task that completed at the
    # reset point fails (cause RESET_WORKFLOW) instead; then the reapplied
    # signals and a new workflow task.
    assert kinds[: reset_point + 4] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
    ]
    assert history[:3] == old_history[:3]
    failed = history[reset_point - 1].workflow_task_failed_event_attributes
    assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
    assert failed.failure.message == "testing reset"
    assert failed.failure.HasField("reset_workflow_failure_info")
    assert (failed.base_run_id, failed.new_run_id) == (old_run, new_run)
    reapplied = [
        e.workflow_execution_signaled_event_attributes for e in history[reset_point : reset_point + 2]
    ]
    assert [json.loads(s.input.payloads[0].data) for s in reapplied] == ["a", "b"]
    started = history[0].workflow_execution_started_event_attributes
    assert started.first_execution_run_id == old_run


async def test_reset_without_reapplying_signals(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await _collect_with_signals(client, task_queue)
        reset_point = _first_completed_task(await events(handle))
        new_run = await _reset(
            client,
            handle.id,
            handle.result_run_id,
            reset_point,
            "no reapply",
            reapply=ResetReapplyType.RESET_REAPPLY_TYPE_NONE,
        )
        new_handle = client.get_workflow_handle(handle.id, run_id=new_run)
        try:
            await wait_idle(new_handle)
            # Only the signal before the reset point is there: still waiting.
            assert await finish(new_handle.query(fw.Collects.seen)) == ["s0"]
            assert await status(new_handle) == WorkflowExecutionStatus.RUNNING
            assert "WORKFLOW_EXECUTION_SIGNALED" not in names(await events(new_handle))[reset_point:]
        finally:
            await new_handle.terminate()


async def test_reset_running_workflow(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(fw.Collects.run, 2, id=wid(), task_queue=task_queue)
        await wait_idle(handle)
        await handle.signal(fw.Collects.add, "a")
        await wait_idle(handle)
        old_run = handle.result_run_id or ""
        new_run = await _reset(client, handle.id, None, 4, "reset running")
        # The running run is terminated, with the reset's reason.
        old_history = await events(client.get_workflow_handle(handle.id, run_id=old_run))
        last = old_history[-1]
        assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
        assert last.workflow_execution_terminated_event_attributes.reason == "reset running"
        # The new run is the current one: signalling the workflow id reaches it.
        await client.get_workflow_handle(handle.id).signal(fw.Collects.add, "b")
        new_handle = client.get_workflow_handle(handle.id, run_id=new_run)
        assert await finish(new_handle.result()) == ["a", "b"]
    kinds = names(await events(new_handle))
    assert kinds[:6] == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_FAILED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]


async def test_reset_to_invalid_event(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(fw.Child.run, "x", id=wid(), task_queue=task_queue)
        await finish(handle.result())
    # 5 events: started, task scheduled / started / completed, completed.
    for event_id in (6, 99, 1):
        with pytest.raises(RPCError) as info:
            await _reset(client, handle.id, handle.result_run_id, event_id, "bad")
        assert info.value.status == RPCStatusCode.INVALID_ARGUMENT
        assert info.value.message == "Workflow task finish ID must be > 1 && <= workflow last event ID."
    # Not the end of a workflow task (the real server: "StateRebuilder unable
    # to Rebuild mutable state to event ID: 4, version: 0, this event must be
    # at the boundary").
    for event_id in (2, 5):
        with pytest.raises(RPCError) as info:
            await _reset(client, handle.id, handle.result_run_id, event_id, "bad")
        assert info.value.status == RPCStatusCode.INVALID_ARGUMENT
    with pytest.raises(RPCError) as info:
        await _reset(client, wid("missing"), None, 3, "bad")
    assert info.value.status == RPCStatusCode.NOT_FOUND
