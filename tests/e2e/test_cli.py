"""The `temporallite` command line, run as a user runs it: in a subprocess.

Each test that needs a server starts `python -m temporallite start` on a free
port, waits until the Python SDK can connect, and stops it with a signal.
These tests always exercise temporallite itself (TEMPORAL_TEST_TARGET does not
apply: the CLI is what is under test).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, GetSystemInfoRequest
from temporalio.client import Client

from temporallite import __version__
from tests.support.servers import free_port

pytestmark = pytest.mark.timeout(30)

CLI = [sys.executable, "-m", "temporallite"]
READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("TEMPORAL_TEST_TARGET", None)
    return env


def run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        stdin=subprocess.DEVNULL,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    return lines[0]


@dataclass
class RunningServer:
    proc: subprocess.Popen[str]
    target: str
    stdout_path: Path
    stderr_path: Path

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send `sig` and wait for the exit code (the test fails if it hangs)."""
        self.proc.send_signal(sig)
        return self.proc.wait(STOP_TIMEOUT_S)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()


async def wait_until_ready(proc: subprocess.Popen[str], target: str, stderr_path: Path) -> Client:
    """Poll until the SDK connects (up to READY_TIMEOUT_S)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    host, port = target.rsplit(":", 1)
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"temporallite exited with {proc.returncode}: {stderr_path.read_text()}")
        try:
            # A cheap TCP probe first: the SDK's connect is slower to fail.
            with socket.create_connection((host, int(port)), timeout=0.5):
                pass
            return await asyncio.wait_for(Client.connect(target, namespace="default"), timeout=5)
        except (OSError, RuntimeError, TimeoutError) as err:
            last_error = err
        await asyncio.sleep(0.05)
    pytest.fail(f"temporallite on {target} did not answer within {READY_TIMEOUT_S}s: {last_error!r}")


@contextlib.asynccontextmanager
async def cli_server(tmp_path: Path, *args: str) -> AsyncIterator[tuple[RunningServer, Client]]:
    port = free_port()
    stdout_path = tmp_path / f"stdout-{port}.txt"
    stderr_path = tmp_path / f"stderr-{port}.txt"
    with stdout_path.open("w") as out, stderr_path.open("w") as err:
        proc = subprocess.Popen(
            [*CLI, "start", "--port", str(port), *args],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
            env=_env(),
        )
    server = RunningServer(proc, f"127.0.0.1:{port}", stdout_path, stderr_path)
    try:
        client = await wait_until_ready(proc, server.target, stderr_path)
        yield server, client
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"temporallite, version {__version__}"


def test_console_script_version() -> None:
    script = Path(sys.executable).parent / "temporallite"
    if not script.exists():
        pytest.skip("the temporallite console script is not installed next to the interpreter")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=20, env=_env()
    )
    assert result.returncode == 0, result.stderr
    assert __version__ in result.stdout


@pytest.mark.parametrize(
    "args, expected",
    [
        (["start", "--bogus"], "--bogus"),
        (["start", "--port", "not-a-port"], "--port"),
        (["start", "--port", "70000"], "--port"),
        (["start", "--log-level", "verbose"], "--log-level"),
        (["start", "--log-format", "xml"], "--log-format"),
        (["start", "--namespace", ""], "--namespace"),
        (["no-such-command"], "no-such-command"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args: list[str], expected: str) -> None:
    line = assert_one_line_error(run_cli(*args))
    assert line.startswith("error: ")
    assert expected in line


async def test_start_and_sigterm(tmp_path: Path) -> None:
    async with cli_server(tmp_path) as (server, client):
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        assert info.server_version
        started = time.monotonic()
        assert server.stop(signal.SIGTERM) == 0, server.stderr
        assert time.monotonic() - started < STOP_TIMEOUT_S
    assert "Traceback" not in server.stderr
    banner = server.stdout
    assert server.target in banner
    assert ":memory:" in banner
    assert "default" in banner


async def test_sigint_is_a_clean_shutdown(tmp_path: Path) -> None:
    async with cli_server(tmp_path) as (server, _client):
        assert server.stop(signal.SIGINT) == 0, server.stderr
    assert "Traceback" not in server.stderr


async def test_occupied_port_exits_2_with_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = await asyncio.to_thread(run_cli, "start", "--port", str(port))
    line = assert_one_line_error(result)
    assert line == f"error: cannot listen on 127.0.0.1:{port}: address already in use"


def test_unopenable_database_exits_2_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "state.db"
    result = run_cli("start", "--port", str(free_port()), "--db-filename", str(missing))
    line = assert_one_line_error(result)
    assert line.startswith(f"error: cannot open database {missing}")


def test_corrupt_database_exits_2_with_one_line(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not an SQLite database, not even close " * 100)
    result = run_cli("start", "--port", str(free_port()), "--db-filename", str(corrupt))
    line = assert_one_line_error(result)
    assert line.startswith(f"error: cannot open database {corrupt}")


async def test_db_filename_creates_the_file_and_keeps_state(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    async with cli_server(tmp_path, "--db-filename", str(db)) as (server, client):
        assert db.exists()
        assert str(db) in server.stdout
        handle = await client.start_workflow(
            "Persisted", id="persisted-wf", task_queue="cli-tests-nobody-polls"
        )
        assert server.stop() == 0, server.stderr
    # A second server on the same file sees the execution.
    async with cli_server(tmp_path, "--db-filename", str(db)) as (server, client):
        description = await client.get_workflow_handle("persisted-wf", run_id=handle.result_run_id).describe()
        assert description.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
        assert description.workflow_type == "Persisted"
        assert server.stop() == 0, server.stderr


async def test_namespace_flag_registers_namespaces(tmp_path: Path) -> None:
    async with cli_server(tmp_path, "--namespace", "foo", "--namespace", "bar") as (server, client):
        for name in ("foo", "bar", "default"):
            response = await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=name)
            )
            assert response.namespace_info.name == name
        assert server.stop() == 0, server.stderr
    assert "foo" in server.stdout and "bar" in server.stdout


async def test_json_log_format_is_one_object_per_line(tmp_path: Path) -> None:
    async with cli_server(tmp_path, "--log-format", "json") as (server, _client):
        assert server.stop() == 0, server.stderr
    records = [json.loads(line) for line in server.stderr.splitlines() if line.strip()]
    messages = [record["message"] for record in records]
    assert "server started" in messages
    started = records[messages.index("server started")]
    assert started["address"] == server.target
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)


def test_python_dash_m_help() -> None:
    result = run_cli("start", "--help")
    assert result.returncode == 0, result.stderr
    for flag in ("--port", "--ip", "--db-filename", "--namespace", "--log-level", "--log-format"):
        assert flag in result.stdout
