"""Workflow scenarios for differential tests (real Temporal server vs temporallite).

Workflows and activities are written the way users write them with the Python
SDK. Each scenario is `async def scenario(client, task_queue) -> list[handle]`:
it runs a Worker on `task_queue`, starts its workflow(s), waits for the result
(or the failure it expects) and returns the handles so that their histories
can be fetched and compared.

Histories must not depend on timing, so where two things could race (a signal
and a workflow task, two activities finishing) the scenario orders them
explicitly: it waits until the workflow is idle (its last workflow task is
completed, seen in the history) before it acts, and activities that must not
finish early wait on a gate that the scenario opens.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    TerminatedError,
)
from temporalio.exceptions import TimeoutError as TemporalTimeoutError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.support import time_skipping_scenarios

# ---------------------------------------------------------------------------
# Coordination between a scenario and the activities / workflow code it runs.
# Everything runs in the test process, so module-level state is shared; it is
# keyed by workflow id so that scenarios (and the two servers) never collide.


@dataclass
class _Gate:
    """An activity announces it runs (`started`) and waits for `release`."""

    started: asyncio.Event
    release: asyncio.Event


_gates: dict[str, _Gate] = {}


def _gate(workflow_id: str) -> _Gate:
    gate = _gates.get(workflow_id)
    if gate is None:
        gate = _gates[workflow_id] = _Gate(asyncio.Event(), asyncio.Event())
    return gate


@dataclass
class _Hold:
    """Holds workflow code (running in the worker's thread pool) inside a
    workflow task until the scenario has done something."""

    entered: threading.Event
    release: threading.Event


_holds: dict[str, _Hold] = {}
_holds_lock = threading.Lock()


def _hold(workflow_id: str) -> _Hold:
    with _holds_lock:
        hold = _holds.get(workflow_id)
        if hold is None:
            hold = _holds[workflow_id] = _Hold(threading.Event(), threading.Event())
        return hold


# How many workflow tasks have failed so far, per workflow id (scenario o).
_task_failures: dict[str, int] = {}

# Task tokens handed over by activities that complete asynchronously, per
# workflow id (scenario async_activity_completion).
_task_tokens: dict[str, asyncio.Future[bytes]] = {}


def _task_token(workflow_id: str) -> asyncio.Future[bytes]:
    future = _task_tokens.get(workflow_id)
    if future is None:
        future = _task_tokens[workflow_id] = asyncio.get_running_loop().create_future()
    return future


# ---------------------------------------------------------------------------
# Activities


def _activity_workflow_id() -> str:
    workflow_id = activity.info().workflow_id
    assert workflow_id is not None, "these activities run for workflows"
    return workflow_id


@activity.defn
async def greet(name: str) -> str:
    return f"Hello, {name}!"


@activity.defn
async def gated_greet(name: str) -> str:
    """Finishes only when the scenario opens this workflow's gate."""
    gate = _gate(_activity_workflow_id())
    gate.started.set()
    await gate.release.wait()
    return f"Hello, {name}!"


@activity.defn
async def flaky(name: str) -> str:
    attempt = activity.info().attempt
    if attempt < 3:
        raise ApplicationError(f"attempt {attempt} failed", type="Flaky")
    return f"{name} succeeded on attempt {attempt}"


@activity.defn
async def fatal(name: str) -> str:
    raise ApplicationError(f"cannot process {name}", type="Fatal")


@activity.defn
async def never_heartbeats() -> str:
    """Runs past its heartbeat timeout without heartbeating; the scenario
    releases it once the workflow has failed."""
    gate = _gate(_activity_workflow_id())
    gate.started.set()
    await gate.release.wait()
    return "too late"


@activity.defn
async def heartbeats_until_cancelled() -> str:
    gate = _gate(_activity_workflow_id())
    gate.started.set()
    try:
        for i in range(200):
            activity.heartbeat(i)
            await asyncio.sleep(0.05)
    except asyncio.CancelledError:
        # Cleanup would go here; then report the cancellation.
        raise
    return "not cancelled"


@activity.defn
async def fatal_non_retryable(name: str) -> str:
    """Fails with a failure marked non-retryable by the activity itself."""
    raise ApplicationError(f"cannot process {name}", type="Broken", non_retryable=True)


@activity.defn
async def slow_first_attempt(name: str) -> str:
    """Attempt 1 outlives its start-to-close timeout (it waits for the gate,
    which the scenario opens only once the workflow is over); attempt 2
    returns at once."""
    attempt = activity.info().attempt
    if attempt == 1:
        gate = _gate(_activity_workflow_id())
        gate.started.set()
        await gate.release.wait()
        return "too late"
    return f"{name} done on attempt {attempt}"


@activity.defn
async def completes_async(name: str) -> str:
    """Hands its task token to the scenario, which completes it later."""
    _task_token(_activity_workflow_id()).set_result(activity.info().task_token)
    activity.raise_complete_async()


ACTIVITIES: list[Callable[..., Any]] = [
    greet,
    gated_greet,
    flaky,
    fatal,
    never_heartbeats,
    heartbeats_until_cancelled,
    fatal_non_retryable,
    slow_first_attempt,
    completes_async,
]

# A task queue that no worker ever polls (a fixed name, so that it compares
# equal between runs).
UNPOLLED_TASK_QUEUE = "temporallite-tests-nobody-polls-this-queue"

# Generous bounds: they only appear in the history, nothing waits on them.
_ACT_TIMEOUT = timedelta(seconds=10)

# ---------------------------------------------------------------------------
# Workflows


@workflow.defn
class ReturnAtOnce:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"hi {name}"


@workflow.defn
class OneActivity:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(greet, name, start_to_close_timeout=_ACT_TIMEOUT)


@workflow.defn
class SequenceAndParallel:
    @workflow.run
    async def run(self, name: str) -> list[str]:
        results = []
        for i in range(3):
            results.append(
                await workflow.execute_activity(greet, f"{name}-{i}", start_to_close_timeout=_ACT_TIMEOUT)
            )
        # Two in parallel; the second one is held until the first one's
        # completion has been handled, so the order is the same every time.
        first = workflow.execute_activity(greet, f"{name}-p0", start_to_close_timeout=_ACT_TIMEOUT)
        second = workflow.execute_activity(gated_greet, f"{name}-p1", start_to_close_timeout=_ACT_TIMEOUT)
        results.extend(await asyncio.gather(first, second))
        return results


@workflow.defn
class SleepOneSecond:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(1)
        return "woke up"


@workflow.defn
class SignalBeatsTimer:
    def __init__(self) -> None:
        self.approved = False

    @workflow.signal
    def approve(self) -> None:
        self.approved = True

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: self.approved, timeout=timedelta(seconds=30))
        except TimeoutError:  # asyncio's, raised by wait_condition
            return "timed out"
        return "approved"


