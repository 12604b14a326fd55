"""temporallite as the SDKs' test server: launched by the Python SDK's own
helpers (`start_time_skipping` and `start_local` with an existing path),
time skipping, the embedding API and the pytest plugin."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from google.protobuf.empty_pb2 import Empty
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import TimeoutError as WorkflowTimeoutError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import temporallite.testing

pytestmark = pytest.mark.timeout(60)
DAY = 24 * 3600


def executable() -> str:
    path = shutil.which("temporallite") or str(Path(sys.executable).parent / "temporallite")
    if not Path(path).exists():
        pytest.skip("the temporallite console script is not installed")
    return path


ATTEMPTS: dict[str, int] = {}


@activity.defn
async def flaky_for_a_while(key: str) -> int:
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if activity.info().attempt < 3:
        raise RuntimeError("not yet")
    return activity.info().attempt


@workflow.defn
class LongSleep:
    @workflow.run
    async def run(self, days: int) -> str:
        await asyncio.sleep(days * DAY)
        return f"slept {days} days"


@workflow.defn
class SlowRetries:
    @workflow.run
    async def run(self, key: str) -> int:
        return await workflow.execute_activity(
            flaky_for_a_while,
            key,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(hours=1), backoff_coefficient=1),
        )


@workflow.defn
class Approval:
    def __init__(self) -> None:
        self.approved = False

    @workflow.update
    def approve(self) -> str:
        self.approved = True
        return "approved"

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.wait_condition(lambda: self.approved, timeout=timedelta(days=7))
            return "approved in time"
        except TimeoutError:
            return "expired"


@workflow.defn
class DailyReport:
    @workflow.run
    async def run(self) -> int:
        return workflow.info().attempt


WORKFLOWS = [LongSleep, SlowRetries, Approval, DailyReport]


@pytest_asyncio.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=executable()
    ) as environment:
        yield environment


def worker(env: WorkflowEnvironment, task_queue: str) -> Worker:
    return Worker(
        env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=[flaky_for_a_while]
    )


async def test_thirty_day_sleep_finishes_at_once(env: WorkflowEnvironment, task_queue: str) -> None:
    async with worker(env, task_queue):
        began = time.monotonic()
        result = await env.client.execute_workflow(
            LongSleep.run, 30, id=f"sleep-{uuid.uuid4()}", task_queue=task_queue
        )
        assert result == "slept 30 days"
        assert time.monotonic() - began < 5


async def test_activity_retries_with_long_backoff(env: WorkflowEnvironment, task_queue: str) -> None:
    key = str(uuid.uuid4())
    async with worker(env, task_queue):
        before = await env.get_current_time()
        attempt = await env.client.execute_workflow(
            SlowRetries.run, key, id=f"retries-{uuid.uuid4()}", task_queue=task_queue
        )
        skipped = await env.get_current_time() - before
    assert attempt == 3 and ATTEMPTS[key] == 3
    assert skipped >= timedelta(hours=2)  # two one-hour backoffs, skipped


async def test_update_while_time_is_skipped(env: WorkflowEnvironment, task_queue: str) -> None:
    async with worker(env, task_queue):
        handle = await env.client.start_workflow(
            Approval.run, id=f"approval-{uuid.uuid4()}", task_queue=task_queue
        )
        assert await asyncio.wait_for(handle.execute_update(Approval.approve), 10) == "approved"
        assert await asyncio.wait_for(handle.result(), 10) == "approved in time"
        expiring = await env.client.start_workflow(
            Approval.run, id=f"approval-{uuid.uuid4()}", task_queue=task_queue
        )
        assert await asyncio.wait_for(expiring.result(), 10) == "expired"


async def test_run_timeout_in_virtual_time(env: WorkflowEnvironment, task_queue: str) -> None:
    async with worker(env, task_queue):
        handle = await env.client.start_workflow(
            LongSleep.run, 10, id=f"timeout-{uuid.uuid4()}", task_queue=task_queue,
            run_timeout=timedelta(days=1),
        )
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(handle.result(), 10)
    assert isinstance(info.value.cause, WorkflowTimeoutError)


async def test_cron_runs_follow_the_schedule(env: WorkflowEnvironment, task_queue: str) -> None:
    workflow_id = f"cron-{uuid.uuid4()}"
    async with worker(env, task_queue):
        handle = await env.client.start_workflow(
            DailyReport.run, id=workflow_id, task_queue=task_queue, cron_schedule="@daily"
        )
        await env.sleep(timedelta(days=2, hours=1))
        runs = []
        run_id: str | None = handle.first_execution_run_id or handle.result_run_id
        while run_id:
            history = await env.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            runs.append(history)
            last = history.events[-1]
            run_id = last.workflow_execution_completed_event_attributes.new_execution_run_id or None
        await env.client.get_workflow_handle(workflow_id).terminate("enough")
    completed = [h for h in runs if h.events[-1].HasField("workflow_execution_completed_event_attributes")]
    assert len(completed) >= 2
    starts = [h.events[0].event_time.ToDatetime() for h in runs]
    backoffs = [
        h.events[0].workflow_execution_started_event_attributes.first_workflow_task_backoff.ToTimedelta()
        for h in runs
    ]
    # Each run waits for the next midnight.
    for started, backoff in zip(starts, backoffs, strict=True):
        fires = started + backoff
        assert (fires.hour, fires.minute) == (0, 0)


async def test_sleep_and_current_time(env: WorkflowEnvironment) -> None:
    before = await env.get_current_time()
    await env.sleep(timedelta(days=3))
    after = await env.get_current_time()
    assert timedelta(days=3) <= after - before < timedelta(days=3, minutes=1)


async def test_start_local_with_existing_path(task_queue: str) -> None:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=executable(), namespace="testing-ns",
        search_attributes=[],
    ) as local:
        async with Worker(local.client, task_queue=task_queue, workflows=WORKFLOWS):
            result = await local.client.execute_workflow(
                LongSleep.run, 0, id=f"local-{uuid.uuid4()}", task_queue=task_queue
            )
    assert result == "slept 0 days"


async def test_embedding_api_with_time_skipping(task_queue: str) -> None:
    async with temporallite.testing.start(time_skipping=True) as server:
        client = await server.client()
        async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS):
            handle = await client.start_workflow(
                LongSleep.run, 365, id=f"embedded-{uuid.uuid4()}", task_queue=task_queue
            )
            from temporalio.api.testservice.v1 import UnlockTimeSkippingRequest

            await client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
            assert await asyncio.wait_for(handle.result(), 10) == "slept 365 days"


async def test_virtual_time_survives_a_restart_on_a_database_file(tmp_path: Path) -> None:
    from temporalio.api.testservice.v1 import SleepRequest, UnlockTimeSkippingRequest

    db = str(tmp_path / "skipped.db")
    async with temporallite.testing.start(time_skipping=True, db_filename=db) as server:
        client = await server.client()
        await client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
        sleep = SleepRequest()
        sleep.duration.FromTimedelta(timedelta(days=10))
        await client.test_service.sleep(sleep)
        skipped = (await client.test_service.get_current_time(Empty())).time.ToSeconds()
    async with temporallite.testing.start(time_skipping=True, db_filename=db) as server:
        client = await server.client()
        now = (await client.test_service.get_current_time(Empty())).time.ToSeconds()
    assert now >= skipped > time.time() + 9 * DAY


def test_pytest_plugin(tmp_path: Path) -> None:
    (tmp_path / "test_user_suite.py").write_text(
        textwrap.dedent(
            """
            import uuid
            from temporalio import workflow
            from temporalio.worker import Worker

            @workflow.defn
            class Hello:
                @workflow.run
                async def run(self, name: str) -> str:
                    return f"Hello, {name}!"

            async def test_hello(temporal_client):
                async with Worker(temporal_client, task_queue="tq", workflows=[Hello]):
                    result = await temporal_client.execute_workflow(
                        Hello.run, "plugin", id=str(uuid.uuid4()), task_queue="tq"
                    )
                assert result == "Hello, plugin!"

            async def test_same_server(temporal_server, temporal_client):
                assert temporal_server.target
                info = await temporal_client.workflow_service.get_system_info(
                    __import__("temporalio.api.workflowservice.v1", fromlist=["x"]).GetSystemInfoRequest()
                )
                assert info.server_version
            """
        )
    )
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = session\n"
        "asyncio_default_test_loop_scope = session\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "temporallite.testing.pytest_plugin",
         "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
