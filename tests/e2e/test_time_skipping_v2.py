"""Per-workflow time skipping (time skipping v2), as a user drives it: the
SDK's `WorkflowEnvironment.start_time_skipping_v2` launching temporallite,
and `TimeSkipper` on a plain client. Expectations were taken from the real
dev server (`--dynamic-config-value frontend.WorkflowTimeSkippingEnabled=true`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.testing._timeskipping import TimeSkipper, TimeSkippingConfig
from temporalio.worker import Worker

from temporallite.config import ServerConfig
from temporallite.server import TemporalLiteServer
from tests.e2e.test_test_server import executable
from tests.support.servers import free_port

pytestmark = pytest.mark.timeout(60)
HOUR = 3600.0
DAY = 24 * HOUR
TRANSITIONED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED


@activity.defn
async def fails_twice() -> int:
    if activity.info().attempt < 3:
        raise RuntimeError("not yet")
    return activity.info().attempt


@workflow.defn
class Sleeps:
    @workflow.run
    async def run(self, hours: list[float]) -> float:
        for h in hours:
            await asyncio.sleep(h * HOUR)
        return workflow.now().timestamp()


@workflow.defn
class RetriesSlowly:
    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity(
            fails_twice,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(days=1), backoff_coefficient=1),
        )


@workflow.defn
class Parent:
    @workflow.run
    async def run(self) -> float:
        await asyncio.sleep(HOUR)
        return await workflow.execute_child_workflow(
            Sleeps.run, [2.0], id=f"{workflow.info().workflow_id}-child"
        )


@workflow.defn
class Chain:
    @workflow.run
    async def run(self, runs_left: int) -> float:
        await asyncio.sleep(DAY)
        if runs_left:
            workflow.continue_as_new(runs_left - 1)
        return workflow.now().timestamp()


@workflow.defn
class Inbox:
    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.signal
    def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.update
    def add_now(self, item: str) -> float:
        self.items.append(item)
        return workflow.now().timestamp()

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.items) >= 1)
        await asyncio.sleep(DAY)
        await workflow.wait_condition(lambda: len(self.items) >= 2)
        return self.items


WORKFLOWS = [Sleeps, RetriesSlowly, Parent, Chain, Inbox]


@pytest_asyncio.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=executable()
    ) as environment:
        yield environment


def worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=WORKFLOWS, activities=[fails_twice])


def wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


async def event_types(handle: object) -> list[int]:
    return [e.event_type async for e in handle.fetch_history_events()]  # type: ignore[attr-defined]


async def test_thirty_day_timer_finishes_at_once(env: WorkflowEnvironment, task_queue: str) -> None:
    async with worker(env.client, task_queue):
        began = time.monotonic()
        handle = await env.client.start_workflow(
            Sleeps.run, [30 * 24.0], id=wid("sleep"), task_queue=task_queue
        )
        finished_at = await handle.result()
        assert time.monotonic() - began < 1.0
    events = [e async for e in handle.fetch_history_events()]
    assert events[0].workflow_execution_started_event_attributes.time_skipping_config.enabled
    transitions = [e for e in events if e.event_type == TRANSITIONED]
    assert len(transitions) == 1 and transitions[0].worker_may_ignore
    # The workflow's own clock moved 30 days; event times are in it.
    started = events[0].event_time.ToDatetime().timestamp()
    assert finished_at - started == pytest.approx(30 * DAY, abs=5)
    assert events[-1].event_time.ToDatetime().timestamp() - started == pytest.approx(30 * DAY, abs=5)


async def test_activity_retry_backoff_is_skipped(env: WorkflowEnvironment, task_queue: str) -> None:
    async with worker(env.client, task_queue):
        began = time.monotonic()
        handle = await env.client.start_workflow(RetriesSlowly.run, id=wid("retry"), task_queue=task_queue)
        assert await handle.result() == 3
        assert time.monotonic() - began < 5.0
    assert (await event_types(handle)).count(TRANSITIONED) == 2


async def test_describe_reports_time_skipping_info(env: WorkflowEnvironment, task_queue: str) -> None:
    async with worker(env.client, task_queue):
        handle = await env.client.start_workflow(Sleeps.run, [1.0], id=wid("describe"), task_queue=task_queue)
        await handle.result()
    info = await env.get_time_skipping_info(handle)
    assert info is not None
    assert info.effective_config.enabled
    assert info.effective_config.max_session_skip_count == 200  # the server default, filled in
    now = await env.get_current_time(handle)
    assert now - datetime.now(UTC) == pytest.approx(timedelta(hours=1), abs=timedelta(seconds=5))


async def test_fast_forward_stops_at_its_target(env: WorkflowEnvironment, task_queue: str) -> None:
    async with worker(env.client, task_queue):
        with env.with_time_skipping_disabled():
            handle = await env.client.start_workflow(
                Sleeps.run, [1.0, 2.0], id=wid("ff"), task_queue=task_queue
            )
        began = datetime.now(UTC)
        assert await env.fast_forward(handle, timedelta(minutes=90)) is True
        # The first timer fired, the second waits: skipping stopped at +90 min.
        assert (await handle.describe()).status.name == "RUNNING"
        ahead = await env.get_current_time(handle) - began
        assert ahead == pytest.approx(timedelta(minutes=90), abs=timedelta(seconds=10))
        info = await env.get_time_skipping_info(handle)
        assert info is not None and not info.effective_config.enabled
        # A fast-forward past the workflow's end: it ends first.
        assert await env.fast_forward(handle, timedelta(hours=5)) is False
        assert await handle.result() > 0


async def test_max_session_skip_count_disables_skipping(task_queue: str) -> None:
    async with await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=executable(), ts_config=TimeSkippingConfig(max_session_skip_count=2)
    ) as env:
        async with worker(env.client, task_queue):
            handle = await env.client.start_workflow(
                Sleeps.run, [1.0, 1.0, 1.0], id=wid("max"), task_queue=task_queue
            )
            for _ in range(100):
                if (await event_types(handle)).count(EventType.EVENT_TYPE_TIMER_STARTED) == 3:
                    break
                await asyncio.sleep(0.05)
            types = await event_types(handle)
            assert types.count(TRANSITIONED) == 2  # the third skip trips the breaker, silently
            assert (await handle.describe()).status.name == "RUNNING"
            info = await env.get_time_skipping_info(handle)
            assert info is not None and not info.effective_config.enabled
            await handle.terminate()


async def test_child_inherits_time_skipping_and_virtual_time(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    async with worker(env.client, task_queue):
        handle = await env.client.start_workflow(Parent.run, id=wid("parent"), task_queue=task_queue)
        child_finished = await handle.result()
    child = env.client.get_workflow_handle(f"{handle.id}-child")
    events = [e async for e in child.fetch_history_events()]
    started = events[0].workflow_execution_started_event_attributes
    assert started.time_skipping_config.enabled
    assert started.time_skipping_state_propagation.initial_skipped_duration.ToTimedelta() >= timedelta(
        minutes=59
    )
    parent_start = (await handle.describe()).start_time.timestamp()
    # 1 h in the parent, then 2 h in the child.
    assert child_finished - parent_start == pytest.approx(3 * HOUR, abs=10)


async def test_continue_as_new_chain_keeps_skipped_time(env: WorkflowEnvironment, task_queue: str) -> None:
    async with worker(env.client, task_queue):
        handle = await env.client.start_workflow(Chain.run, 2, id=wid("chain"), task_queue=task_queue)
        began = datetime.now(UTC).timestamp()
        finished_at = await handle.result()
    assert finished_at - began == pytest.approx(3 * DAY, abs=10)
    last = env.client.get_workflow_handle(handle.id)
    first = [e async for e in last.fetch_history_events()][0]
    propagation = first.workflow_execution_started_event_attributes.time_skipping_state_propagation
    assert propagation.initial_skipped_duration.ToTimedelta() >= timedelta(days=2) - timedelta(seconds=10)
    assert propagation.initial_skip_count == 2


async def test_signal_and_update_while_skipping(env: WorkflowEnvironment, task_queue: str) -> None:
    async with worker(env.client, task_queue):
        handle = await env.client.start_workflow(Inbox.run, id=wid("inbox"), task_queue=task_queue)
        began = datetime.now(UTC).timestamp()
        await handle.signal(Inbox.add, "a")
        for _ in range(100):
            if TRANSITIONED in await event_types(handle):
                break
            await asyncio.sleep(0.05)
        seen_at = await handle.execute_update(Inbox.add_now, "b")
        assert seen_at - began >= DAY - 10  # the update sees the skipped day
        assert await handle.result() == ["a", "b"]


async def test_time_skipping_can_be_turned_off(task_queue: str) -> None:
    port = free_port()
    config = ServerConfig(port=port, workflow_time_skipping=False)
    server = TemporalLiteServer(config)
    await server.start()
    try:
        client = await Client.connect(server.target)
        skipper = TimeSkipper(client)
        with pytest.raises(RPCError) as raised:
            await skipper.client.start_workflow(Sleeps.run, [1.0], id=wid("off"), task_queue=task_queue)
        assert raised.value.status == RPCStatusCode.UNIMPLEMENTED
        assert raised.value.message == "The Time-Skipping feature is not enabled for namespace."
    finally:
        await server.stop()


async def test_skipped_time_survives_a_restart(tmp_path: Path, task_queue: str) -> None:
    db = tmp_path / "state.db"
    port = free_port()
    workflow_id = wid("restart")
    server = TemporalLiteServer(ServerConfig(port=port, db_filename=str(db)))
    await server.start()
    try:
        client = await Client.connect(server.target)
        skipper = TimeSkipper(client)
        async with worker(client, task_queue):
            handle = await skipper.client.start_workflow(
                Sleeps.run, [1.0, 1.0], id=workflow_id, task_queue=task_queue
            )
            began = datetime.now(UTC).timestamp()
            # Stop skipping after the first hour: the second timer waits.
            assert await skipper.fast_forward(handle, timedelta(minutes=90)) is True
    finally:
        await server.stop()
    server = TemporalLiteServer(ServerConfig(port=port, db_filename=str(db)))
    await server.start()
    try:
        client = await Client.connect(server.target)
        skipper = TimeSkipper(client)
        handle = client.get_workflow_handle(workflow_id)
        ahead = (await skipper.get_current_time(handle)).timestamp() - began
        assert ahead == pytest.approx(90 * 60, abs=10)
        async with worker(client, task_queue):
            assert await skipper.fast_forward(handle) is False  # unbounded: runs to the end
            assert await handle.result() - began == pytest.approx(2 * HOUR, abs=10)
    finally:
        await server.stop()
