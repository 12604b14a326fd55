"""Time skipping (test-server mode): when no lock is held and nothing is in
flight — no pending workflow task, no activity ready or running, no child
start or external signal on its way, no query waiting — virtual time jumps
to the next timer, so a workflow that sleeps 30 days finishes at once."""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable

from temporallite.clock import VirtualClock
from temporallite.history.engine import HistoryEngine
from temporallite.history.mutable_state import MutableState
from temporallite.history.transaction import Transaction
from temporallite.persistence.store import WriteBatch

log = logging.getLogger("temporallite.history")

SAVE_CLOCK = "INSERT OR REPLACE INTO server_clock (id, skipped) VALUES (0, ?)"


def busy(ms: MutableState, now: float) -> bool:
    """Work is in flight for this run: time must not jump."""
    if not ms.is_open:
        return False
    if ms.workflow_task is not None or ms.external_requests:
        return True
    if any(not child.run_id for child in ms.children.values()):
        return True
    return any(a.started or a.scheduled_time <= now for a in ms.activities.values())


class TimeSkipper:
    def __init__(self, engine: HistoryEngine, clock: VirtualClock) -> None:
        self.engine = engine
        self.clock = clock
        self._busy: set[str] = set()
        self._sleepers: list[float] = []
        self._changed = asyncio.Event()
        self._scheduled = False
        self._saving: set[asyncio.Task[None]] = set()
        # Other in-flight work (queries, transfers), counted by their owners.
        self.inflight: list[Callable[[], int]] = []
        engine.after_commit.append(self._on_commit)
        engine.on_idle.append(self.nudge)

    async def restore_clock(self) -> None:
        """Resume a database file's virtual time where it was left."""
        row = await self.engine.store.fetch_one("SELECT skipped FROM server_clock WHERE id = 0")
        if row is not None:
            self.clock.offset = max(self.clock.offset, row[0])

    def _save_clock(self) -> None:
        # Written in the background: events committed after the jump carry
        # the new time anyway; this keeps jumps that wrote no event.
        batch = WriteBatch()
        batch.add(SAVE_CLOCK, self.clock.offset)
        task = asyncio.create_task(self.engine.store.commit(batch))
        self._saving.add(task)
        task.add_done_callback(self._saved)

    def _saved(self, task: asyncio.Task[None]) -> None:
        self._saving.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("virtual clock not saved: %s", task.exception())

    def recover(self, states: list[MutableState]) -> None:
        now = self.clock.now()
        self._busy = {ms.run_id for ms in states if busy(ms, now)}
        self.nudge()

    def _on_commit(self, tx: Transaction) -> None:
        for run in (tx, tx.new_run):
            if run is None:
                continue
            if busy(run.ms, self.clock.now()):
                self._busy.add(run.ms.run_id)
            else:
                self._busy.discard(run.ms.run_id)
        self.nudge()

    # ---- locks and sleeps (TestService) -------------------------------------

    def lock(self) -> None:
        self.clock.locks += 1

    def unlock(self) -> None:
        if self.clock.locks > 0:
            self.clock.locks -= 1
        self.nudge()

    async def sleep_until(self, deadline: float) -> None:
        heapq.heappush(self._sleepers, deadline)
        try:
            self.nudge()
            while self.clock.now() < deadline:
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - self.clock.now())
                except TimeoutError:
                    pass
        finally:
            self._sleepers.remove(deadline)
            heapq.heapify(self._sleepers)

    # ---- the jump ------------------------------------------------------------

    def nudge(self) -> None:
        """Check soon (after the current burst of work settles)."""
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._check)

    def _check(self) -> None:
        self._scheduled = False
        if self.clock.locks or self._busy or any(count() for count in self.inflight):
            return
        candidates = [t for t in (self.engine.timers.next_fire_time(),) if t is not None]
        if self._sleepers:
            candidates.append(self._sleepers[0])
        if not candidates:
            return
        self.clock.advance_to(min(candidates))
        self._save_clock()
        self.engine.timers.poke()
        self._changed.set()