@workflow.defn
class ThreeSignals:
    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.items) >= 1)
        await workflow.execute_activity(gated_greet, self.items[0], start_to_close_timeout=_ACT_TIMEOUT)
        await workflow.wait_condition(lambda: len(self.items) >= 3)
        return self.items


@workflow.defn(sandboxed=False)
class SignalDuringWorkflowTask:
    """Its first workflow task is held open while the client signals, so the
    signal reaches the server while that task is in flight."""

    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.run
    async def run(self) -> list[str]:
        hold = _hold(workflow.info().workflow_id)
        if not hold.entered.is_set():
            hold.entered.set()
            hold.release.wait(1.5)  # below the SDK's 2 s deadlock detection
        # The held task completes with a command (start a timer) while the
        # signal is buffered on the server.
        await workflow.wait_condition(lambda: len(self.items) >= 1, timeout=timedelta(seconds=30))
        return self.items


@workflow.defn
class RetriedActivity:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            flaky,
            name,
            start_to_close_timeout=_ACT_TIMEOUT,
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )


@workflow.defn
class NonRetryableActivity:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            fatal,
            name,
            start_to_close_timeout=_ACT_TIMEOUT,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100),
                non_retryable_error_types=["Fatal"],
            ),
        )


@workflow.defn
class FailingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        raise ApplicationError(f"{name} is not acceptable", {"name": name}, type="Rejected")


@workflow.defn
class LongSleep:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(hours=1))
        return "done"


@workflow.defn
class HeartbeatTimeout:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            never_heartbeats,
            start_to_close_timeout=_ACT_TIMEOUT,
            heartbeat_timeout=timedelta(seconds=1),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


@workflow.defn
class CancelActivity:
    def __init__(self) -> None:
        self.stop = False

    @workflow.signal
    def stop_activity(self) -> None:
        self.stop = True

    @workflow.run
    async def run(self) -> str:
        handle = workflow.start_activity(
            heartbeats_until_cancelled,
            start_to_close_timeout=_ACT_TIMEOUT,
            heartbeat_timeout=timedelta(seconds=1),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        await workflow.wait_condition(lambda: self.stop)
        handle.cancel()
        try:
            return await handle
        except ActivityError as err:
            if isinstance(err.cause, CancelledError):
                return "activity cancelled"
            raise


@workflow.defn
class SignalWithStart:
    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.run
    async def run(self, expected: int) -> list[str]:
        await workflow.wait_condition(lambda: len(self.items) >= expected)
        return self.items


@workflow.defn(sandboxed=False)
class FailsFirstTasks:
    """A bug (RuntimeError) in the first `failures` workflow tasks; the task
    retried after the "fix" succeeds. In the Python SDK an exception that is
    not a Temporal failure fails the workflow task, not the workflow."""

    @workflow.run
    async def run(self, name: str, failures: int) -> str:
        wid = workflow.info().workflow_id
        if _task_failures.get(wid, 0) < failures:
            _task_failures[wid] = _task_failures.get(wid, 0) + 1
            raise RuntimeError("bug in workflow code")
        return await workflow.execute_activity(greet, name, start_to_close_timeout=_ACT_TIMEOUT)


@workflow.defn
class WaitForSignal:
    def __init__(self) -> None:
        self.value: str | None = None

    @workflow.signal
    def go(self, value: str) -> None:
        self.value = value

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.value is not None)
        return f"got {self.value}"


@workflow.defn
class ActivityNobodyPolls:
    @workflow.run
    async def run(self) -> str:
        try:
            return await workflow.execute_activity(
                greet,
                "nobody",
                task_queue=UNPOLLED_TASK_QUEUE,
                schedule_to_start_timeout=timedelta(milliseconds=500),
                start_to_close_timeout=_ACT_TIMEOUT,
            )
        except ActivityError as err:
            assert isinstance(err.cause, TemporalTimeoutError)
            return f"timed out: {err.cause.type.name if err.cause.type else None}"


