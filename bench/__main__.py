"""`python -m bench`: temporallite side by side with the real dev server.

    python -m bench                 # the full run (3 to 6 minutes on 2 cores)
    python -m bench --quick         # small counts, under 2 minutes
    python -m bench --only activity --servers lite-mem,real-mem
    python -m bench --json out.json # default: bench/results/<timestamp>.json
    python -m bench --only activity --servers lite-mem --profile /tmp/prof

See bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import report
from bench.servers import ALL_SPECS, ServerProcess, ServerSpec, make_workdir, running
from bench.workloads import WORKLOAD_NAMES, WORKLOADS, bench_worker, run_workload

RESULTS_DIR = Path(__file__).parent / "results"
STARTUP = "startup"
SETTLE_S = 3.0  # the real server keeps starting up (~170 ms CPU/s) for ~2 s after it answers
IDLE_S = 2.0
TRAIL_S = 12.0  # after the last workload: deferred work (e.g. 10 s workflow-task timeouts)
# Piped or in CI, rich assumes 80 columns: give the wide table room.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)


def parse_args(argv: list[str]) -> argparse.Namespace:
    names = [STARTUP, *WORKLOAD_NAMES]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts (under 2 minutes in all)")
    parser.add_argument("--only", metavar="NAME", help=f"comma-separated subset of: {', '.join(names)}")
    parser.add_argument(
        "--servers", metavar="NAME", help=f"comma-separated subset of: {', '.join(s.name for s in ALL_SPECS)}"
    )
    parser.add_argument("--json", metavar="PATH", type=Path, help="where to write the results")
    parser.add_argument("--concurrency", type=int, default=50, help="workflows in flight (default 50)")
    parser.add_argument("--count", type=int, help="workflows per workload (default: per workload)")
    parser.add_argument("--spawns", type=int, help="start-up samples per server (default 10, quick 3)")
    parser.add_argument(
        "--profile", metavar="DIR", type=Path, help="record py-spy profiles of temporallite into DIR"
    )
    args = parser.parse_args(argv)

    def subset(text: str | None, allowed: list[str], what: str) -> list[str]:
        if text is None:
            return allowed
        chosen = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in chosen if n not in allowed]
        if unknown or not chosen:
            parser.error(f"unknown {what} {', '.join(unknown) or '(none)'}; choose from {', '.join(allowed)}")
        return chosen

    args.only = subset(args.only, names, "workload")
    args.servers = subset(args.servers, [s.name for s in ALL_SPECS], "server")
    args.spawns = args.spawns or (3 if args.quick else 10)
    return args


def _compile_package() -> None:
    """Write temporallite's bytecode, as a regular pip install does: an editable
    install under PYTHONDONTWRITEBYTECODE would recompile it on every spawn."""
    import compileall

    import temporallite

    compileall.compile_dir(os.path.dirname(temporallite.__file__), quiet=1)


async def measure_startups(specs: list[ServerSpec], spawns: int, workdir: Path) -> dict[str, dict[str, Any]]:
    """Spawn each server `spawns` times, interleaved so that noise hits all alike:
    seconds to the first GetSystemInfo, and to DescribeNamespace(default)."""
    _compile_package()
    ready: dict[str, list[float]] = {s.name: [] for s in specs}
    namespace: dict[str, list[float]] = {s.name: [] for s in specs}
    for _ in range(spawns):
        for spec in specs:
            server = ServerProcess(spec, workdir)
            try:
                await server.start()
                ready[spec.name].append(server.ready_s)
                await server.wait_namespace()
                namespace[spec.name].append(server.namespace_s)
            finally:
                await server.stop()
    return {
        name: {
            "min_s": round(min(times), 3),
            "median_s": round(statistics.median(times), 3),
            "namespace_median_s": round(statistics.median(namespace[name]), 3),
            "samples_s": [round(t, 3) for t in times],
        }
        for name, times in ready.items()
    }


async def bench_server(spec: ServerSpec, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Start one server, measure it idle, run the chosen workloads, read its peak RSS
    and its CPU over all of them, including TRAIL_S of quiet afterwards."""
    from temporalio.client import Client


    out: dict[str, Any] = {}
    workloads = [w for w in WORKLOADS if w.name in args.only]
    async with running(spec, workdir) as server:
        client = await Client.connect(server.target, namespace="default")
        await asyncio.sleep(SETTLE_S)
        cpu_before = server.cpu_ms()
        await asyncio.sleep(IDLE_S)
        idle_cpu = (server.cpu_ms() - cpu_before) / IDLE_S
        out["memory"] = {"idle_rss_mb": round(server.memory_mb()["VmRSS"], 1), "idle_cpu_ms_per_s": idle_cpu}
        cpu_start, workflows = server.cpu_ms(), 0
        task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        # The worker has its own connection, as a worker process would.
        worker_client = await Client.connect(server.target, namespace="default")
        worker = bench_worker(worker_client, task_queue)
        async with worker:
            for workload in workloads:
                count = args.count or (workload.quick_count if args.quick else workload.count)
                run = run_workload(server, client, task_queue, workload, count, args.concurrency)
                if args.profile is not None and spec.kind == "lite":
                    from bench.profile import py_spy, summarise

                    path = args.profile / f"{spec.name}-{workload.name}.txt"
                    async with py_spy(server.pid, path):
                        result = await run
                    console.print(summarise(path))
                else:
                    result = await run
                out[workload.name] = result
                workflows += result["count"] + result["warm_up"]
                console.print(
                    f"  {spec.name:<9} {workload.name:<12} {result['count']:>4} wf  "
                    f"{result['wf_per_s']:7.1f} wf/s  p50 {result['p50_ms']:7.1f} ms  "
                    f"server {result['server_cpu_ms_per_wf']:6.2f} ms/wf  "
                    f"client {result['client_cpu_ms_per_wf']:6.2f} ms/wf"
                )
            trail = 0.0 if args.quick or args.profile else TRAIL_S
            await asyncio.sleep(trail)
            if workflows:
                out["all"] = {
                    "workflows": workflows,
                    "trail_s": trail,
                    "server_cpu_ms_per_wf": round((server.cpu_ms() - cpu_start) / workflows, 2),
                }
        out["memory"]["peak_rss_mb"] = round(server.memory_mb()["VmHWM"], 1)
    return out


async def main(args: argparse.Namespace) -> dict[str, Any]:
    specs = [s for s in ALL_SPECS if s.name in args.servers]
    workdir = make_workdir()
    results: dict[str, Any] = {
        "meta": {
            "started": datetime.now().isoformat(timespec="seconds"),
            "quick": args.quick,
            "concurrency": args.concurrency,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "profiled": args.profile is not None,
        },
        "servers": {s.name: {} for s in specs},
    }
    try:
        if STARTUP in args.only:
            console.print(f"start-up: {args.spawns} spawns of {', '.join(s.name for s in specs)}")
            for name, startup in (await measure_startups(specs, args.spawns, workdir)).items():
                results["servers"][name]["startup"] = startup
        if any(n != STARTUP for n in args.only):
            for spec in specs:
                console.print(f"{spec.label}:")
                results["servers"][spec.name].update(await bench_server(spec, args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def run(argv: list[str]) -> int:
    args = parse_args(argv)
    results, code = report.run_main(main(args), console)
    if results is None:
        return code
    report.add_ratios(results)
    report.print_table(results, console)
    path = args.json or RESULTS_DIR / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    report.write_json(results, path)
    console.print(f"results: {path} ({results['meta']['total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
