"""The history engine: loads an execution, runs one transition on it under
its lock, commits, and only then tells the world (matching, timers, long
polls). One writer per workflow id; different workflows run concurrently."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from temporalio.api.history.v1 import History, HistoryEvent

from temporallite.clock import Clock
from temporallite.config import ExecutionLimits
from temporallite.errors import NotFound, workflow_not_found
from temporallite.history import activity, lifecycle, limits, workflow_task, workflow_time_skipping
from temporallite.history.history_cache import HistoryCache
from temporallite.history.mutable_state import MutableState
from temporallite.history.timers import TimerKey, TimerQueue
from temporallite.history.transaction import Task, Transaction
from temporallite.matching.task_queues import Matching
from temporallite.persistence.store import Store, WriteBatch
from temporallite.visibility.rows import visibility_row

log = logging.getLogger("temporallite.history")

T = TypeVar("T")
RECENTLY_CLOSED_RUNS = 1000
WorkflowKey = tuple[str, str]  # namespace id, workflow id


class Unchanged(Exception):
    """Raised by a transition that found nothing to do before changing anything."""


class HistoryEngine:
    def __init__(
        self, store: Store, matching: Matching, clock: Clock, execution_limits: ExecutionLimits | None = None
    ) -> None:
        self.store = store
        self.matching = matching
        self.clock = clock
        self.limits = execution_limits or ExecutionLimits()
        self.timers = TimerQueue(clock, self._on_timer)
        self._states: dict[str, MutableState] = {}  # run id → open run's state
        # Runs that just closed: their result and describe are read right after.
        self._closed: OrderedDict[str, MutableState] = OrderedDict()
        self.history_cache = HistoryCache()
        self._run_timers: dict[str, set[TimerKey]] = {}  # run id → its armed timers
        self._locks: dict[WorkflowKey, asyncio.Lock] = {}
        self._watchers: dict[str, list[asyncio.Future[None]]] = {}
        self.timer_handlers: dict[str, Callable[[Transaction, TimerKey], None]] = {}
        # Cross-execution work after commit (history/transfer.py).
        self.transfer_handler: Callable[[MutableState, str, Any], Coroutine[Any, Any, None]] | None = None
        self.namespace_lookup: Callable[[str], str | None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        # Called with each committed transaction, after dispatch (updates).
        self.after_commit: list[Callable[[Transaction], None]] = []
        # Called when background work ends (time skipping re-checks).
        self.on_idle: list[Callable[[], None]] = []

    # ---- start-up ---------------------------------------------------------

    async def recover(self) -> None:
        """Rebuild tasks and timers from every open execution."""
        rows = await self.store.fetch_all("SELECT state FROM executions WHERE is_open = 1")
        now = self.clock.now()
        for (text,) in rows:
            ms = MutableState.from_json(text)
            self._states[ms.run_id] = ms
            for task in pending_tasks(ms, now + ms.skipped_duration):
                self.matching.add_task(task)
            self.arm_timers(ms)
            if ms.children or ms.external_requests:
                self.spawn_transfer(ms, "recover", None)
        self.timers.start()

    def forget(self, run_id: str) -> None:
        """Drop what memory holds of a run (the DB row is the truth again)."""
        self._states.pop(run_id, None)
        self._closed.pop(run_id, None)

    def open_states(self) -> list[MutableState]:
        return list(self._states.values())

    def background_count(self) -> int:
        return len(self._background)

    async def stop(self) -> None:
        await self.timers.stop()
        for task in list(self._background):
            task.cancel()
        for futures in self._watchers.values():
            for future in futures:
                if not future.done():
                    future.set_result(None)

    # ---- loading ----------------------------------------------------------

    def lock(self, namespace_id: str, workflow_id: str) -> asyncio.Lock:
        key = (namespace_id, workflow_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def current_run_id(self, namespace_id: str, workflow_id: str) -> str | None:
        row = await self.store.fetch_one(
            "SELECT run_id FROM current_executions WHERE namespace_id = ? AND workflow_id = ?",
            namespace_id,
            workflow_id,
        )
        return row[0] if row else None

    async def load(self, namespace_id: str, workflow_id: str, run_id: str = "") -> MutableState:
        """The run's state (the current run when run_id is empty), or NotFound."""
        if not run_id:
            current = await self.current_run_id(namespace_id, workflow_id)
            if current is None:
                raise workflow_not_found(workflow_id)
            run_id = current
        ms = self._states.get(run_id) or self._closed.get(run_id)
        if ms is not None and ms.namespace_id == namespace_id and ms.workflow_id == workflow_id:
            return ms
        row = await self.store.fetch_one(
            "SELECT state FROM executions WHERE namespace_id = ? AND workflow_id = ? AND run_id = ?",
            namespace_id,
            workflow_id,
            run_id,
        )
        if row is None:
            raise workflow_not_found(workflow_id, run_id)
        ms = MutableState.from_json(row[0])
        if ms.is_open:
            self._states[run_id] = ms
        return ms

    # ---- transitions ------------------------------------------------------

    async def update(
        self,
        namespace_id: str,
        workflow_id: str,
        run_id: str,
        transition: Callable[[Transaction], T],
    ) -> T:
        """Run `transition` on the run under its workflow lock and commit it."""
        async with self.lock(namespace_id, workflow_id):
            ms = await self.load(namespace_id, workflow_id, run_id)
            tx = self.transaction(ms)
            try:
                result = transition(tx)
                await self.commit_active(tx)
            except Unchanged:
                raise  # nothing was touched: the cached state stays valid
            except BaseException:
                # The in-memory state may be half-changed: reload it from the DB.
                self.forget(ms.run_id)
                raise
            return result

    def transaction(self, ms: MutableState) -> Transaction:
        # A run's own clock: virtual when per-workflow time skipping skipped.
        return Transaction(
            ms, self.clock.now() + ms.skipped_duration, lookup_namespace_id=self.namespace_lookup,
            limits=self.limits,
        )

    async def commit_active(self, tx: Transaction) -> None:
        """Commit a transition of an existing run, enforcing the history
        limits as the real server does: past one, the transition is dropped
        and the run terminated instead (the caller holds the run's lock)."""
        if tx.new_run is None:
            reason = limits.history_limit_exceeded(tx.ms, self.limits)
            if reason is not None:
                await self._force_terminate(tx.ms, reason)
                raise limits.HistoryLimitExceeded(reason)
        await self.commit(tx)

    async def _force_terminate(self, changed: MutableState, reason: str) -> None:
        self.forget(changed.run_id)  # drop the transition: back to the DB's state
        ms = await self.load(changed.namespace_id, changed.workflow_id, changed.run_id)
        if not ms.is_open:
            return
        tx = self.transaction(ms)
        try:
            workflow_task.fail_in_flight_for_close(tx, limits.SERVER_IDENTITY)
            lifecycle.terminate(tx, reason, None, limits.SERVER_IDENTITY)
            await self.commit(tx)
        except BaseException:
            self.forget(ms.run_id)
            raise

    async def commit(self, tx: Transaction, batch: WriteBatch | None = None) -> None:
        """Persist the transaction (and the run it started, if any) in one
        SQLite transaction, then dispatch what it produced."""
        batch = batch or WriteBatch()
        runs = [tx] if tx.new_run is None else [tx, tx.new_run]
        blobs = [self._persist(run, batch) for run in runs]
        if tx.new_run is not None:
            new = tx.new_run.ms
            batch.add(
                "INSERT OR REPLACE INTO current_executions (namespace_id, workflow_id, run_id)"
                " VALUES (?, ?, ?)",
                new.namespace_id,
                new.workflow_id,
                new.run_id,
            )
        await self.store.commit(batch)
        # Committed: now tell the world.
        for run, blob in zip(runs, blobs, strict=True):
            if blob:
                first, last = run.events[0].event_id, run.events[-1].event_id
                self.history_cache.append(run.ms.run_id, first, last, blob)
            self._publish(run)

    def _persist(self, tx: Transaction, batch: WriteBatch) -> bytes:
        """Add the transaction's writes to the batch; its history batch, serialized."""
        ms = tx.ms
        if tx.needs_workflow_task:
            workflow_task.schedule(tx)
        workflow_time_skipping.on_close_transaction(tx)
        if not ms.is_open and tx.events and tx.events[-1].event_id == ms.completion_event_id:
            # The run closed in this transition: its children and parent hear of it.
            if ms.children:
                tx.transfers.append(("parent_closed", list(ms.children.values())))
            if ms.parent is not None and tx.new_run is None:
                tx.transfers.append(("child_closed", tx.events[-1]))
        blob = b""
        if tx.events:
            blob = History(events=tx.events).SerializeToString()
            ms.history_size_bytes += len(blob)
            batch.add(
                "INSERT INTO history (run_id, first_event_id, last_event_id, events)"
                " VALUES (?, ?, ?, ?)",
                ms.run_id,
                tx.events[0].event_id,
                tx.events[-1].event_id,
                blob,
            )
        ms.state_transition_count += 1
        ms.db_version += 1
        batch.add(
            "INSERT OR REPLACE INTO executions"
            " (namespace_id, workflow_id, run_id, is_open, db_version, state)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ms.namespace_id,
            ms.workflow_id,
            ms.run_id,
            int(ms.is_open),
            ms.db_version,
            ms.to_json(),
        )
        if tx.visibility_changed or not ms.is_open:
            batch.add(*visibility_row(ms))
        return blob

    def _publish(self, tx: Transaction) -> None:
        ms = tx.ms
        if ms.is_open:
            self._states[ms.run_id] = ms
        else:
            self._states.pop(ms.run_id, None)
            self._closed[ms.run_id] = ms
            self._closed.move_to_end(ms.run_id)
            if len(self._closed) > RECENTLY_CLOSED_RUNS:
                self._closed.popitem(last=False)
        for task in tx.tasks:
            if ms.is_open:
                self.matching.add_task(task)
        self.arm_timers(ms)
        if tx.events:
            self._wake(ms.run_id)
        for kind, ref in tx.transfers:
            self.spawn_transfer(ms, kind, ref)
        for hook in self.after_commit:
            hook(tx)

    def spawn_transfer(self, ms: MutableState, kind: str, ref: Any) -> None:
        if self.transfer_handler is None:
            return
        task = asyncio.create_task(self.transfer_handler(ms, kind, ref))
        self._background.add(task)
        task.add_done_callback(self._transfer_done)

    def _transfer_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        for hook in self.on_idle:
            hook()

    # ---- history ----------------------------------------------------------

    async def read_history(
        self, run_id: str, first_event_id: int, next_event_id: int
    ) -> list[HistoryEvent]:
        """Events with first_event_id <= id < next_event_id."""
        cached = self.history_cache.read(run_id, first_event_id, next_event_id)
        if cached is not None:
            return cached
        # Seek to the batch holding first_event_id (an index lookup), so reading
        # the tail of a long history does not scan its beginning.
        rows = await self.store.fetch_all(
            "SELECT events FROM history WHERE run_id = ? AND first_event_id >= COALESCE("
            "(SELECT MAX(first_event_id) FROM history WHERE run_id = ? AND first_event_id <= ?), 0)"
            " AND first_event_id < ? ORDER BY first_event_id",
            run_id,
            run_id,
            first_event_id,
            next_event_id,
        )
        events: list[HistoryEvent] = []
        for (blob,) in rows:
            for event in History.FromString(blob).events:
                if first_event_id <= event.event_id < next_event_id:
                    events.append(event)
        return events

    async def wait_for_events(self, run_id: str, timeout: float) -> None:
        """Wait until new events are committed for the run (or timeout)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._watchers.setdefault(run_id, []).append(future)
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            pass
        finally:
            futures = self._watchers.get(run_id)
            if futures is not None:
                if future in futures:
                    futures.remove(future)
                if not futures:
                    del self._watchers[run_id]

    def _wake(self, run_id: str) -> None:
        for future in self._watchers.pop(run_id, []):
            if not future.done():
                future.set_result(None)

    # ---- timers -----------------------------------------------------------

    def arm_timers(self, ms: MutableState) -> None:
        """Arm what the run's state implies now; disarm what it no longer does
        (a completed activity's timeouts, a closed run's timers)."""
        entries = timer_entries(ms)
        keys = {key for key, _ in entries}
        for stale in self._run_timers.pop(ms.run_id, set()) - keys:
            self.timers.disarm(stale)
        skipped = ms.skipped_duration  # deadlines are in the run's virtual time
        for key, fire_time in entries:
            if key.kind == "activity_retry" and self.timers.has_fired(key, fire_time - skipped):
                # Its backoff is over: the task waits in matching for a worker.
                # Armed again, it would fire again and again until one comes.
                continue
            self.timers.arm(key, fire_time - skipped)
        if keys:
            self._run_timers[ms.run_id] = keys

    async def _on_timer(self, key: TimerKey) -> None:
        handler = self.timer_handlers[key.kind]
        try:
            if not (await self.load(key.namespace_id, key.workflow_id, key.run_id)).is_open:
                return  # the run closed: a stale timer changes nothing, writes nothing
        except NotFound:
            return

        def transition(tx: Transaction) -> None:
            if tx.ms.is_open:
                handler(tx, key)

        try:
            await self.update(key.namespace_id, key.workflow_id, key.run_id, transition)
        except (NotFound, limits.HistoryLimitExceeded):
            pass


def awaiting_first_workflow_task(ms: MutableState) -> bool:
    """A delayed start's first workflow task is not scheduled yet (time
    skipping transitions may follow the started event)."""
    if ms.time_skipping is not None:
        return not workflow_time_skipping.had_workflow_task(ms)
    return ms.next_event_id == 2


def pending_tasks(ms: MutableState, now: float) -> list[Task]:
    """Tasks that mutable state says are waiting for a worker."""
    tasks: list[Task] = []
    if not ms.is_open:
        return tasks
    wft = ms.workflow_task
    if wft is not None and not wft.started:
        tasks.append(workflow_task.dispatch_task(ms, wft))
    for info in ms.activities.values():
        if not info.started and info.scheduled_time <= now:
            tasks.append(
                Task("activity", ms.namespace_id, info.task_queue, ms.workflow_id, ms.run_id,
                     info.scheduled_event_id, info.attempt)
            )
    return tasks


def timer_entries(ms: MutableState) -> list[tuple[TimerKey, float]]:
    """Every timer mutable state implies, as (key, fire time)."""
    if not ms.is_open:
        return []

    def key(kind: str, ref: int | str = 0, attempt: int = 0) -> TimerKey:
        return TimerKey(ms.namespace_id, ms.workflow_id, ms.run_id, kind, ref, attempt)

    entries: list[tuple[TimerKey, float]] = []
    if ms.run_expiration_time:
        entries.append((key("workflow_run_timeout"), ms.run_expiration_time))
    if ms.execution_expiration_time:
        entries.append((key("workflow_execution_timeout"), ms.execution_expiration_time))
    if ms.first_workflow_task_time and awaiting_first_workflow_task(ms):
        entries.append((key("workflow_backoff"), ms.first_workflow_task_time))
    wft = ms.workflow_task
    if wft is not None:
        if wft.started:
            entries.append(
                (key("workflow_task_timeout", wft.scheduled_event_id, wft.attempt),
                 wft.started_time + wft.start_to_close_timeout)
            )
        elif wft.schedule_to_start_deadline:
            entries.append(
                (key("workflow_task_schedule_to_start", wft.scheduled_event_id, wft.attempt),
                 wft.schedule_to_start_deadline)
            )
    for timer in ms.timers.values():
        entries.append((key("user_timer", timer.timer_id), timer.fire_time))
    ts = ms.time_skipping
    if ts is not None and ts.fast_forward_target and not ts.fast_forward_reached:
        entries.append((key("time_skipping_fast_forward"), ts.fast_forward_target))
    for info in ms.activities.values():
        if not info.started and info.attempt > 1:
            entries.append(
                (key("activity_retry", info.scheduled_event_id, info.attempt), info.scheduled_time)
            )
        for timeout_type, deadline in activity.timeout_deadlines(info):
            entries.append(
                (key(f"activity_timeout:{timeout_type}", info.scheduled_event_id, info.attempt),
                 deadline)
            )
    return entries
