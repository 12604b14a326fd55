"""The workflows and the activity the workloads run (the same code on both servers)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

TIMER_S = 1.0
SIGNALS = 10


@activity.defn
async def echo(value: str) -> str:
    return value


@workflow.defn
class Noop:
    """Returns at once: one workflow task."""

    @workflow.run
    async def run(self) -> str:
        return "done"


@workflow.defn
class OneActivity:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(echo, "hi", start_to_close_timeout=timedelta(seconds=60))


@workflow.defn
class Signals:
    """Completes once it has received `count` signals."""

    def __init__(self) -> None:
        self.received = 0

    @workflow.signal
    def bump(self) -> None:
        self.received += 1

    @workflow.run
    async def run(self, count: int) -> int:
        await workflow.wait_condition(lambda: self.received >= count)
        return self.received


@workflow.defn
class Parent:
    """Runs one child (Noop) and returns its result."""

    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_child_workflow(Noop.run, id=f"{workflow.info().workflow_id}-child")


@workflow.defn
class Timer:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(TIMER_S)
        return "fired"


ALL_WORKFLOWS = [Noop, OneActivity, Signals, Parent, Timer]
ALL_ACTIVITIES = [echo]