@workflow.defn
class StartToCloseRetry:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            slow_first_attempt,
            name,
            start_to_close_timeout=timedelta(milliseconds=300),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )


@workflow.defn
class AsyncCompletion:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(completes_async, name, start_to_close_timeout=_ACT_TIMEOUT)


@workflow.defn
class CatchActivityFailure:
    @workflow.run
    async def run(self, name: str) -> str:
        try:
            await workflow.execute_activity(
                fatal_non_retryable,
                name,
                start_to_close_timeout=_ACT_TIMEOUT,
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
            )
        except ActivityError as err:
            assert isinstance(err.cause, ApplicationError)
            return await workflow.execute_activity(
                greet, f"{name} after {err.cause.type}", start_to_close_timeout=_ACT_TIMEOUT
            )
        return "unexpected success"


@workflow.defn
class UpsertMemo:
    @workflow.run
    async def run(self) -> list[str]:
        # Replace one key, remove one, add one.
        workflow.upsert_memo({"a": "ONE", "b": None, "c": {"three": 3}})
        return sorted(workflow.memo())



# -- Queries, child workflows, continue-as-new, retries, external signals and
# cancels, local activities and patches.


@workflow.defn
class QueryableWaiter:
    def __init__(self) -> None:
        self.value: str | None = None

    @workflow.signal
    def go(self, value: str) -> None:
        self.value = value

    @workflow.query
    def state(self) -> str:
        return "waiting" if self.value is None else f"got {self.value}"

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.value is not None)
        return f"got {self.value}"


@workflow.defn
class SignalledChild:
    """Waits for `go`; fails when told "fail", else returns."""

    def __init__(self) -> None:
        self.value: str | None = None

    @workflow.signal
    def go(self, value: str) -> None:
        self.value = value

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.wait_condition(lambda: self.value is not None)
        if self.value == "fail":
            raise ApplicationError(f"child {name} was told to fail", type="ChildFailed")
        return f"child {name} got {self.value}"


@workflow.defn
class ParentOfSignalledChild:
    @workflow.run
    async def run(self, name: str) -> str:
        # A child failure is not caught: it fails the parent.
        return await workflow.execute_child_workflow(
            SignalledChild.run, name, id=f"{workflow.info().workflow_id}-child"
        )


@workflow.defn
class ParentClosesOverChild:
    """Starts a child with the given parent close policy and completes on
    `done`, leaving the child running."""

    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.run
    async def run(self, policy: str) -> str:
        await workflow.start_child_workflow(
            SignalledChild.run,
            policy,
            id=f"{workflow.info().workflow_id}-child",
            parent_close_policy=workflow.ParentClosePolicy[policy],
        )
        await workflow.wait_condition(lambda: self.done)
        return f"parent done ({policy})"


@workflow.defn
class CountsUp:
    @workflow.run
    async def run(self, count: int, until: int) -> str:
        if count < until:
            workflow.continue_as_new(args=[count + 1, until])
        return f"reached {count} ({workflow.memo_value('owner', 'no memo')})"


@workflow.defn
class FailsFirstAttempt:
    @workflow.run
    async def run(self, name: str) -> str:
        attempt = workflow.info().attempt
        if attempt == 1:
            raise ApplicationError(f"{name}: attempt {attempt} failed", type="FirstAttempt")
        return f"{name} succeeded on attempt {attempt}"


@workflow.defn
class SignalsAnother:
    @workflow.run
    async def run(self, target_id: str, value: str) -> str:
        await workflow.get_external_workflow_handle(target_id).signal(WaitForSignal.go, value)
        return f"signalled {value}"


@workflow.defn
class SignalsNobody:
    @workflow.run
    async def run(self, target_id: str) -> str:
        try:
            await workflow.get_external_workflow_handle(target_id).signal(WaitForSignal.go, "lost")
        except ApplicationError as err:
            return f"signal failed: {err.type}"
        return "signalled"


@workflow.defn
class CancelsAnother:
    @workflow.run
    async def run(self, target_id: str) -> str:
        await workflow.get_external_workflow_handle(target_id).cancel()
        return "cancel requested"


@workflow.defn
class TwoLocalActivities:
    @workflow.run
    async def run(self, name: str) -> list[str]:
        results = []
        for i in (1, 2):
            results.append(
                await workflow.execute_local_activity(
                    greet, f"{name}-{i}", start_to_close_timeout=_ACT_TIMEOUT
                )
            )
        return results


@workflow.defn
class PatchedWorkflow:
    @workflow.run
    async def run(self) -> str:
        if workflow.patched("use-new-greeting"):
            greeting = "new"
        else:
            greeting = "old"
        workflow.deprecate_patch("retired-change")
        return greeting


# -- Updates and update-with-start.


@workflow.defn
class UpdatableCounter:
    """A total changed by the `add` update (negative amounts are rejected by
    its validator); returns the total once the `finish` signal comes."""

    def __init__(self) -> None:
        self.total = 0
        self.done = False

    @workflow.update
    def add(self, amount: int) -> int:
        self.total += amount
        return self.total

    @add.validator
    def validate_add(self, amount: int) -> None:
        if amount < 0:
            raise ApplicationError(f"cannot add {amount}", type="NegativeAmount")

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.total


