"""Workflows and activities used by the e2e tests, written as users write them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

# Per-process attempt counters, keyed by a test-chosen key.
ATTEMPTS: dict[str, int] = {}


@activity.defn
async def greet(name: str) -> str:
    return f"Hello, {name}!"


@activity.defn
async def flaky(key: str) -> str:
    """Fails twice, then succeeds."""
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if activity.info().attempt < 3:
        raise ApplicationError(f"attempt {activity.info().attempt} failed")
    return f"ok after {activity.info().attempt}"


@activity.defn
async def fail_hard(message: str) -> None:
    raise ApplicationError(message, type="BadInput", non_retryable=False)


@activity.defn
async def heartbeat_until_cancelled(_: str) -> str:
    try:
        while True:
            activity.heartbeat("beat")
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        return "cancelled"


@activity.defn
async def sleeps(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slept"


@activity.defn
async def heartbeat_details(_: str) -> str:
    """Records progress; a retry resumes from the last heartbeat."""
    start = activity.info().heartbeat_details[0] if activity.info().heartbeat_details else 0
    for i in range(start, 5):
        activity.heartbeat(i + 1)
        if i == 2 and activity.info().attempt == 1:
            raise ApplicationError("crash mid-way")
    return f"resumed from {start}"


@workflow.defn
class ReturnAtOnce:
    @workflow.run
    async def run(self, value: str) -> str:
        return value


@workflow.defn
class OneActivity:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class SequenceAndParallel:
    @workflow.run
    async def run(self) -> list[str]:
        results = []
        for name in ("a", "b", "c"):
            results.append(
                await workflow.execute_activity(
                    greet, name, start_to_close_timeout=timedelta(seconds=10)
                )
            )
        parallel = await asyncio.gather(
            *(
                workflow.execute_activity(greet, n, start_to_close_timeout=timedelta(seconds=10))
                for n in ("x", "y")
            )
        )
        return results + list(parallel)


@workflow.defn
class Sleeper:
    @workflow.run
    async def run(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "woke"


@workflow.defn
class SignalCollector:
    def __init__(self) -> None:
        self.values: list[str] = []

    @workflow.signal
    def add(self, value: str) -> None:
        self.values.append(value)

    @workflow.run
    async def run(self, expected: int) -> list[str]:
        await workflow.wait_condition(lambda: len(self.values) >= expected)
        return self.values


@workflow.defn
class WaitOrTimeout:
    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.run
    async def run(self, timeout: float) -> str:
        try:
            await workflow.wait_condition(lambda: self.done, timeout=timeout)
            return "signalled"
        except TimeoutError:
            return "timed out"


@workflow.defn
class Retrying:
    @workflow.run
    async def run(self, key: str) -> str:
        return await workflow.execute_activity(
            flaky,
            key,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )


@workflow.defn
class NonRetryable:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            fail_hard,
            "nope",
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(non_retryable_error_types=["BadInput"]),
        )


@workflow.defn
class MaxAttempts:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            fail_hard,
            "always",
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=50), maximum_attempts=3
            ),
        )


@workflow.defn
class FailsWithError:
    @workflow.run
    async def run(self, message: str) -> None:
        raise ApplicationError(message, type="Boom")


@workflow.defn
class CancelActivity:
    @workflow.run
    async def run(self) -> str:
        handle = workflow.start_activity(
            heartbeat_until_cancelled,
            "x",
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=2),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        await asyncio.sleep(0.5)
        handle.cancel()
        try:
            return await handle
        except Exception as err:  # the activity reports its cancellation
            return type(err.__cause__ or err).__name__


@workflow.defn
class ActivityTimeout:
    @workflow.run
    async def run(self, kind: str) -> str:
        if kind == "heartbeat":
            options = dict(
                start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=timedelta(milliseconds=500),
            )
        elif kind == "start_to_close":
            options = dict(start_to_close_timeout=timedelta(milliseconds=500))
        else:
            options = dict(schedule_to_close_timeout=timedelta(seconds=1))
        return await workflow.execute_activity(
            sleeps, 3.0, retry_policy=RetryPolicy(maximum_attempts=1), **options  # type: ignore[arg-type]
        )


@workflow.defn
class ScheduleToStartTimeout:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            greet,
            "nobody",
            task_queue="no-worker-here",
            schedule_to_start_timeout=timedelta(milliseconds=500),
            start_to_close_timeout=timedelta(seconds=5),
        )


@workflow.defn
class HeartbeatResume:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            heartbeat_details,
            "x",
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=50)),
        )


@workflow.defn(sandboxed=False)  # the attempt counter must outlive the sandbox
class FlakyWorkflowTask:
    """Raises a plain exception on its first workflow task: the task fails
    and is retried by the server; the second attempt completes."""

    @workflow.run
    async def run(self, key: str) -> str:
        ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
        if ATTEMPTS[key] == 1:
            raise RuntimeError("first task fails")
        return f"attempts {ATTEMPTS[key]}"


@workflow.defn
class Upserter:
    @workflow.run
    async def run(self) -> str:
        workflow.upsert_memo({"stage": "upserted"})
        return "ok"


@workflow.defn
class ManyTimers:
    @workflow.run
    async def run(self, count: int) -> int:
        await asyncio.gather(*(asyncio.sleep(0.1 * (i % 5) + 0.1) for i in range(count)))
        return count
