"""The workloads: the same workflows driven the same way against every server.

A workload starts `count` workflows, at most `concurrency` in flight, each
timed from the start call to its result (`Client.execute_workflow`), while
the server's CPU time and the bench process's own CPU time are read before and
after. A few unmeasured workflows warm up each workload first.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.servers import BenchError, ServerProcess, self_cpu_ms
from bench.workflows import (
    ALL_ACTIVITIES,
    ALL_WORKFLOWS,
    SIGNALS,
    TIMER_S,
    Noop,
    OneActivity,
    Parent,
    Signals,
    Timer,
)

RunOne = Callable[[Client, str, str], Awaitable[Any]]
WARM_UP = 5
WORKFLOW_TIMEOUT_S = 120.0  # a stalled server fails the run with one line instead of hanging
LATENESS_SAMPLE = 200  # timer histories read after the run for lateness


async def _noop(client: Client, wf_id: str, tq: str) -> Any:
    return await client.execute_workflow(Noop.run, id=wf_id, task_queue=tq)


async def _activity(client: Client, wf_id: str, tq: str) -> Any:
    return await client.execute_workflow(OneActivity.run, id=wf_id, task_queue=tq)


async def _signals(client: Client, wf_id: str, tq: str) -> Any:
    handle = await client.start_workflow(Signals.run, SIGNALS, id=wf_id, task_queue=tq)
    for _ in range(SIGNALS):
        await handle.signal(Signals.bump)
    return await handle.result()


async def _child(client: Client, wf_id: str, tq: str) -> Any:
    return await client.execute_workflow(Parent.run, id=wf_id, task_queue=tq)


async def _timer(client: Client, wf_id: str, tq: str) -> Any:
    return await client.execute_workflow(Timer.run, id=wf_id, task_queue=tq)


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    run_one: RunOne
    count: int  # full run
    quick_count: int  # --quick
    concurrency: int | None = None  # None: the --concurrency option


WORKLOADS = [
    Workload("noop", "workflow that returns at once", _noop, 500, 40),
    Workload("activity", "one activity", _activity, 500, 40),
    Workload("signals", f"{SIGNALS} signals, sent one after another", _signals, 200, 15),
    Workload("child", "one child workflow", _child, 300, 20),
    Workload("timer", f"one {TIMER_S:g} s timer", _timer, 400, 60, concurrency=200),
    Workload("activity-c1", "one activity, concurrency 1", _activity, 100, 10, concurrency=1),
]
WORKLOAD_NAMES = [w.name for w in WORKLOADS]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats
    return ordered[int(rank) - 1]


async def _drive(
    client: Client, tq: str, workload: Workload, ids: list[str], concurrency: int
) -> list[float]:
    """Run one workflow per id, at most `concurrency` at once; latencies in s."""
    latencies: list[float] = []
    pending = iter(ids)

    async def lane() -> None:
        for wf_id in pending:
            started = time.perf_counter()
            try:
                await asyncio.wait_for(workload.run_one(client, wf_id, tq), WORKFLOW_TIMEOUT_S)
            except TimeoutError:
                raise BenchError(
                    f"{workload.name}: workflow {wf_id} did not finish within {WORKFLOW_TIMEOUT_S:.0f} s"
                ) from None
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(lane() for _ in range(min(concurrency, len(ids)))))
    return latencies


async def timer_lateness(client: Client, ids: list[str]) -> list[float]:
    """TimerFired event time minus (TimerStarted event time + the timer), in s,
    read from the histories the server wrote."""
    lateness = []
    for wf_id in ids[:LATENESS_SAMPLE]:
        history = await client.get_workflow_handle(wf_id).fetch_history()
        started = fired = None
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                started = event.event_time.ToDatetime()
            elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
                fired = event.event_time.ToDatetime()
        if started is not None and fired is not None:
            lateness.append((fired - started).total_seconds() - TIMER_S)
    return lateness


async def run_workload(
    server: ServerProcess, client: Client, tq: str, workload: Workload, count: int, concurrency: int
) -> dict[str, Any]:
    """Warm up, then run `count` workflows and return the metrics."""
    if workload.concurrency is not None:
        concurrency = workload.concurrency
    prefix = f"bench-{workload.name}-{uuid.uuid4().hex[:8]}"
    await _drive(client, tq, workload, [f"{prefix}-warm-{i}" for i in range(WARM_UP)], concurrency)

    ids = [f"{prefix}-{i}" for i in range(count)]
    server_cpu, client_cpu, started = server.cpu_ms(), self_cpu_ms(), time.perf_counter()
    latencies = await _drive(client, tq, workload, ids, concurrency)
    wall = time.perf_counter() - started
    server_cpu, client_cpu = server.cpu_ms() - server_cpu, self_cpu_ms() - client_cpu

    result: dict[str, Any] = {
        "count": count,
        "warm_up": WARM_UP,
        "concurrency": concurrency,
        "wall_s": round(wall, 3),
        "wf_per_s": round(count / wall, 2),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "server_cpu_ms_per_wf": round(server_cpu / count, 2),
        "client_cpu_ms_per_wf": round(client_cpu / count, 2),
    }
    if workload.run_one is _timer:
        lateness = await timer_lateness(client, ids)
        if lateness:
            result["lateness_p50_ms"] = round(percentile(lateness, 50) * 1000, 2)
            result["lateness_p99_ms"] = round(percentile(lateness, 99) * 1000, 2)
    return result


def bench_worker(client: Client, task_queue: str) -> Worker:
    """The worker every workload runs on. Give it a client of its own, as a
    worker process would have."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=ALL_WORKFLOWS,
        activities=ALL_ACTIVITIES,
        # The bench measures the server: keep the client's own cost low.
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_concurrent_workflow_tasks=200,
        max_concurrent_activities=200,
    )
