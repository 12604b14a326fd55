"""Workflows with update handlers, used by tests/e2e/test_updates.py, written
as users write them with the Python SDK."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError


@activity.defn
async def shout(text: str) -> str:
    return f"{text.upper()}!"


@activity.defn
async def stall(seconds: float) -> str:
    """Outlives the test that starts it (cancelled when its worker stops)."""
    await asyncio.sleep(seconds)
    return "finished stalling"


@workflow.defn
class Accumulator:
    """Keeps a running total changed by updates; returns it once `finish` is
    called (by update or signal)."""

    def __init__(self) -> None:
        self.total = 0
        self.done = False
        self.seen: list[int] = []

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        # Let handlers that are still running (an activity in an update) end
        # before the run completes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.total

    @workflow.update
    def add(self, amount: int) -> int:
        self.total += amount
        self.seen.append(amount)
        return self.total

    @add.validator
    def validate_add(self, amount: int) -> None:
        if amount < 0:
            raise ApplicationError(f"cannot add {amount}", type="NegativeAmount")

    @workflow.update
    def explode(self, message: str) -> str:
        raise ApplicationError(message, {"why": message}, type="UpdateBroken")

    @workflow.update
    async def shout(self, text: str) -> str:
        return await workflow.execute_activity(
            shout, text, start_to_close_timeout=timedelta(seconds=10)
        )

    @workflow.update
    async def stall(self, seconds: float) -> str:
        return await workflow.execute_activity(
            stall, seconds, start_to_close_timeout=timedelta(seconds=60)
        )

    @workflow.update
    def finish(self) -> int:
        self.done = True
        return self.total

    @workflow.signal
    def finish_signal(self) -> None:
        self.done = True

    @workflow.query
    def amounts(self) -> list[int]:
        return self.seen


@workflow.defn
class Gate:
    """Its run waits until an update opens the gate, then returns what the
    update brought."""

    def __init__(self) -> None:
        self.value: str | None = None

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.value is not None)
        return f"opened with {self.value}"

    @workflow.update
    def open(self, value: str) -> str:
        self.value = value
        return "opening"


@workflow.defn
class QuickReturn:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"hi {name}"

    @workflow.update
    def poke(self) -> str:
        return "poked"


WORKFLOWS = [Accumulator, Gate, QuickReturn]
ACTIVITIES: list[Callable[..., Any]] = [shout, stall]
