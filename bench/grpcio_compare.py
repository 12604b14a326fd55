"""`python -m bench.grpcio_compare`: temporallite on grpclib against temporallite
on grpcio's asyncio server (`bench.grpcio_transport`), end to end (issue 7).

    python -m bench.grpcio_compare                  # 4 rounds, ~2 minutes on 2 cores
    python -m bench.grpcio_compare --rounds 2 --count 200 --spawns 4
    python -m bench.grpcio_compare --json out.json  # default: bench/results/grpcio-<timestamp>.json

Both servers are the same code, in memory, started the same way (`python -m
temporallite start` and `python -m bench.grpcio_server start`), and driven by
the workloads of `python -m bench` (same client, worker and workflows). Each
round starts a fresh server of each kind, one after the other, the order
alternating between rounds; start-up spawns are interleaved. The table gives
the median over rounds (and the per-round values in the JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import report
from bench.servers import ServerProcess, ServerSpec, make_workdir
from bench.workloads import WORKLOADS, bench_worker, run_workload

RESULTS_DIR = Path(__file__).parent / "results"
SETTLE_S = 3.0
IDLE_S = 2.0
WORKLOAD_NAMES = ["noop", "activity", "activity-c1"]
TRANSPORTS = {
    "grpclib": [sys.executable, "-m", "temporallite"],
    "grpcio": [sys.executable, "-m", "bench.grpcio_server"],
}
# What each transport adds on top of what both import (protobuf, the API protos).
IMPORTS = {
    "grpclib": "import grpclib.server, grpclib.protocol, grpclib.health.service, h2.settings",
    "grpcio": "import grpc, grpc.aio",
}
PREIMPORT = "import asyncio, google.protobuf.message, google.rpc.status_pb2"
console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)


class TransportProcess(ServerProcess):
    """temporallite in memory, on one transport or the other."""

    def __init__(self, transport: str, workdir: Path) -> None:
        super().__init__(ServerSpec("lite", False), workdir)
        self.transport = transport
        self.log_path = workdir / f"{transport}-{self.port}.log"

    def _args(self) -> list[str]:
        return [*TRANSPORTS[self.transport], "start", "--port", str(self.port), "--log-level", "error"]


def _env() -> None:
    # Both servers must run this worktree's code (the bench modules and the package).
    root = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH", "")
    if root not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, path) if p)


async def measure_startups(spawns: int, workdir: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {t: [] for t in TRANSPORTS}
    for i in range(spawns):
        order = list(TRANSPORTS) if i % 2 == 0 else list(reversed(TRANSPORTS))
        for transport in order:
            server = TransportProcess(transport, workdir)
            try:
                await server.start()
                times[transport].append(round(server.ready_s, 4))
            finally:
                await server.stop()
    return times


async def bench_one(transport: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from temporalio.client import Client


    out: dict[str, Any] = {}
    server = TransportProcess(transport, workdir)
    try:
        await server.start()
        await server.wait_namespace()
        client = await Client.connect(server.target, namespace="default")
        await asyncio.sleep(SETTLE_S)
        cpu_before = server.cpu_ms()
        await asyncio.sleep(IDLE_S)
        out["memory"] = {
            "idle_rss_mb": round(server.memory_mb()["VmRSS"], 1),
            "idle_cpu_ms_per_s": round((server.cpu_ms() - cpu_before) / IDLE_S, 1),
            "threads": _threads(server.pid),
        }
        worker_client = await Client.connect(server.target, namespace="default")
        task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        worker = bench_worker(worker_client, task_queue)
        async with worker:
            for workload in [w for w in WORKLOADS if w.name in args.only]:
                count = args.count or workload.count
                if workload.concurrency == 1:
                    count = min(count, 100)
                result = await run_workload(server, client, task_queue, workload, count, args.concurrency)
                out[workload.name] = result
                console.print(
                    f"  {transport:<8} {workload.name:<12} {result['count']:>4} wf  "
                    f"{result['wf_per_s']:7.1f} wf/s  p50 {result['p50_ms']:7.1f} ms  "
                    f"p99 {result['p99_ms']:7.1f} ms  server {result['server_cpu_ms_per_wf']:6.2f} ms/wf  "
                    f"client {result['client_cpu_ms_per_wf']:6.2f} ms/wf"
                )
        out["memory"]["peak_rss_mb"] = round(server.memory_mb()["VmHWM"], 1)
    finally:
        await server.stop()
    return out


def _threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def import_costs(samples: int) -> dict[str, dict[str, float]]:
    """What importing each transport's gRPC stack costs a fresh interpreter:
    wall ms (median of `samples`, protobuf and asyncio already imported), the
    RSS it adds (MB), and `-X importtime`'s cumulative figure for `import grpc`."""
    code = (
        f"{PREIMPORT}\nimport time\n"
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS:'): return int(line.split()[1]) / 1024\n"
        "r = rss(); t = time.perf_counter()\n"
        "{stmt}\n"
        "print(time.perf_counter() - t, rss() - r)\n"
    )
    out: dict[str, dict[str, float]] = {}
    for name, stmt in IMPORTS.items():
        wall, rss = [], []
        for _ in range(samples):
            command = [sys.executable, "-c", code.replace("{stmt}", stmt)]
            text = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
            wall.append(float(text[0]) * 1000)
            rss.append(float(text[1]))
        out[name] = {"wall_ms": round(statistics.median(wall), 1), "rss_mb": round(statistics.median(rss), 1)}
    cumulative = []
    for _ in range(samples):
        command = [sys.executable, "-X", "importtime", "-c", "import grpc"]
        err = subprocess.run(command, capture_output=True, text=True, check=True).stderr
        match = re.search(r"^import time:\s+\d+ \|\s+(\d+) \| grpc$", err, re.M)
        if match:
            cumulative.append(int(match.group(1)) / 1000)
    if cumulative:
        out["grpcio"]["importtime_import_grpc_ms"] = round(statistics.median(cumulative), 1)
    return out


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def summarise(results: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    """(label, {transport: median over rounds}) rows."""
    rows: list[tuple[str, dict[str, float]]] = []
    startup = results["startup"]
    rows.append(("start-up to GetSystemInfo, median (s)", {t: _median(startup[t]) for t in TRANSPORTS}))
    rows.append(("start-up to GetSystemInfo, min (s)", {t: min(startup[t]) for t in TRANSPORTS}))
    imports = results["imports"]
    rows.append(("import of the gRPC stack (ms)", {t: imports[t]["wall_ms"] for t in TRANSPORTS}))
    rows.append(("RSS added by that import (MB)", {t: imports[t]["rss_mb"] for t in TRANSPORTS}))
    rounds = results["rounds"]

    def per(section: str, metric: str) -> dict[str, float]:
        return {t: _median([r[t][section][metric] for r in rounds]) for t in TRANSPORTS}

    rows.append(("idle RSS (MB)", per("memory", "idle_rss_mb")))
    rows.append(("idle CPU (ms/s)", per("memory", "idle_cpu_ms_per_s")))
    rows.append(("threads", per("memory", "threads")))
    rows.append(("peak RSS (MB)", per("memory", "peak_rss_mb")))
    for name in [w.name for w in WORKLOADS if w.name in results["meta"]["only"]]:
        rows.append((f"{name}: server CPU ms/wf", per(name, "server_cpu_ms_per_wf")))
        rows.append((f"{name}: client CPU ms/wf", per(name, "client_cpu_ms_per_wf")))
        rows.append((f"{name}: workflows/s", per(name, "wf_per_s")))
        rows.append((f"{name}: p50 latency (ms)", per(name, "p50_ms")))
        rows.append((f"{name}: p99 latency (ms)", per(name, "p99_ms")))
    return rows


def print_table(rows: list[tuple[str, dict[str, float]]]) -> None:
    table = Table(title="temporallite in memory: grpclib vs grpcio (median over rounds)")
    table.add_column("metric")
    table.add_column("grpclib", justify="right")
    table.add_column("grpcio", justify="right")
    table.add_column("grpcio / grpclib", justify="right")
    for label, values in rows:
        a, b = values["grpclib"], values["grpcio"]
        ratio = f"{b / a:.2f}×" if a else "—"
        table.add_row(label, f"{a:g}", f"{b:g}", ratio)
    console.print(table)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    _env()
    workdir = make_workdir()
    results: dict[str, Any] = {
        "meta": {
            "started": datetime.now().isoformat(timespec="seconds"),
            "rounds": args.rounds,
            "count": args.count,
            "concurrency": args.concurrency,
            "only": args.only,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "grpcio": _version("grpcio"),
            "grpclib": _version("grpclib"),
            "h2": _version("h2"),
        },
        "rounds": [],
    }
    console.print(f"import costs ({args.spawns} samples each)")
    results["imports"] = await asyncio.to_thread(import_costs, args.spawns)
    console.print(f"start-up: {args.spawns} spawns of each, interleaved")
    results["startup"] = await measure_startups(args.spawns, workdir)
    for i in range(args.rounds):
        order = list(TRANSPORTS) if i % 2 == 0 else list(reversed(TRANSPORTS))
        console.print(f"round {i + 1}/{args.rounds}: {' then '.join(order)}")
        results["rounds"].append({t: await bench_one(t, args, workdir) for t in order})
    return results


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def run(argv: list[str]) -> int:
    description = __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m bench.grpcio_compare", description=description)
    parser.add_argument("--rounds", type=int, default=4, help="server pairs, order alternating (default 4)")
    parser.add_argument("--count", type=int, help="workflows per workload (default: as `python -m bench`)")
    parser.add_argument("--concurrency", type=int, default=50, help="workflows in flight (default 50)")
    parser.add_argument("--spawns", type=int, default=10, help="start-up and import samples (default 10)")
    parser.add_argument("--only", default=",".join(WORKLOAD_NAMES), help="workloads (default: %(default)s)")
    parser.add_argument("--json", metavar="PATH", type=Path, help="where to write the results")
    args = parser.parse_args(argv)
    args.only = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in args.only if n not in [w.name for w in WORKLOADS]]
    if unknown:
        parser.error(f"unknown workload {', '.join(unknown)}")
    try:
        import grpc  # noqa: F401
    except ImportError:
        console.print("[red]bench: error:[/] grpcio is not installed (pip install grpcio)")
        return 1
    results, code = report.run_main(main(args), console)
    if results is None:
        return code
    rows = summarise(results)
    results["summary"] = {label: values for label, values in rows}
    print_table(rows)
    path = args.json or RESULTS_DIR / f"grpcio-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    report.write_json(results, path)
    console.print(f"results: {path} ({results['meta']['total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
