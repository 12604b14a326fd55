"""Workflows and activities for tests/e2e/test_workflow_features.py: queries,
child workflows, continue-as-new, workflow retries, cron, external signals and
cancels, local activities, patches and reset, written as users write them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)

# Per-process attempt counters for local activities, keyed by a test-chosen key.
LA_ATTEMPTS: dict[str, int] = {}

# ---------------------------------------------------------------------------
# Activities (run as local activities)


@activity.defn
async def la_echo(value: str) -> str:
    return f"la:{value}"


@activity.defn
async def la_flaky(key: str) -> str:
    LA_ATTEMPTS[key] = LA_ATTEMPTS.get(key, 0) + 1
    attempt = activity.info().attempt
    if attempt < 3:
        raise ApplicationError(f"local attempt {attempt} failed", type="Flaky")
    return f"ok after {attempt}"


@activity.defn
async def la_sleep(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


ACTIVITIES: list[Callable[..., Any]] = [la_echo, la_flaky, la_sleep]

# ---------------------------------------------------------------------------
# Queries


@workflow.defn
class Counter:
    """Counts `bump` signals; answers queries; ends on `finish`."""

    def __init__(self) -> None:
        self.count = 0
        self.done = False

    @workflow.signal
    def bump(self) -> None:
        self.count += 1

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def current(self) -> int:
        return self.count

    @workflow.query
    def broken(self) -> int:
        raise ApplicationError("this query always fails", type="QueryBroken")

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.count


# ---------------------------------------------------------------------------
# Child workflows


@workflow.defn
class Child:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"child says hi to {name}"


@workflow.defn
class FailingChild:
    @workflow.run
    async def run(self, name: str) -> str:
        raise ApplicationError(f"child refuses {name}", type="ChildRefuses")


@workflow.defn
class ChildReportsParent:
    @workflow.run
    async def run(self) -> list[str]:
        parent = workflow.info().parent
        assert parent is not None
        return [parent.namespace, parent.workflow_id, parent.run_id]


@workflow.defn
class WaitingChild:
    """Runs until signalled (`go`) or cancelled."""

    def __init__(self) -> None:
        self.go_ = False

    @workflow.signal
    def go(self) -> None:
        self.go_ = True

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.go_)
        return "released"


@workflow.defn
class ParentRunsChild:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_child_workflow(
            Child.run, name, id=f"{workflow.info().workflow_id}-child"
        )


@workflow.defn
class ParentOfFailingChild:
    @workflow.run
    async def run(self, name: str) -> str:
        # The ChildWorkflowError is not caught: it fails the parent.
        return await workflow.execute_child_workflow(
            FailingChild.run,
            name,
            id=f"{workflow.info().workflow_id}-child",
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


@workflow.defn
class ParentCatchesChildFailure:
    @workflow.run
    async def run(self, name: str) -> list[str]:
        try:
            await workflow.execute_child_workflow(
                FailingChild.run, name, id=f"{workflow.info().workflow_id}-child"
            )
        except ChildWorkflowError as err:
            cause = err.cause
            assert isinstance(cause, ApplicationError)
            return [type(err).__name__, cause.type or "", cause.message]
        return ["no error"]


@workflow.defn
class ParentStartsDuplicateChild:
    @workflow.run
    async def run(self) -> str:
        child_id = f"{workflow.info().workflow_id}-child"
        first = await workflow.start_child_workflow(WaitingChild.run, id=child_id)
        try:
            await workflow.start_child_workflow(WaitingChild.run, id=child_id)
        except WorkflowAlreadyStartedError as err:
            outcome = f"already started: {err.workflow_id == child_id} {err.workflow_type}"
        else:
            outcome = "second child started"
        await first.signal(WaitingChild.go)
        assert await first == "released"
        return outcome


@workflow.defn
class ParentLeavesChildRunning:
    """Starts a child that waits forever and completes while it runs."""

    @workflow.run
    async def run(self, policy: str) -> str:
        child = await workflow.start_child_workflow(
            WaitingChild.run,
            id=f"{workflow.info().workflow_id}-child",
            parent_close_policy=workflow.ParentClosePolicy[policy],
        )
        return child.id


@workflow.defn
class ParentCancelsChild:
    @workflow.run
    async def run(self) -> str:
        child = await workflow.start_child_workflow(
            WaitingChild.run, id=f"{workflow.info().workflow_id}-child"
        )
        child.cancel()
        try:
            await child
        except ChildWorkflowError as err:
            if isinstance(err.cause, CancelledError):
                return "child cancelled"
            raise
        return "child not cancelled"


@workflow.defn
class ParentOfReporter:
    @workflow.run
    async def run(self) -> list[str]:
        return await workflow.execute_child_workflow(
            ChildReportsParent.run, id=f"{workflow.info().workflow_id}-child"
        )


# ---------------------------------------------------------------------------
# Continue-as-new, workflow retries, cron


@workflow.defn
class ContinuesAsNew:
    """Continues as new until `count` reaches `until`, then reports what the
    last run saw."""

    @workflow.run
    async def run(self, count: int, until: int) -> dict:
        if count < until:
            workflow.continue_as_new(args=[count + 1, until])
        info = workflow.info()
        return {
            "count": count,
            "memo": workflow.memo_value("owner", "missing"),
            "continued_run_id": info.continued_run_id is not None,
            "first_run_id": info.first_execution_run_id,
            "search_attributes": {k: v for k, v in info.search_attributes.items() if k.startswith("Custom")},
            "task_queue": info.task_queue,
            "run_timeout": info.run_timeout.total_seconds() if info.run_timeout else None,
            "task_timeout": info.task_timeout.total_seconds(),
        }


@workflow.defn
class FailsUntilAttempt:
    @workflow.run
    async def run(self, succeed_on: int) -> int:
        attempt = workflow.info().attempt
        if attempt < succeed_on:
            raise ApplicationError(f"workflow attempt {attempt} failed", type="NotYet")
        return attempt


@workflow.defn
class CronJob:
    @workflow.run
    async def run(self) -> dict:
        info = workflow.info()
        return {
            "cron_schedule": info.cron_schedule,
            "continued": info.continued_run_id is not None,
            "attempt": info.attempt,
        }


# ---------------------------------------------------------------------------
# External signals and cancels


@workflow.defn
class SignalTarget:
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
class SignalsOther:
    @workflow.run
    async def run(self, target_id: str, value: str) -> str:
        await workflow.get_external_workflow_handle(target_id).signal(SignalTarget.add, value)
        return "signalled"


@workflow.defn
class SignalsMissing:
    @workflow.run
    async def run(self, target_id: str) -> list[str]:
        try:
            await workflow.get_external_workflow_handle(target_id).signal("add", "x")
        except ApplicationError as err:
            return [type(err).__name__, err.type or "", err.message]
        return ["signalled"]


@workflow.defn
class CancelsOther:
    @workflow.run
    async def run(self, target_id: str) -> str:
        await workflow.get_external_workflow_handle(target_id).cancel()
        return "cancel requested"


@workflow.defn
class CancelsMissing:
    @workflow.run
    async def run(self, target_id: str) -> list[str]:
        try:
            await workflow.get_external_workflow_handle(target_id).cancel()
        except ApplicationError as err:
            return [type(err).__name__, err.type or "", err.message]
        return ["cancel requested"]


# ---------------------------------------------------------------------------
# Local activities and patches


@workflow.defn
class ThreeLocalActivities:
    @workflow.run
    async def run(self, name: str) -> list[str]:
        results = []
        for i in range(3):
            results.append(
                await workflow.execute_local_activity(
                    la_echo, f"{name}-{i}", start_to_close_timeout=timedelta(seconds=5)
                )
            )
        return results


@workflow.defn
class FlakyLocalActivity:
    @workflow.run
    async def run(self, key: str) -> str:
        return await workflow.execute_local_activity(
            la_flaky,
            key,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )


@workflow.defn
class FailingLocalActivity:
    @workflow.run
    async def run(self, key: str) -> str:
        return await workflow.execute_local_activity(
            la_flaky,
            key,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


@workflow.defn
class LongLocalActivity:
    @workflow.run
    async def run(self, seconds: float) -> str:
        return await workflow.execute_local_activity(
            la_sleep, seconds, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn
class Patched:
    @workflow.run
    async def run(self) -> list[str]:
        out = []
        out.append("new p1" if workflow.patched("p1") else "old p1")
        workflow.deprecate_patch("p2")
        out.append("p2 deprecated")
        return out


# ---------------------------------------------------------------------------
# Reset


@workflow.defn
class Collects:
    def __init__(self) -> None:
        self.values: list[str] = []

    @workflow.signal
    def add(self, value: str) -> None:
        self.values.append(value)

    @workflow.query
    def seen(self) -> list[str]:
        return self.values

    @workflow.run
    async def run(self, expected: int) -> list[str]:
        await workflow.wait_condition(lambda: len(self.values) >= expected)
        return self.values


WORKFLOWS = [
    Counter,
    Child,
    FailingChild,
    ChildReportsParent,
    WaitingChild,
    ParentRunsChild,
    ParentOfFailingChild,
    ParentCatchesChildFailure,
    ParentStartsDuplicateChild,
    ParentLeavesChildRunning,
    ParentCancelsChild,
    ParentOfReporter,
    ContinuesAsNew,
    FailsUntilAttempt,
    CronJob,
    SignalTarget,
    SignalsOther,
    SignalsMissing,
    CancelsOther,
    CancelsMissing,
    ThreeLocalActivities,
    FlakyLocalActivity,
    FailingLocalActivity,
    LongLocalActivity,
    Patched,
    Collects,
]
