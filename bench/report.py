"""The results table (rich) and the JSON file.

Results are a dict: {"meta": {...}, "servers": {"lite-mem": {section: {metric: value}}, ...}}.
Each ratio is temporallite / real dev server for the same mode; a target says
which way is better ("<=" lower, ">=" higher) and the bound from issue 7.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.servers import BenchError
from bench.workloads import WORKLOADS


@dataclass(frozen=True)
class Row:
    section: str
    metric: str
    label: str
    target: tuple[str, float] | None = None  # ("<=", 0.5): ratio must be at most 0.5


def rows() -> list[Row]:
    out = [
        Row("startup", "min_s", "start-up, min (s)"),
        Row("startup", "median_s", "start-up, median (s)", ("<=", 0.5)),
        Row("startup", "namespace_median_s", "ready with `default` namespace, median (s)"),
        Row("memory", "idle_rss_mb", "idle RSS (MB)", ("<=", 0.5)),
        Row("memory", "idle_cpu_ms_per_s", "idle CPU (ms/s)"),
        Row("memory", "peak_rss_mb", "peak RSS after the workloads (MB)"),
        Row("all", "server_cpu_ms_per_wf", "all workloads + quiet after: server CPU ms/wf"),
    ]
    for w in WORKLOADS:
        fast = w.name == "activity"
        c1 = w.name == "activity-c1"
        out += [
            Row(w.name, "wf_per_s", f"{w.name}: workflows/s", (">=", 2.0) if fast else None),
            Row(w.name, "p50_ms", f"{w.name}: p50 latency (ms)", ("<=", 0.7) if c1 else None),
            Row(w.name, "p99_ms", f"{w.name}: p99 latency (ms)"),
            Row(w.name, "server_cpu_ms_per_wf", f"{w.name}: server CPU ms/wf", ("<=", 0.5) if fast else None),
            Row(w.name, "client_cpu_ms_per_wf", f"{w.name}: client CPU ms/wf"),
        ]
        if w.name == "timer":
            out += [
                Row(w.name, "lateness_p50_ms", "timer: lateness p50 (ms)"),
                Row(w.name, "lateness_p99_ms", "timer: lateness p99 (ms)"),
            ]
    return out


def _value(results: dict[str, Any], server: str, row: Row) -> float | None:
    value = results["servers"].get(server, {}).get(row.section, {}).get(row.metric)
    return float(value) if value is not None else None


def ratio(results: dict[str, Any], mode: str, row: Row) -> float | None:
    lite, real = _value(results, f"lite-{mode}", row), _value(results, f"real-{mode}", row)
    if lite is None or real is None or real == 0:
        return None
    return lite / real


def met(row: Row, value: float | None) -> bool | None:
    if row.target is None or value is None:
        return None
    op, bound = row.target
    return value <= bound if op == "<=" else value >= bound


def add_ratios(results: dict[str, Any]) -> None:
    """Store every ratio (and whether its target is met) in the results."""
    out: dict[str, Any] = {}
    for mode in ("mem", "db"):
        for row in rows():
            r = ratio(results, mode, row)
            if r is not None:
                entry: dict[str, Any] = {"ratio": round(r, 3)}
                if row.target is not None:
                    entry["target"] = f"{row.target[0]} {row.target[1]:g}"
                    entry["met"] = met(row, r)
                out[f"{mode}.{row.section}.{row.metric}"] = entry
    results["ratios"] = out


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _fmt_ratio(row: Row, value: float | None) -> str:
    if value is None:
        return "-"
    text = f"{value:.2f}×"
    ok = met(row, value)
    if ok is None:
        return text
    return f"[green]{text}[/]" if ok else f"[red]{text}[/]"


def print_table(results: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    servers = results["servers"]
    modes = [m for m in ("mem", "db") if servers.get(f"lite-{m}") or servers.get(f"real-{m}")]
    table = Table(title="temporallite vs the real dev server (ratio = temporallite / real)")
    table.add_column("metric", no_wrap=True)
    for mode in modes:
        title = "mem" if mode == "mem" else "db file"
        table.add_column(f"lite {title}", justify="right")
        table.add_column(f"real {title}", justify="right")
        table.add_column("ratio", justify="right")
    table.add_column("target", justify="right", no_wrap=True)
    for row in rows():
        cells = [row.label]
        present = False
        for mode in modes:
            lite, real = _value(results, f"lite-{mode}", row), _value(results, f"real-{mode}", row)
            present = present or lite is not None or real is not None
            cells += [_fmt(lite), _fmt(real), _fmt_ratio(row, ratio(results, mode, row))]
        if not present:
            continue
        cells.append(f"{row.target[0]} {row.target[1]:g}×" if row.target else "")
        table.add_row(*cells)
    console.print(table)


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")


def run_main(
    main: Coroutine[Any, Any, dict[str, Any]], console: Console
) -> tuple[dict[str, Any] | None, int]:
    """Run a bench's main: (its results with meta.total_s, 0), or (None, exit
    code) after one readable line instead of a traceback."""
    started = time.perf_counter()
    try:
        results = asyncio.run(main)
    except BenchError as err:
        console.print(f"[red]bench: error:[/] {err}")
        return None, 1
    except KeyboardInterrupt:
        console.print("[red]bench: interrupted[/]")
        return None, 130
    except Exception as err:  # noqa: BLE001 - one readable line, not a traceback
        console.print(f"[red]bench: error:[/] {type(err).__name__}: {err}")
        return None, 1
    results["meta"]["total_s"] = round(time.perf_counter() - started, 1)
    return results, 0