WORKFLOWS = [
    ReturnAtOnce,
    OneActivity,
    SequenceAndParallel,
    SleepOneSecond,
    SignalBeatsTimer,
    ThreeSignals,
    SignalDuringWorkflowTask,
    RetriedActivity,
    NonRetryableActivity,
    FailingWorkflow,
    LongSleep,
    HeartbeatTimeout,
    CancelActivity,
    SignalWithStart,
    FailsFirstTasks,
    WaitForSignal,
    ActivityNobodyPolls,
    StartToCloseRetry,
    AsyncCompletion,
    CatchActivityFailure,
    UpsertMemo,
    QueryableWaiter,
    SignalledChild,
    ParentOfSignalledChild,
    ParentClosesOverChild,
    CountsUp,
    FailsFirstAttempt,
    SignalsAnother,
    SignalsNobody,
    CancelsAnother,
    TwoLocalActivities,
    PatchedWorkflow,
    UpdatableCounter,
]

# ---------------------------------------------------------------------------
# Helpers for scenarios

Events = Sequence[HistoryEvent]
Scenario = Callable[[Client, str], Awaitable[list[WorkflowHandle]]]


def _worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=WORKFLOWS, activities=ACTIVITIES)


def _wid(name: str) -> str:
    return f"{name}-{uuid.uuid4()}"


_WFT_TYPES = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}


def is_idle(history: Events) -> bool:
    """True when the workflow has no workflow task pending: its last
    workflow-task event is a completion (so the next thing that happens to it
    starts a new task, whatever the timing)."""
    last = None
    for event in history:
        if event.event_type in _WFT_TYPES:
            last = event.event_type
    return last == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


def count(history: Events, event_type: EventType.ValueType) -> int:
    return sum(1 for e in history if e.event_type == event_type)


async def wait_history(
    handle: WorkflowHandle,
    predicate: Callable[[Events], bool],
    *,
    timeout: float = 10.0,
    what: str = "condition",
) -> Events:
    """Poll the history until `predicate` holds (always also requiring the
    workflow to be idle)."""
    deadline = time.monotonic() + timeout
    while True:
        history = list((await handle.fetch_history()).events)
        if is_idle(history) and predicate(history):
            return history
        if time.monotonic() > deadline:
            types = [EventType.Name(e.event_type) for e in history]
            raise AssertionError(f"{handle.id}: timed out waiting for {what}; history: {types}")
        await asyncio.sleep(0.05)


async def wait_idle(handle: WorkflowHandle, **kwargs: object) -> Events:
    return await wait_history(handle, lambda _h: True, what="idle", **kwargs)  # type: ignore[arg-type]


async def expect_failure(handle: WorkflowHandle) -> WorkflowFailureError:
    try:
        await handle.result()
    except WorkflowFailureError as err:
        return err
    raise AssertionError(f"{handle.id} was expected to fail")


async def run_handles(client: Client, handle: WorkflowHandle) -> list[WorkflowHandle]:
    """One handle per run of a chain (continue-as-new, retry, cron), from the
    first run on, following new_execution_run_id from each run's last event."""
    handles = []
    run_id = handle.result_run_id or handle.run_id
    while run_id:
        run = client.get_workflow_handle(handle.id, run_id=run_id)
        handles.append(run)
        last = list((await run.fetch_history()).events)[-1]
        which = last.WhichOneof("attributes")
        run_id = getattr(getattr(last, which), "new_execution_run_id", "") if which else ""
    return handles


async def wait_closed(handle: WorkflowHandle, timeout: float = 10.0) -> None:
    """Until the workflow's history ends with a close event."""
    closing = {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    }
    deadline = time.monotonic() + timeout
    while True:
        history = list((await handle.fetch_history()).events)
        if history and history[-1].event_type in closing:
            return
        if time.monotonic() > deadline:
            types = [EventType.Name(e.event_type) for e in history]
            raise AssertionError(f"{handle.id}: not closed after {timeout}s; history: {types}")
        await asyncio.sleep(0.05)


def _start(client: Client, wf: object, arg: object | None, name: str, tq: str, **kw: object):
    args = [] if arg is None else [arg]
    return client.start_workflow(wf, args=args, id=_wid(name), task_queue=tq, **kw)  # type: ignore[call-overload]


# ---------------------------------------------------------------------------
# Scenarios


async def return_at_once(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, ReturnAtOnce.run, "world", "return-at-once", tq)
        assert await handle.result() == "hi world"
    return [handle]


async def one_activity(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, OneActivity.run, "world", "one-activity", tq)
        assert await handle.result() == "Hello, world!"
    return [handle]


