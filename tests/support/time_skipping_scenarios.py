"""Differential scenarios for per-workflow time skipping (time skipping v2).

The reference dev server runs with `frontend.WorkflowTimeSkippingEnabled=true`.
Workflows sleep hours or days; with skipping they finish in about a second
on either server (the real one fires a skipped-to timer ~1 s after the skip).
Merged into `scenarios.SCENARIOS`; self-contained so that module does not
import back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.testing._timeskipping import TimeSkipper
from temporalio.worker import Worker

HOUR = 3600.0
_attempts: dict[str, int] = {}


@activity.defn
async def ts_fails_twice() -> str:
    key = activity.info().workflow_id
    _attempts[key] = _attempts.get(key, 0) + 1
    if activity.info().attempt < 3:
        raise RuntimeError("not yet")
    return "done"


@workflow.defn
class TsSleeps:
    @workflow.run
    async def run(self, hours: list[float]) -> str:
        for h in hours:
            await asyncio.sleep(h * HOUR)
        return "slept"


@workflow.defn
class TsRetries:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            ts_fails_twice,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(hours=1)),
        )


@workflow.defn
class TsParent:
    @workflow.run
    async def run(self) -> str:
        await asyncio.sleep(HOUR)
        return await workflow.execute_child_workflow(
            TsSleeps.run, [1.0], id=f"{workflow.info().workflow_id}-child"
        )


@workflow.defn
class TsChain:
    @workflow.run
    async def run(self, runs_left: int) -> str:
        await asyncio.sleep(HOUR)
        if runs_left:
            workflow.continue_as_new(runs_left - 1)
        return "end"


@workflow.defn
class TsWaitsForever:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


def _worker(client: Client, tq: str) -> Worker:
    return Worker(
        client, task_queue=tq, workflows=[TsSleeps, TsRetries, TsParent, TsChain, TsWaitsForever],
        activities=[ts_fails_twice],
    )


def _id(name: str) -> str:
    return f"{name}-{uuid.uuid4()}"


async def ts_timer(client: Client, tq: str) -> list[WorkflowHandle]:
    skipper = TimeSkipper(client)
    async with _worker(client, tq):
        handle = await skipper.client.start_workflow(TsSleeps.run, [1.0], id=_id("ts-timer"), task_queue=tq)
        assert await handle.result() == "slept"
    return [handle]


async def ts_activity_retry(client: Client, tq: str) -> list[WorkflowHandle]:
    skipper = TimeSkipper(client)
    async with _worker(client, tq):
        handle = await skipper.client.start_workflow(TsRetries.run, id=_id("ts-retry"), task_queue=tq)
        assert await handle.result() == "done"
    return [handle]


async def ts_fast_forward(client: Client, tq: str) -> list[WorkflowHandle]:
    """Bounded: 90 min skips the 1 h timer and stops half-way through the
    2 h one; then a 5 h fast-forward outlives the workflow."""
    skipper = TimeSkipper(client)
    async with _worker(client, tq):
        with skipper.with_time_skipping_disabled():
            handle = await skipper.client.start_workflow(
                TsSleeps.run, [1.0, 2.0], id=_id("ts-ff"), task_queue=tq
            )
        while EventType.EVENT_TYPE_TIMER_STARTED not in [
            e.event_type async for e in handle.fetch_history_events()
        ]:
            await asyncio.sleep(0.05)
        assert await skipper.fast_forward(handle, timedelta(minutes=90)) is True
        assert await skipper.fast_forward(handle, timedelta(hours=5)) is False
        assert await handle.result() == "slept"
    return [handle]


async def ts_child(client: Client, tq: str) -> list[WorkflowHandle]:
    skipper = TimeSkipper(client)
    async with _worker(client, tq):
        handle = await skipper.client.start_workflow(TsParent.run, id=_id("ts-parent"), task_queue=tq)
        assert await handle.result() == "slept"
    return [handle, client.get_workflow_handle(f"{handle.id}-child")]


async def ts_continue_as_new(client: Client, tq: str) -> list[WorkflowHandle]:
    skipper = TimeSkipper(client)
    async with _worker(client, tq):
        handle = await skipper.client.start_workflow(TsChain.run, 1, id=_id("ts-chain"), task_queue=tq)
        assert await handle.result() == "end"
    first = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
    return [first, client.get_workflow_handle(handle.id)]


async def ts_start_delay(client: Client, tq: str) -> list[WorkflowHandle]:
    skipper = TimeSkipper(client)
    async with _worker(client, tq):
        handle = await skipper.client.start_workflow(
            TsSleeps.run, [1.0], id=_id("ts-delay"), task_queue=tq, start_delay=timedelta(hours=3)
        )
        assert await handle.result() == "slept"
    return [handle]


async def ts_run_timeout(client: Client, tq: str) -> list[WorkflowHandle]:
    skipper = TimeSkipper(client)
    async with _worker(client, tq):
        handle = await skipper.client.start_workflow(
            TsWaitsForever.run, id=_id("ts-run-timeout"), task_queue=tq, run_timeout=timedelta(hours=2)
        )
        try:
            await handle.result()
            raise AssertionError("the run should time out")
        except WorkflowFailureError:
            pass
    return [handle]


SCENARIOS: dict[str, Callable[[Client, str], Awaitable[list[WorkflowHandle]]]] = {
    "ts_timer": ts_timer,
    "ts_activity_retry": ts_activity_retry,
    "ts_fast_forward": ts_fast_forward,
    "ts_child": ts_child,
    "ts_continue_as_new": ts_continue_as_new,
    "ts_start_delay": ts_start_delay,
    "ts_run_timeout": ts_run_timeout,
}
