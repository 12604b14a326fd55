"""Workflows with activities, timers and signals run end to end with the real
Python SDK worker, as users write them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState, RetryState
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    TerminatedError,
    TimeoutError,
    TimeoutType,
)
from temporalio.worker import Worker

from tests.e2e import workflows as w

pytestmark = pytest.mark.timeout(60)

ALL_WORKFLOWS = [
    w.ReturnAtOnce, w.OneActivity, w.SequenceAndParallel, w.Sleeper, w.SignalCollector,
    w.WaitOrTimeout, w.Retrying, w.NonRetryable, w.MaxAttempts, w.FailsWithError,
    w.CancelActivity, w.ActivityTimeout, w.ScheduleToStartTimeout, w.HeartbeatResume,
    w.FlakyWorkflowTask, w.Upserter, w.ManyTimers,
]
ALL_ACTIVITIES = [
    w.greet, w.flaky, w.fail_hard, w.heartbeat_until_cancelled, w.sleeps, w.heartbeat_details,
]


def worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES)


def wid() -> str:
    return f"wf-{uuid.uuid4()}"


async def event_types(handle) -> list[str]:  # type: ignore[no-untyped-def]
    return [EventType.Name(e.event_type) for e in (await handle.fetch_history()).events]


async def test_return_at_once(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        result = await client.execute_workflow(
            w.ReturnAtOnce.run, "hi", id=wid(), task_queue=task_queue
        )
    assert result == "hi"


async def test_one_activity(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            w.OneActivity.run, "Temporal", id=wid(), task_queue=task_queue
        )
        assert await handle.result() == "Hello, Temporal!"
    types = await event_types(handle)
    assert types == [
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
        "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
        "EVENT_TYPE_WORKFLOW_TASK_STARTED",
        "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
        "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
        "EVENT_TYPE_ACTIVITY_TASK_STARTED",
        "EVENT_TYPE_ACTIVITY_TASK_COMPLETED",
        "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
        "EVENT_TYPE_WORKFLOW_TASK_STARTED",
        "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
        "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
    ]


async def test_sequence_and_parallel_activities(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        result = await client.execute_workflow(
            w.SequenceAndParallel.run, id=wid(), task_queue=task_queue
        )
    assert result == ["Hello, a!", "Hello, b!", "Hello, c!", "Hello, x!", "Hello, y!"]


async def test_timer(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        loop = asyncio.get_running_loop()
        began = loop.time()
        handle = await client.start_workflow(w.Sleeper.run, 1.0, id=wid(), task_queue=task_queue)
        assert await handle.result() == "woke"
        assert loop.time() - began >= 1.0
    assert "EVENT_TYPE_TIMER_FIRED" in await event_types(handle)


async def test_many_timers(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        assert await client.execute_workflow(
            w.ManyTimers.run, 20, id=wid(), task_queue=task_queue
        ) == 20


async def test_signals(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            w.SignalCollector.run, 3, id=wid(), task_queue=task_queue
        )
        for value in ("a", "b", "c"):
            await handle.signal(w.SignalCollector.add, value)
        assert await handle.result() == ["a", "b", "c"]


async def test_signal_before_worker_runs(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(w.SignalCollector.run, 2, id=wid(), task_queue=task_queue)
    await handle.signal(w.SignalCollector.add, "early-1")
    await handle.signal(w.SignalCollector.add, "early-2")
    async with worker(client, task_queue):
        assert await handle.result() == ["early-1", "early-2"]


async def test_signal_cancels_timer(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            w.WaitOrTimeout.run, 30.0, id=wid(), task_queue=task_queue
        )
        for _ in range(200):  # signal only once the timer is running
            if "EVENT_TYPE_TIMER_STARTED" in await event_types(handle):
                break
            await asyncio.sleep(0.02)
        await handle.signal(w.WaitOrTimeout.finish)
        assert await handle.result() == "signalled"
        fast = await client.execute_workflow(
            w.WaitOrTimeout.run, 0.2, id=wid(), task_queue=task_queue
        )
        assert fast == "timed out"
    types = await event_types(handle)
    assert "EVENT_TYPE_TIMER_CANCELED" in types


async def test_signal_with_start(client: Client, task_queue: str) -> None:
    workflow_id = wid()
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            w.SignalCollector.run, 2, id=workflow_id, task_queue=task_queue,
            start_signal="add", start_signal_args=["first"],
        )
        again = await client.start_workflow(
            w.SignalCollector.run, 2, id=workflow_id, task_queue=task_queue,
            start_signal="add", start_signal_args=["second"],
        )
        assert again.result_run_id == handle.result_run_id
        assert await handle.result() == ["first", "second"]


async def test_activity_retries_then_succeeds(client: Client, task_queue: str) -> None:
    key = str(uuid.uuid4())
    async with worker(client, task_queue):
        handle = await client.start_workflow(w.Retrying.run, key, id=wid(), task_queue=task_queue)
        assert await handle.result() == "ok after 3"
    assert w.ATTEMPTS[key] == 3
    history = await handle.fetch_history()
    started = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
    assert len(started) == 1
    attrs = started[0].activity_task_started_event_attributes
    assert attrs.attempt == 3
    assert attrs.last_failure.message == "attempt 2 failed"


async def test_non_retryable_error_fails_workflow(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(w.NonRetryable.run, id=wid(), task_queue=task_queue)
    cause = info.value.cause
    assert isinstance(cause, ActivityError)
    assert isinstance(cause.cause, ApplicationError)
    assert cause.cause.type == "BadInput"


async def test_maximum_attempts(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(w.MaxAttempts.run, id=wid(), task_queue=task_queue)
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert isinstance(info.value.cause, ActivityError)
    history = await handle.fetch_history()
    failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED]
    retry_state = failed[0].activity_task_failed_event_attributes.retry_state
    assert retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED


async def test_workflow_failure(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            w.FailsWithError.run, "broken", id=wid(), task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert isinstance(info.value.cause, ApplicationError)
    assert info.value.cause.message == "broken"
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED


async def test_cancel_workflow(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(w.Sleeper.run, 60.0, id=wid(), task_queue=task_queue)
        await asyncio.sleep(0.3)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert isinstance(info.value.cause, CancelledError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED


async def test_terminate_workflow(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(w.Sleeper.run, 60.0, id=wid(), task_queue=task_queue)
        await handle.terminate("enough")
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert isinstance(info.value.cause, TerminatedError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED


async def test_activity_cancellation(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(w.CancelActivity.run, id=wid(), task_queue=task_queue)
        result = await handle.result()
    assert result == "cancelled"
    types = await event_types(handle)
    assert "EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED" in types


@pytest.mark.parametrize(
    "kind,timeout_type",
    [
        ("heartbeat", TimeoutType.HEARTBEAT),
        ("start_to_close", TimeoutType.START_TO_CLOSE),
        ("schedule_to_close", TimeoutType.SCHEDULE_TO_CLOSE),
    ],
)
async def test_activity_timeouts(
    client: Client, task_queue: str, kind: str, timeout_type: TimeoutType
) -> None:
    async with worker(client, task_queue):
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(w.ActivityTimeout.run, kind, id=wid(), task_queue=task_queue)
    cause = info.value.cause
    assert isinstance(cause, ActivityError)
    assert isinstance(cause.cause, TimeoutError)
    assert cause.cause.type == timeout_type


async def test_schedule_to_start_timeout(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(
                w.ScheduleToStartTimeout.run, id=wid(), task_queue=task_queue
            )
    cause = info.value.cause
    assert isinstance(cause, ActivityError)
    assert isinstance(cause.cause, TimeoutError)
    assert cause.cause.type == TimeoutType.SCHEDULE_TO_START


async def test_heartbeat_details_survive_retry(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        result = await client.execute_workflow(w.HeartbeatResume.run, id=wid(), task_queue=task_queue)
    assert result == "resumed from 3"


async def test_workflow_task_failure_is_retried(client: Client, task_queue: str) -> None:
    key = str(uuid.uuid4())
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            w.FlakyWorkflowTask.run, key, id=wid(), task_queue=task_queue
        )
        assert await handle.result() == "attempts 2"
    types = await event_types(handle)
    assert types.count("EVENT_TYPE_WORKFLOW_TASK_FAILED") == 1


async def test_execution_timeout(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            w.Sleeper.run, 60.0, id=wid(), task_queue=task_queue,
            execution_timeout=timedelta(seconds=1),
        )
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert isinstance(info.value.cause, TimeoutError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.TIMED_OUT


async def test_run_timeout(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            w.Sleeper.run, 60.0, id=wid(), task_queue=task_queue, run_timeout=timedelta(seconds=1)
        )
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert (await handle.describe()).status == WorkflowExecutionStatus.TIMED_OUT


async def test_start_delay(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        loop = asyncio.get_running_loop()
        began = loop.time()
        handle = await client.start_workflow(
            w.ReturnAtOnce.run, "late", id=wid(), task_queue=task_queue,
            start_delay=timedelta(seconds=1),
        )
        assert await handle.result() == "late"
        assert loop.time() - began >= 1.0
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.first_workflow_task_backoff.ToTimedelta() == timedelta(seconds=1)


async def test_memo_and_describe(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handle = await client.start_workflow(
            w.Upserter.run, id=wid(), task_queue=task_queue, memo={"owner": "team-a"}
        )
        await handle.result()
    description = await handle.describe()
    assert await description.memo_value("owner") == "team-a"
    assert await description.memo_value("stage") == "upserted"
    assert description.workflow_type == "Upserter"
    assert description.task_queue == task_queue
    assert description.status == WorkflowExecutionStatus.COMPLETED


async def test_describe_pending_activity(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(
        w.ScheduleToStartTimeout.run, id=wid(), task_queue=task_queue
    )
    async with worker(client, task_queue):
        for _ in range(50):
            description = await handle.describe()
            if description.raw_description.pending_activities:
                break
            await asyncio.sleep(0.05)
    pending = description.raw_description.pending_activities
    assert len(pending) == 1
    assert pending[0].activity_type.name == "greet"
    assert pending[0].state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
    await handle.terminate()


async def test_id_reuse_policy_reject_duplicate(client: Client, task_queue: str) -> None:
    from temporalio.exceptions import WorkflowAlreadyStartedError

    workflow_id = wid()
    async with worker(client, task_queue):
        await client.execute_workflow(w.ReturnAtOnce.run, "one", id=workflow_id, task_queue=task_queue)
        with pytest.raises(WorkflowAlreadyStartedError):
            await client.start_workflow(
                w.ReturnAtOnce.run, "two", id=workflow_id, task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        again = await client.execute_workflow(
            w.ReturnAtOnce.run, "three", id=workflow_id, task_queue=task_queue
        )
    assert again == "three"


async def test_async_activity_completion_by_id(client: Client, task_queue: str) -> None:
    """An activity completed from outside the worker, by workflow and activity id."""
    handle = await client.start_workflow(w.OneActivity.run, "x", id=wid(), task_queue=task_queue)
    from temporalio import activity as act

    started = asyncio.Event()

    @act.defn(name="greet")
    async def greet_async(name: str) -> str:
        started.set()
        act.raise_complete_async()

    async with Worker(client, task_queue=task_queue, workflows=[w.OneActivity],
                      activities=[greet_async]):
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.sleep(0.2)
        description = await handle.describe()
        activity_id = description.raw_description.pending_activities[0].activity_id
        async_handle = client.get_async_activity_handle(
            workflow_id=handle.id, run_id=handle.result_run_id, activity_id=activity_id
        )
        await async_handle.heartbeat("still going")
        await async_handle.complete("done from outside")
        assert await handle.result() == "done from outside"


async def test_concurrent_workflows(client: Client, task_queue: str) -> None:
    async with worker(client, task_queue):
        handles = await asyncio.gather(
            *(
                client.start_workflow(w.OneActivity.run, str(i), id=wid(), task_queue=task_queue)
                for i in range(20)
            )
        )
        results = await asyncio.gather(*(h.result() for h in handles))
    assert results == [f"Hello, {i}!" for i in range(20)]


async def test_many_waiting_results_on_one_connection(client: Client, task_queue: str) -> None:
    """150 result long polls and the worker's polls share one connection (the
    HTTP/2 stream limit must not stall them)."""
    async with worker(client, task_queue):
        handles = await asyncio.gather(
            *(
                client.start_workflow(w.Sleeper.run, 0.5, id=wid(), task_queue=task_queue)
                for _ in range(150)
            )
        )
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 30)
    assert results == ["woke"] * 150