async def sequence_and_parallel(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, SequenceAndParallel.run, "w", "sequence-parallel", tq)
        # Four activities completed (three in sequence, the first parallel
        # one) and handled; only then let the gated one finish.
        await wait_history(
            handle,
            lambda h: count(h, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 4,
            what="4 activities completed",
        )
        _gate(handle.id).release.set()
        assert await handle.result() == [f"Hello, w-{s}!" for s in ("0", "1", "2", "p0", "p1")]
    return [handle]


async def timer_fires(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, SleepOneSecond.run, None, "timer-fires", tq)
        assert await handle.result() == "woke up"
    return [handle]


async def timer_cancelled_by_signal(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, SignalBeatsTimer.run, None, "timer-cancelled", tq)
        await wait_history(
            handle,
            lambda h: count(h, EventType.EVENT_TYPE_TIMER_STARTED) == 1,
            what="timer started",
        )
        await handle.signal(SignalBeatsTimer.approve)
        assert await handle.result() == "approved"
    return [handle]


async def three_signals(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, ThreeSignals.run, None, "three-signals", tq)
        gate = _gate(handle.id)
        await wait_idle(handle)
        await handle.signal(ThreeSignals.add, "a")
        # The activity runs; the second signal arrives meanwhile.
        await asyncio.wait_for(gate.started.wait(), 10)
        await wait_idle(handle)
        await handle.signal(ThreeSignals.add, "b")
        await wait_history(
            handle,
            lambda h: count(h, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 2,
            what="second signal handled",
        )
        gate.release.set()
        await wait_history(
            handle,
            lambda h: count(h, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 1,
            what="activity completed",
        )
        await handle.signal(ThreeSignals.add, "c")
        assert await handle.result() == ["a", "b", "c"]
    return [handle]


async def signal_during_workflow_task(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, SignalDuringWorkflowTask.run, None, "signal-in-task", tq)
        hold = _hold(handle.id)
        assert await asyncio.to_thread(hold.entered.wait, 10), "first workflow task never ran"
        await handle.signal(SignalDuringWorkflowTask.add, "x")
        hold.release.set()
        assert await handle.result() == ["x"]
    return [handle]


async def activity_retries(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, RetriedActivity.run, "job", "activity-retries", tq)
        assert await handle.result() == "job succeeded on attempt 3"
    return [handle]


async def activity_non_retryable(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, NonRetryableActivity.run, "job", "non-retryable", tq)
        err = await expect_failure(handle)
        assert isinstance(err.cause, ActivityError)
        assert isinstance(err.cause.cause, ApplicationError)
        assert err.cause.cause.type == "Fatal"
    return [handle]


async def workflow_fails(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, FailingWorkflow.run, "input", "workflow-fails", tq)
        err = await expect_failure(handle)
        assert isinstance(err.cause, ApplicationError)
        assert err.cause.type == "Rejected"
    return [handle]


async def cancel_workflow(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, LongSleep.run, None, "cancel-workflow", tq)
        await wait_history(
            handle,
            lambda h: count(h, EventType.EVENT_TYPE_TIMER_STARTED) == 1,
            what="timer started",
        )
        await handle.cancel()
        err = await expect_failure(handle)
        assert isinstance(err.cause, CancelledError)
    return [handle]


async def terminate_workflow(client: Client, tq: str) -> list[WorkflowHandle]:
    """Two workflows: terminated with a reason and details, and with neither."""
    handles = []
    async with _worker(client, tq):
        for name, args, reason in (
            ("terminate-with-reason", ("some", "details"), "stopped by the test"),
            ("terminate-no-reason", (), None),
        ):
            handle = await _start(client, LongSleep.run, None, name, tq)
            await wait_history(
                handle,
                lambda h: count(h, EventType.EVENT_TYPE_TIMER_STARTED) == 1,
                what="timer started",
            )
            await handle.terminate(*args, reason=reason)
            err = await expect_failure(handle)
            assert isinstance(err.cause, TerminatedError)
            handles.append(handle)
    return handles


async def activity_heartbeat_timeout(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, HeartbeatTimeout.run, None, "heartbeat-timeout", tq)
        gate = _gate(handle.id)
        try:
            err = await expect_failure(handle)
        finally:
            gate.release.set()  # let the (already timed out) activity return
        assert isinstance(err.cause, ActivityError)
        assert isinstance(err.cause.cause, TemporalTimeoutError)
    return [handle]


async def cancel_activity(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, CancelActivity.run, None, "cancel-activity", tq)
        await asyncio.wait_for(_gate(handle.id).started.wait(), 10)
        await wait_idle(handle)
        await handle.signal(CancelActivity.stop_activity)
        assert await handle.result() == "activity cancelled"
    return [handle]


async def signal_with_start(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await client.start_workflow(
            SignalWithStart.run,
            2,
            id=_wid("signal-with-start"),
            task_queue=tq,
            start_signal="add",
            start_signal_args=["first"],
        )
        await wait_history(
            handle,
            lambda h: count(h, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) >= 1,
            what="first task",
        )
        await handle.signal(SignalWithStart.add, "second")
        assert await handle.result() == ["first", "second"]
    return [handle]


async def execution_timeout(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(
            client,
            LongSleep.run,
            None,
            "execution-timeout",
            tq,
            execution_timeout=timedelta(seconds=2),
        )
        err = await expect_failure(handle)
        assert isinstance(err.cause, TemporalTimeoutError)
    return [handle]


async def workflow_task_failure(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await client.start_workflow(
            FailsFirstTasks.run, args=["again", 1], id=_wid("workflow-task-failure"), task_queue=tq
        )
        assert await handle.result() == "Hello, again!"
    return [handle]


async def workflow_task_fails_twice(client: Client, tq: str) -> list[WorkflowHandle]:
    """The SDK reports only the first failure of a workflow task; it leaves
    the failing retry unanswered, so the retry ends by timing out, after the
    workflow task timeout (shortened to 1 s here)."""
    async with _worker(client, tq):
        handle = await client.start_workflow(
            FailsFirstTasks.run,
            args=["again", 2],
            id=_wid("workflow-task-fails-twice"),
            task_queue=tq,
            task_timeout=timedelta(seconds=1),
        )
        assert await handle.result() == "Hello, again!"
    return [handle]


async def worker_restart_sticky(client: Client, tq: str) -> list[WorkflowHandle]:
    """The first workflow task runs on worker A, which keeps the workflow in
    its sticky cache; A shuts down (telling the server, with ShutdownWorker,
    that its sticky queue is gone); the signal's workflow task is then
    scheduled on A's sticky queue (WorkflowTaskScheduled names it), and the
    server, finding no poller there, hands it to the normal queue, where
    worker B picks it up: no WorkflowTaskTimedOut event.

    This is deterministic only because A shuts down gracefully. A worker that
    vanishes without ShutdownWorker leaves the sticky queue looking alive for
    about 10 s after its last poll; a task scheduled then sits there until the
    sticky schedule-to-start timeout (5 s) writes WorkflowTaskTimedOut
    (SCHEDULE_TO_START) and a new task on the normal queue."""
    async with _worker(client, tq):
        handle = await _start(client, WaitForSignal.run, None, "worker-restart-sticky", tq)
        await wait_idle(handle)
    async with _worker(client, tq):
        await handle.signal(WaitForSignal.go, "it")
        assert await handle.result() == "got it"
    return [handle]


async def start_delay(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(
            client, ReturnAtOnce.run, "later", "start-delay", tq, start_delay=timedelta(seconds=1)
        )
        assert await handle.result() == "hi later"
    return [handle]


async def run_timeout(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(
            client, LongSleep.run, None, "run-timeout", tq, run_timeout=timedelta(seconds=1)
        )
        err = await expect_failure(handle)
        assert isinstance(err.cause, TemporalTimeoutError)
    return [handle]


async def activity_schedule_to_start_timeout(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, ActivityNobodyPolls.run, None, "schedule-to-start", tq)
        assert await handle.result() == "timed out: SCHEDULE_TO_START"
    return [handle]


async def activity_start_to_close_retry(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, StartToCloseRetry.run, "job", "start-to-close-retry", tq)
        try:
            assert await handle.result() == "job done on attempt 2"
        finally:
            _gate(handle.id).release.set()  # let the timed-out first attempt return
    return [handle]


async def async_activity_completion(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, AsyncCompletion.run, "job", "async-completion", tq)
        token = await asyncio.wait_for(_task_token(handle.id), 10)
        activity_handle = client.get_async_activity_handle(task_token=token)
        await activity_handle.heartbeat("halfway")
        await activity_handle.complete("completed from outside")
        assert await handle.result() == "completed from outside"
    return [handle]


async def activity_failure_then_workflow_catches(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, CatchActivityFailure.run, "job", "catch-activity-failure", tq)
        assert await handle.result() == "Hello, job after Broken!"
    return [handle]


async def many_signals_in_one_task(client: Client, tq: str) -> list[WorkflowHandle]:
    """All five signals reach the server before any worker polls, so the
    first workflow task sees them all."""
    handle = await _start(client, SignalWithStart.run, 5, "many-signals", tq)
    for i in range(5):
        await handle.signal(SignalWithStart.add, f"s{i}")
    async with _worker(client, tq):
        assert await handle.result() == [f"s{i}" for i in range(5)]
    return [handle]


async def upsert_memo(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, UpsertMemo.run, None, "upsert-memo", tq, memo={"a": "one", "b": "two"})
        assert await handle.result() == ["a", "c"]
    return [handle]


# -- Queries, child workflows, continue-as-new, retries, external signals and
# cancels, local activities and patches.


async def query_running_workflow(client: Client, tq: str) -> list[WorkflowHandle]:
    """Queries leave no event: the history is that of a signalled workflow,
    but the scenario checks the answers (before and after the signal)."""
    async with _worker(client, tq):
        handle = await _start(client, QueryableWaiter.run, None, "query-running", tq)
        await wait_idle(handle)
        assert await handle.query(QueryableWaiter.state) == "waiting"
        await handle.signal(QueryableWaiter.go, "it")
        assert await handle.result() == "got it"
        assert await handle.query(QueryableWaiter.state) == "got it"  # replayed
    return [handle]


async def _child_scenario(client: Client, tq: str, name: str, order: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        parent = await _start(client, ParentOfSignalledChild.run, "kid", name, tq)
        await wait_history(
            parent,
            lambda h: count(h, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) == 1,
            what="child started",
        )
        child = client.get_workflow_handle(f"{parent.id}-child")
        await wait_idle(child)
        await child.signal(SignalledChild.go, order)
        if order == "fail":
            err = await expect_failure(parent)
            assert isinstance(err.cause, ChildWorkflowError)
            assert isinstance(err.cause.cause, ApplicationError)
            assert err.cause.cause.type == "ChildFailed"
        else:
            assert await parent.result() == f"child kid got {order}"
    return [parent, child]


async def child_workflow_success(client: Client, tq: str) -> list[WorkflowHandle]:
    return await _child_scenario(client, tq, "child-success", "go")


async def child_workflow_failure(client: Client, tq: str) -> list[WorkflowHandle]:
    return await _child_scenario(client, tq, "child-failure", "fail")


async def parent_close_policies(client: Client, tq: str) -> list[WorkflowHandle]:
    """The parent completes while its child runs: TERMINATE terminates the
    child, REQUEST_CANCEL asks it to cancel (it does), ABANDON leaves it
    running (the scenario then lets it finish)."""
    handles: list[WorkflowHandle] = []
    async with _worker(client, tq):
        for policy in ("TERMINATE", "REQUEST_CANCEL", "ABANDON"):
            parent = await _start(client, ParentClosesOverChild.run, policy, f"close-{policy.lower()}", tq)
            await wait_history(
                parent,
                lambda h: count(h, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) == 1,
                what="child started",
            )
            child = client.get_workflow_handle(f"{parent.id}-child")
            await wait_idle(child)
            await parent.signal(ParentClosesOverChild.finish)
            assert await parent.result() == f"parent done ({policy})"
            if policy == "ABANDON":
                await asyncio.sleep(0.5)  # give the server a chance to (wrongly) act on it
                await wait_idle(child)
                await child.signal(SignalledChild.go, "alone")
                assert await child.result() == "child ABANDON got alone"
            else:
                await wait_closed(child)
            handles += [parent, child]
    return handles


async def continue_as_new(client: Client, tq: str) -> list[WorkflowHandle]:
    """Three runs (two continue-as-new); the memo is carried over."""
    async with _worker(client, tq):
        handle = await client.start_workflow(
            CountsUp.run, args=[0, 2], id=_wid("continue-as-new"), task_queue=tq, memo={"owner": "alice"}
        )
        assert await handle.result() == "reached 2 (alice)"
    runs = await run_handles(client, handle)
    assert len(runs) == 3
    return runs


async def workflow_retry(client: Client, tq: str) -> list[WorkflowHandle]:
    """The first attempt fails, the retry (a new run) succeeds."""
    async with _worker(client, tq):
        handle = await _start(
            client,
            FailsFirstAttempt.run,
            "job",
            "workflow-retry",
            tq,
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )
        assert await handle.result() == "job succeeded on attempt 2"
    runs = await run_handles(client, handle)
    assert len(runs) == 2
    return runs


async def local_activities(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, TwoLocalActivities.run, "la", "local-activities", tq)
        assert await handle.result() == ["Hello, la-1!", "Hello, la-2!"]
    return [handle]


async def patched_marker(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, PatchedWorkflow.run, None, "patched", tq)
        assert await handle.result() == "new"
    return [handle]


async def signal_external_workflow(client: Client, tq: str) -> list[WorkflowHandle]:
    """A signals B by workflow id; C signals a workflow id nobody uses."""
    async with _worker(client, tq):
        target = await _start(client, WaitForSignal.run, None, "signal-target", tq)
        await wait_idle(target)
        sender = await client.start_workflow(
            SignalsAnother.run, args=[target.id, "hello"], id=_wid("signal-sender"), task_queue=tq
        )
        assert await sender.result() == "signalled hello"
        assert await target.result() == "got hello"
        lost = await _start(client, SignalsNobody.run, f"{target.id}-nobody", "signal-nobody", tq)
        assert await lost.result() == "signal failed: ExternalWorkflowExecutionNotFound"
    return [sender, target, lost]


async def cancel_external_workflow(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        target = await _start(client, WaitForSignal.run, None, "cancel-target", tq)
        await wait_idle(target)
        canceller = await _start(client, CancelsAnother.run, target.id, "canceller", tq)
        assert await canceller.result() == "cancel requested"
        err = await expect_failure(target)
        assert isinstance(err.cause, CancelledError)
    return [canceller, target]



# -- Updates and update-with-start. Update ids are chosen here, so they are
# the same on both servers.

_ADMITTED = UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED


async def wait_admitted(
    client: Client, handle: WorkflowHandle, update_id: str, timeout: float = 10.0
) -> None:
    """Until the server has admitted the update: PollWorkflowExecutionUpdate
    waiting for ADMITTED answers at once when it has, NOT_FOUND before."""
    request = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(
            workflow_execution=WorkflowExecution(workflow_id=handle.id), update_id=update_id
        ),
        wait_policy=WaitPolicy(lifecycle_stage=_ADMITTED),
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            await client.workflow_service.poll_workflow_execution_update(
                request, timeout=timedelta(seconds=2)
            )
            return
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"{handle.id}: update {update_id!r} not admitted after {timeout}s")
        await asyncio.sleep(0.05)


async def update_accepted_completed(client: Client, tq: str) -> list[WorkflowHandle]:
    async with _worker(client, tq):
        handle = await _start(client, UpdatableCounter.run, None, "update-accepted", tq)
        await wait_idle(handle)
        assert await handle.execute_update(UpdatableCounter.add, 5, id="add-5") == 5
        await wait_idle(handle)
        await handle.signal(UpdatableCounter.finish)
        assert await handle.result() == 5
    return [handle]


async def update_rejected_then_accepted(client: Client, tq: str) -> list[WorkflowHandle]:
    """The rejected update leaves no event (its speculative workflow task is
    dropped); the next one is accepted."""
    async with _worker(client, tq):
        handle = await _start(client, UpdatableCounter.run, None, "update-rejected", tq)
        await wait_idle(handle)
        try:
            await handle.execute_update(UpdatableCounter.add, -1, id="rejected")
        except WorkflowUpdateFailedError as err:
            assert isinstance(err.cause, ApplicationError)
            assert err.cause.type == "NegativeAmount"
        else:
            raise AssertionError("the validator should have rejected the update")
        assert await handle.execute_update(UpdatableCounter.add, 2, id="accepted") == 2
        await wait_idle(handle)
        await handle.signal(UpdatableCounter.finish)
        assert await handle.result() == 2
    return [handle]


async def two_updates_in_one_task(client: Client, tq: str) -> list[WorkflowHandle]:
    """Both updates are admitted (in this order) before any worker polls, so
    the first workflow task carries both requests."""
    handle = await _start(client, UpdatableCounter.run, None, "two-updates", tq)
    first = asyncio.create_task(handle.execute_update(UpdatableCounter.add, 1, id="first"))
    await wait_admitted(client, handle, "first")
    second = asyncio.create_task(handle.execute_update(UpdatableCounter.add, 10, id="second"))
    await wait_admitted(client, handle, "second")
    async with _worker(client, tq):
        assert await asyncio.gather(first, second) == [1, 11]
        await wait_idle(handle)
        await handle.signal(UpdatableCounter.finish)
        assert await handle.result() == 11
    return [handle]


async def update_with_start_new_workflow(client: Client, tq: str) -> list[WorkflowHandle]:
    """The update request rides on the first workflow task."""
    async with _worker(client, tq):
        start = WithStartWorkflowOperation(
            UpdatableCounter.run,
            id=_wid("update-with-start"),
            task_queue=tq,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        result = await client.execute_update_with_start_workflow(
            UpdatableCounter.add, 7, id="with-start", start_workflow_operation=start
        )
        assert result == 7
        handle = await start.workflow_handle()
        await wait_idle(handle)
        await handle.signal(UpdatableCounter.finish)
        assert await handle.result() == 7
    return [handle]


async def eager_start(client: Client, tq: str) -> list[WorkflowHandle]:
    """The SDK asks for eager start (it has a worker for the task queue in
    this process); the first workflow task comes back in the start response
    (WorkflowExecutionStarted says eager_execution_accepted)."""
    async with _worker(client, tq):
        handle = await _start(client, ReturnAtOnce.run, "eager", "eager-start", tq, request_eager_start=True)
        assert await handle.result() == "hi eager"
    return [handle]


SCENARIOS: dict[str, Scenario] = {
    "return_at_once": return_at_once,  # (a)
    "one_activity": one_activity,  # (b)
    "sequence_and_parallel": sequence_and_parallel,  # (c)
    "timer_fires": timer_fires,  # (d)
    "timer_cancelled_by_signal": timer_cancelled_by_signal,  # (d)
    "three_signals": three_signals,  # (e) one signal while an activity runs
    "signal_during_workflow_task": signal_during_workflow_task,  # (e) buffered signal
    "activity_retries": activity_retries,  # (f)
    "activity_non_retryable": activity_non_retryable,  # (g)
    "workflow_fails": workflow_fails,  # (h)
    "cancel_workflow": cancel_workflow,  # (i)
    "terminate_workflow": terminate_workflow,  # (j)
    "activity_heartbeat_timeout": activity_heartbeat_timeout,  # (k)
    "cancel_activity": cancel_activity,  # (l)
    "signal_with_start": signal_with_start,  # (m)
    "execution_timeout": execution_timeout,  # (n)
    "workflow_task_failure": workflow_task_failure,  # (o)
    "workflow_task_fails_twice": workflow_task_fails_twice,  # (o) second failure unrecorded
    "worker_restart_sticky": worker_restart_sticky,
    "start_delay": start_delay,
    "run_timeout": run_timeout,
    "activity_schedule_to_start_timeout": activity_schedule_to_start_timeout,
    "activity_start_to_close_retry": activity_start_to_close_retry,
    "async_activity_completion": async_activity_completion,
    "activity_failure_then_workflow_catches": activity_failure_then_workflow_catches,
    "many_signals_in_one_task": many_signals_in_one_task,
    "upsert_memo": upsert_memo,
    "query_running_workflow": query_running_workflow,
    "child_workflow_success": child_workflow_success,
    "child_workflow_failure": child_workflow_failure,
    "parent_close_policies": parent_close_policies,
    "continue_as_new": continue_as_new,
    "workflow_retry": workflow_retry,
    "local_activities": local_activities,
    "patched_marker": patched_marker,
    "signal_external_workflow": signal_external_workflow,
    "cancel_external_workflow": cancel_external_workflow,
    "update_accepted_completed": update_accepted_completed,
    "update_rejected_then_accepted": update_rejected_then_accepted,
    "two_updates_in_one_task": two_updates_in_one_task,
    "update_with_start_new_workflow": update_with_start_new_workflow,
    "eager_start": eager_start,
}


# Per-workflow time skipping (the reference runs with it enabled).
SCENARIOS.update(time_skipping_scenarios.SCENARIOS)


def names() -> Sequence[str]:
    return list(SCENARIOS)
