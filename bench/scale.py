"""Scale: does temporallite stay flat in memory and latency as state grows?

    python -m bench.scale            # 10,000 open workflows, 50,000-event history, 1,000 polls
    python -m bench.scale --quick    # 1,000 / 5,000 / 200
    python -m bench.scale --only timers,history,polls --json out.json
    python -m bench.scale --only history --server lite,real   # also on `temporal server start-dev`

Each scenario runs on a fresh in-memory server (`temporallite start --port P
--log-level error`, a child process), so that its RSS is its own:

- `timers`: N open workflows, each asleep on a 1-hour timer. The latency of 50
  one-activity workflows (one after another) is measured before and after
  loading them; RSS before/after; server CPU per started workflow.
- `history`: one workflow receives signals (one after another) until its
  history has E events; then `fetch_history()`, paging through the closed
  history with raw GetWorkflowExecutionHistory calls (the server's part of a
  replay), the SDK's `Replayer` on that history (the SDK's part, no server)
  and a query on the closed workflow (both: the worker replays) are timed.
- `polls`: P concurrent PollWorkflowTaskQueue calls on empty task queues
  (raw gRPC streams, several connections); while they wait, the latency of
  GetSystemInfo and of one-activity workflows; then they are cancelled.

`--server real` runs the scenarios on the real dev server instead (its
signal-count and history-length limits lifted, so it runs the same workload).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from grpclib.client import Channel, UnaryUnaryMethod
from temporalio import workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    GetSystemInfoRequest,
    GetSystemInfoResponse,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
)
from temporalio.client import Client
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

from bench.servers import _SERVICE, BenchError, ServerProcess, ServerSpec, make_workdir
from bench.workflows import OneActivity, echo
from bench.workloads import percentile

RESULTS_DIR = Path(__file__).parent / "results"
SIZES = {
    "full": {"timers": 10_000, "history": 50_000, "polls": 1_000},
    "quick": {"timers": 1_000, "history": 5_000, "polls": 200},
}
LATENCY_RUNS = 50
SETTLE_S = 2.0
QUIET_S = 12.0  # after loading the timers: the workflow-task timeouts (10 s) come due in here
STREAMS_PER_CHANNEL = 100


@workflow.defn
class Sleeper:
    """Open for an hour: one workflow task, then a pending 1-hour timer."""

    @workflow.run
    async def run(self) -> None:
        await asyncio.sleep(3600)


@workflow.defn
class Counter:
    """Counts `bump` signals; returns once `finish(n)` was sent and n arrived."""

    def __init__(self) -> None:
        self.received = 0
        self.expected: int | None = None

    @workflow.signal
    def bump(self) -> None:
        self.received += 1

    @workflow.signal
    def finish(self, total: int) -> None:
        self.expected = total

    @workflow.query
    def count(self) -> int:
        return self.received

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.expected is not None and self.received >= self.expected)
        return self.received


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def rss(server: ServerProcess) -> float:
    return round(server.memory_mb()["VmRSS"], 1)


async def one_activity_latencies(client: Client, tq: str, runs: int) -> dict[str, float]:
    """`runs` one-activity workflows one after another (after 3 unmeasured)."""
    latencies = []
    for i in range(runs + 3):
        started = time.perf_counter()
        await asyncio.wait_for(
            client.execute_workflow(OneActivity.run, id=f"act-{uuid.uuid4().hex}", task_queue=tq), 60
        )
        if i >= 3:
            latencies.append(time.perf_counter() - started)
    return {"p50_ms": ms(percentile(latencies, 50)), "p99_ms": ms(percentile(latencies, 99))}


# The real server's defaults stop a workflow at 10,000 signals and 51,200
# events; lifted so that it runs the same workload as temporallite.
REAL_SERVER_LIMITS = {
    "history.maximumSignalsPerExecution": 1_000_000,
    "limit.historyCount.error": 1_000_000,
}


class ScaleServer(ServerProcess):
    def _args(self) -> list[str]:
        args = super()._args()
        if self.spec.kind == "real":
            for key, value in REAL_SERVER_LIMITS.items():
                args += ["--dynamic-config-value", f"{key}={value}"]
        return args


class Lite:
    """A fresh in-memory server (temporallite, or the real dev server with
    kind="real"), a client, and a worker on its own connection."""

    def __init__(self, workdir: Path, kind: str = "lite") -> None:
        self.server = ScaleServer(ServerSpec(kind, False), workdir)
        self.tq = f"scale-{uuid.uuid4().hex[:8]}"

    async def __aenter__(self) -> Lite:
        await self.server.start()
        await self.server.wait_namespace()
        self.client = await Client.connect(self.server.target, namespace="default")
        worker_client = await Client.connect(self.server.target, namespace="default")
        self.worker = Worker(
            worker_client,
            task_queue=self.tq,
            workflows=[Sleeper, Counter, OneActivity],
            activities=[echo],
            workflow_runner=UnsandboxedWorkflowRunner(),
            max_concurrent_workflow_tasks=200,
            max_concurrent_activities=200,
            max_cached_workflows=20_000,
        )
        await self.worker.__aenter__()
        await asyncio.sleep(SETTLE_S)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await asyncio.wait_for(self.worker.__aexit__(None, None, None), 30)
        except Exception:  # noqa: BLE001 - shutting down; the server goes next anyway
            pass
        await self.server.stop()


async def scenario_timers(workdir: Path, count: int, kind: str = "lite") -> dict[str, Any]:
    async with Lite(workdir, kind) as lite:
        server, client = lite.server, lite.client
        out: dict[str, Any] = {"workflows": count, "rss_before_mb": rss(server)}
        out["latency_before"] = await one_activity_latencies(client, lite.tq, LATENCY_RUNS)
        out["rss_after_latency_before_mb"] = rss(server)

        ids = [f"sleeper-{i}" for i in range(count)]
        cpu, started = server.cpu_ms(), time.perf_counter()
        pending = iter(ids)

        async def lane() -> None:
            for wf_id in pending:
                await client.start_workflow(Sleeper.run, id=wf_id, task_queue=lite.tq)

        await asyncio.gather(*(lane() for _ in range(50)))
        out["start_calls_s"] = round(time.perf_counter() - started, 2)
        # Each must have completed its first workflow task (history: started,
        # WT scheduled/started/completed, TimerStarted = 5 events). Check the
        # last 100 started and 100 at random until all have.
        sample = ids[-100:] + random.sample(ids, min(100, count))
        while sample:
            done = []
            for wf_id in sample:
                desc = await client.get_workflow_handle(wf_id).describe()
                if desc.raw_description.workflow_execution_info.history_length >= 5:
                    done.append(wf_id)
            sample = [s for s in sample if s not in done]
            if sample:
                await asyncio.sleep(0.2)
            if time.perf_counter() - started > 600:
                raise BenchError(f"timers: {len(sample)} sampled workflows never completed their first task")
        wall = time.perf_counter() - started
        out["all_first_tasks_s"] = round(wall, 2)
        out["wf_per_s"] = round(count / wall, 1)
        out["server_cpu_ms_per_wf"] = round((server.cpu_ms() - cpu) / count, 2)
        out["running"] = (await client.count_workflows("ExecutionStatus='Running'")).count
        await asyncio.sleep(SETTLE_S)
        out["rss_after_mb"] = rss(server)
        cpu = server.cpu_ms()
        await asyncio.sleep(QUIET_S)
        out["quiet_cpu_ms"] = round(server.cpu_ms() - cpu, 1)
        out["quiet_s"] = QUIET_S
        out["latency_after"] = await one_activity_latencies(client, lite.tq, LATENCY_RUNS)
        out["rss_end_mb"] = rss(server)
        out["peak_rss_mb"] = round(server.memory_mb()["VmHWM"], 1)
        return out


async def history_pages(server: ServerProcess, workflow_id: str) -> dict[str, Any]:
    """Page through the closed history as the worker does (GetWorkflowExecutionHistory,
    server's default page size, raw bytes timed per page)."""
    channel = Channel("127.0.0.1", server.port)
    method: UnaryUnaryMethod[Any, Any] = UnaryUnaryMethod(
        channel,
        f"{_SERVICE}/GetWorkflowExecutionHistory",
        GetWorkflowExecutionHistoryRequest,
        GetWorkflowExecutionHistoryResponse,
    )
    try:
        times, events, token = [], 0, b""
        started = time.perf_counter()
        while True:
            t = time.perf_counter()
            reply = await method(
                GetWorkflowExecutionHistoryRequest(
                    namespace="default",
                    execution=WorkflowExecution(workflow_id=workflow_id),
                    next_page_token=token,
                ),
                timeout=60,
            )
            times.append(time.perf_counter() - t)
            events += len(reply.history.events)
            token = reply.next_page_token
            if not token:
                break
        return {
            "pages": len(times),
            "events": events,
            "total_ms": ms(time.perf_counter() - started),
            "page_p50_ms": ms(percentile(times, 50)),
            "page_max_ms": ms(max(times)),
        }
    finally:
        channel.close()


async def scenario_history(workdir: Path, target_events: int, kind: str = "lite") -> dict[str, Any]:
    async with Lite(workdir, kind) as lite:
        server, client = lite.server, lite.client
        out: dict[str, Any] = {"target_events": target_events, "rss_before_mb": rss(server)}
        handle = await client.start_workflow(
            Counter.run, id=f"counter-{uuid.uuid4().hex[:8]}", task_queue=lite.tq
        )
        sent, chunk, length = 0, 1000, 0
        rates: list[tuple[int, float]] = []  # (history length at chunk start, signals/s in the chunk)
        cpu, started = server.cpu_ms(), time.perf_counter()
        while length < target_events:
            chunk_started = time.perf_counter()
            for _ in range(chunk):
                await handle.signal(Counter.bump)
            sent += chunk
            rates.append((length, round(chunk / (time.perf_counter() - chunk_started), 1)))
            length = (await handle.describe()).raw_description.workflow_execution_info.history_length
            if time.perf_counter() - started > 900:
                out["stopped_early"] = "15 min budget"
                break
        out["signals"] = sent
        out["signal_s"] = round(time.perf_counter() - started, 1)
        out["server_cpu_ms_per_signal"] = round((server.cpu_ms() - cpu) / sent, 2)
        out["signals_per_s_by_history_length"] = rates
        t = time.perf_counter()
        out["query_open_value"] = await handle.query(Counter.count)
        out["query_open_ms"] = ms(time.perf_counter() - t)
        await handle.signal(Counter.finish, sent)
        t = time.perf_counter()
        out["result"] = await asyncio.wait_for(handle.result(), 120)
        out["result_ms"] = ms(time.perf_counter() - t)
        t = time.perf_counter()
        history = await handle.fetch_history()
        out["fetch_history_ms"] = ms(time.perf_counter() - t)
        out["events"] = len(history.events)
        out["history_pages"] = await history_pages(server, handle.id)
        t = time.perf_counter()  # the SDK's replay alone, no server involved
        await Replayer(workflows=[Counter], workflow_runner=UnsandboxedWorkflowRunner()).replay_workflow(
            history
        )
        out["replay_offline_ms"] = ms(time.perf_counter() - t)
        t = time.perf_counter()
        try:  # the worker replays the whole history to answer
            out["query_closed_value"] = await asyncio.wait_for(handle.query(Counter.count), 120)
        except Exception as exc:  # noqa: BLE001 - reported, not fatal
            out["query_closed_error"] = str(exc) or type(exc).__name__
        out["query_closed_ms"] = ms(time.perf_counter() - t)
        out["rss_after_mb"] = rss(server)
        out["peak_rss_mb"] = round(server.memory_mb()["VmHWM"], 1)
        return out


async def system_info_latencies(target: Channel, runs: int = LATENCY_RUNS) -> dict[str, float]:
    method: UnaryUnaryMethod[Any, Any] = UnaryUnaryMethod(
        target, f"{_SERVICE}/GetSystemInfo", GetSystemInfoRequest, GetSystemInfoResponse
    )
    latencies = []
    for _ in range(runs):
        t = time.perf_counter()
        await method(GetSystemInfoRequest(), timeout=10)
        latencies.append(time.perf_counter() - t)
    return {"p50_ms": ms(percentile(latencies, 50)), "p99_ms": ms(percentile(latencies, 99))}


async def scenario_polls(workdir: Path, polls: int, kind: str = "lite") -> dict[str, Any]:
    async with Lite(workdir, kind) as lite:
        server, client = lite.server, lite.client
        probe = Channel("127.0.0.1", server.port)
        channels = [Channel("127.0.0.1", server.port) for _ in range(-(-polls // STREAMS_PER_CHANNEL))]
        try:
            out: dict[str, Any] = {"polls": polls, "rss_before_mb": rss(server)}
            out["sysinfo_before"] = await system_info_latencies(probe)
            out["activity_before"] = await one_activity_latencies(client, lite.tq, 20)
            prefix = uuid.uuid4().hex[:8]

            async def poll(i: int) -> Any:
                method: UnaryUnaryMethod[Any, Any] = UnaryUnaryMethod(
                    channels[i // STREAMS_PER_CHANNEL],
                    f"{_SERVICE}/PollWorkflowTaskQueue",
                    PollWorkflowTaskQueueRequest,
                    PollWorkflowTaskQueueResponse,
                )
                request = PollWorkflowTaskQueueRequest(
                    namespace="default", task_queue=TaskQueue(name=f"empty-{prefix}-{i}"), identity="scale"
                )
                return await method(request, timeout=120)

            cpu, started = server.cpu_ms(), time.perf_counter()
            tasks = [asyncio.create_task(poll(i)) for i in range(polls)]
            await asyncio.sleep(SETTLE_S)
            out["open_s"] = SETTLE_S
            out["open_cpu_ms"] = round(server.cpu_ms() - cpu, 1)
            out["rss_polling_mb"] = rss(server)
            cpu = server.cpu_ms()
            await asyncio.sleep(3.0)
            out["waiting_cpu_ms_per_s"] = round((server.cpu_ms() - cpu) / 3.0, 1)
            out["sysinfo_polling"] = await system_info_latencies(probe)
            out["activity_polling"] = await one_activity_latencies(client, lite.tq, 20)
            out["polling_s_at_end"] = round(time.perf_counter() - started, 1)
            out["polls_finished_early"] = sum(t.done() for t in tasks)
            errors = [repr(t.exception())[:200] for t in tasks if t.done() and t.exception()]
            out["poll_errors"] = sorted(set(errors))[:5]
            cpu = server.cpu_ms()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(SETTLE_S)
            out["cancel_cpu_ms"] = round(server.cpu_ms() - cpu, 1)
            out["rss_after_cancel_mb"] = rss(server)
            out["sysinfo_after"] = await system_info_latencies(probe)
            out["activity_after"] = await one_activity_latencies(client, lite.tq, 20)
            out["peak_rss_mb"] = round(server.memory_mb()["VmHWM"], 1)
            return out
        finally:
            probe.close()
            for channel in channels:
                channel.close()


SCENARIOS = {"timers": scenario_timers, "history": scenario_history, "polls": scenario_polls}


def print_table(results: dict[str, Any]) -> None:
    rows: list[tuple[str, str]] = []
    for suffix in ("", "-real"):
        rows += table_rows(results, suffix)
    rows += [(f"{name}: FAILED", error) for name, error in results.get("errors", {}).items()]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def table_rows(results: dict[str, Any], suffix: str) -> list[tuple[str, str]]:
    """The rows of one server's results (suffix "": temporallite, "-real": the real dev server)."""
    rows: list[tuple[str, str]] = []
    if t := results.get(f"timers{suffix}"):
        rows += [
            (
                f"timers: open workflows ({t['workflows']:,}), 1 h timer each",
                f"{t['all_first_tasks_s']} s, {t['wf_per_s']} wf/s",
            ),
            ("timers: server CPU ms per started workflow", f"{t['server_cpu_ms_per_wf']}"),
            ("timers: RSS before → after loading (MB)", f"{t['rss_before_mb']} → {t['rss_after_mb']}"),
            (f"timers: server CPU in {t['quiet_s']:g} s of quiet after (ms)", f"{t['quiet_cpu_ms']}"),
            (
                "timers: one-activity p50 / p99 (ms), fresh → loaded",
                f"{t['latency_before']['p50_ms']} / {t['latency_before']['p99_ms']} → "
                f"{t['latency_after']['p50_ms']} / {t['latency_after']['p99_ms']}",
            ),
        ]
    if h := results.get(f"history{suffix}"):
        rates = h["signals_per_s_by_history_length"]
        rows += [
            (f"history: events ({h['signals']:,} signals)", f"{h['events']:,} in {h['signal_s']} s"),
            ("history: signals/s, first → last 1,000", f"{rates[0][1]} → {rates[-1][1]}"),
            ("history: server CPU ms per signal", f"{h['server_cpu_ms_per_signal']}"),
            ("history: fetch_history() (ms)", f"{h['fetch_history_ms']}"),
            (
                "history: GetWorkflowExecutionHistory pages: total / p50 / max (ms)",
                f"{h['history_pages']['pages']} pages: {h['history_pages']['total_ms']} / "
                f"{h['history_pages']['page_p50_ms']} / {h['history_pages']['page_max_ms']}",
            ),
            ("history: SDK replay alone (Replayer, no server) (ms)", f"{h['replay_offline_ms']}"),
            (
                "history: query open / closed (replay) (ms)",
                f"{h['query_open_ms']} / {h['query_closed_ms']}"
                + (f" ({h['query_closed_error']})" if "query_closed_error" in h else ""),
            ),
            (
                "history: RSS before → after (MB), peak",
                f"{h['rss_before_mb']} → {h['rss_after_mb']}, {h['peak_rss_mb']}",
            ),
        ]
    if p := results.get(f"polls{suffix}"):
        rows += [
            (
                f"polls: RSS idle → {p['polls']:,} polls waiting → cancelled (MB)",
                f"{p['rss_before_mb']} → {p['rss_polling_mb']} → {p['rss_after_cancel_mb']}",
            ),
            (
                "polls: server CPU to open them (ms) / waiting (ms/s)",
                f"{p['open_cpu_ms']} / {p['waiting_cpu_ms_per_s']}",
            ),
            *[
                (
                    f"polls: {name} p50 / p99 (ms), before → polling → after",
                    " → ".join(
                        f"{p[f'{key}_{when}']['p50_ms']} / {p[f'{key}_{when}']['p99_ms']}"
                        for when in ("before", "polling", "after")
                    ),
                )
                for name, key in (("GetSystemInfo", "sysinfo"), ("one-activity", "activity"))
            ],
            (
                "polls: finished before cancel / errors",
                f"{p['polls_finished_early']} / {p['poll_errors'] or 'none'}",
            ),
        ]
    return [(f"{name.split(':')[0]}{suffix}:{name.split(':', 1)[1]}", value) for name, value in rows]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    sizes = SIZES["quick" if args.quick else "full"]
    workdir = make_workdir()
    results: dict[str, Any] = {
        "quick": args.quick,
        "sizes": sizes,
        "started": datetime.now().isoformat(timespec="seconds"),
    }
    for name in args.only:
        for kind in args.server:
            key = name if kind == "lite" else f"{name}-{kind}"
            t = time.perf_counter()
            print(f"scale: {key} ({sizes[name]:,}) ...", file=sys.stderr, flush=True)
            try:
                results[key] = await SCENARIOS[name](workdir, sizes[name], kind)
            except Exception as exc:  # noqa: BLE001 - keep the other scenarios' numbers
                results.setdefault("errors", {})[key] = repr(exc)[:500]
                print(f"scale: {key} failed: {exc!r}", file=sys.stderr, flush=True)
                continue
            results[key]["scenario_s"] = round(time.perf_counter() - t, 1)
    return results


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 workflows, 5,000 events, 200 polls")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="timers,history,polls")
    parser.add_argument(
        "--server", default="lite", help="lite, real or lite,real (real: `temporal server start-dev`)"
    )
    parser.add_argument("--json", type=Path, help="default: bench/results/scale-<timestamp>.json")
    args = parser.parse_args(argv)
    args.only = [s for s in args.only.split(",") if s]
    args.server = [s for s in args.server.split(",") if s]
    if unknown := [s for s in args.server if s not in ("lite", "real")]:
        parser.error(f"unknown server(s): {', '.join(unknown)}")
    if unknown := [s for s in args.only if s not in SCENARIOS]:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    try:
        results = asyncio.run(main(args))
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1
    path = args.json or RESULTS_DIR / f"scale-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
