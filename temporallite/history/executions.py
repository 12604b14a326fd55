"""Operations on workflow executions from clients: start, signal, cancel,
terminate, delete, describe and history reads."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from temporalio.api.common.v1 import Payloads, WorkflowExecution
from temporalio.api.enums.v1 import (
    EventType,
    HistoryEventFilterType,
    TimeoutType,
    WorkflowExecutionStatus,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.failure.v1 import Failure, TimeoutFailureInfo
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes as StartedAttrs
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
    GetWorkflowExecutionHistoryReverseRequest,
    GetWorkflowExecutionHistoryReverseResponse,
    StartWorkflowExecutionRequest,
)

from temporallite.clock import duration_seconds, to_timestamp
from temporallite.errors import (
    WORKFLOW_COMPLETED,
    InvalidArgument,
    NotFound,
    WorkflowAlreadyStarted,
)
from temporallite.history import lifecycle, limits, run_start, workflow_task, workflow_time_skipping
from temporallite.history.engine import HistoryEngine
from temporallite.history.mutable_state import MutableState, ParentInfo
from temporallite.history.payloads import json_payload
from temporallite.history.transaction import Transaction
from temporallite.namespaces import Namespace
from temporallite.persistence.store import WriteBatch

S = WorkflowExecutionStatus
Reuse = WorkflowIdReusePolicy
Conflict = WorkflowIdConflictPolicy

HISTORY_PAGE_SIZE = 256
SIGNAL_REQUEST_IDS_KEPT = 1000
DEFAULT_TERMINATE_REASON = "terminated by user via frontend"
FRONTEND_IDENTITY = "frontend-service"
HISTORY_LONG_POLL = 20.0
FAILED_STATUSES = {
    S.WORKFLOW_EXECUTION_STATUS_FAILED,
    S.WORKFLOW_EXECUTION_STATUS_CANCELED,
    S.WORKFLOW_EXECUTION_STATUS_TERMINATED,
    S.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
}


@dataclass
class StartOptions:
    """How a start meets an existing run of the same workflow id."""

    request_id: str
    workflow_id_reuse_policy: int
    workflow_id_conflict_policy: int
    identity: str
    # Return the first workflow task to the starting worker (eager start).
    eager: bool = False


class Executions:
    def __init__(self, engine: HistoryEngine) -> None:
        self.engine = engine

    # ---- start ------------------------------------------------------------

    async def start(
        self, ns: Namespace, request: StartWorkflowExecutionRequest,
        signal: lifecycle.Signal | None = None,
        within: Callable[[Transaction], None] | None = None,
    ) -> tuple[str, bool, int]:
        """Start a run (or find the one this request already started).
        Returns (run id, started, status). `within` runs inside the start's
        transaction (update-with-start admits its update there)."""
        attrs = run_start.from_request(request, self.engine.clock.now())
        options = StartOptions(
            request.request_id, request.workflow_id_reuse_policy,
            request.workflow_id_conflict_policy, request.identity,
            eager=request.request_eager_execution
            and duration_seconds(attrs.first_workflow_task_backoff) == 0,
        )
        if options.eager:
            attrs.eager_execution_accepted = True
        return await self.start_run(ns, attrs, options, signal, within=within)

    async def start_run(
        self,
        ns: Namespace,
        attrs: StartedAttrs,
        options: StartOptions,
        signal: lifecycle.Signal | None = None,
        parent: ParentInfo | None = None,
        within: Callable[[Transaction], None] | None = None,
    ) -> tuple[str, bool, int]:
        engine = self.engine
        async with engine.lock(ns.id, attrs.workflow_id):
            current = await self._current(ns, attrs.workflow_id)
            run_id = str(uuid.uuid4())
            if current is not None:
                outcome = await self._resolve_conflict(ns, attrs, options, current, signal, run_id)
                if outcome is not None:
                    return outcome
            now = engine.clock.now()
            ms = run_start.new_mutable_state(ns.id, ns.name, run_id, attrs, options.request_id, now)
            ms.parent = parent
            if parent is not None:
                workflow_time_skipping.shift_to_virtual_time(ms)
            tx = Transaction(ms, now + ms.skipped_duration, limits=engine.limits)
            lifecycle.start(tx, attrs, signal)
            # The started event carries the wall-clock time of the start (a
            # child's later events are in its inherited virtual time).
            tx.events[0].event_time.CopyFrom(to_timestamp(now))
            if within is not None:
                within(tx)
            if options.eager and ms.workflow_task is not None:
                # Eager start: the first task goes back to the starter, started.
                tx.tasks = [t for t in tx.tasks if t.kind != "workflow"]
                workflow_task.record_started(tx, options.identity, str(uuid.uuid4()))
            batch = WriteBatch()
            batch.add(
                "INSERT OR REPLACE INTO current_executions (namespace_id, workflow_id, run_id)"
                " VALUES (?, ?, ?)",
                ns.id,
                attrs.workflow_id,
                run_id,
            )
            await engine.commit(tx, batch)
            return run_id, True, ms.status

    async def _current(self, ns: Namespace, workflow_id: str) -> MutableState | None:
        try:
            return await self.engine.load(ns.id, workflow_id)
        except NotFound:
            return None

    async def _resolve_conflict(
        self,
        ns: Namespace,
        attrs: StartedAttrs,
        request: StartOptions,
        current: MutableState,
        signal: lifecycle.Signal | None,
        new_run_id: str,
    ) -> tuple[str, bool, int] | None:
        """None: go on and start a new run. Otherwise the answer to give."""
        if request.request_id and request.request_id == current.start_request_id:
            return current.run_id, True, current.status
        if current.is_open:
            policy = request.workflow_id_conflict_policy
            if signal is not None and policy == Conflict.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED:
                policy = Conflict.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
            if request.workflow_id_reuse_policy == Reuse.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING:
                policy = Conflict.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
            if policy == Conflict.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING:
                if signal is not None:
                    limits.check_signal(current, self.engine.limits)
                    tx = self.engine.transaction(current)
                    try:
                        lifecycle.signal(tx, signal)
                        await self.engine.commit_active(tx)
                    except BaseException:
                        self.engine.forget(current.run_id)
                        raise
                return current.run_id, False, current.status
            if policy == Conflict.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING:
                tx = self.engine.transaction(current)
                details = Payloads(payloads=[json_payload(f"terminated by new runID: {new_run_id}")])
                lifecycle.terminate(
                    tx, "TerminateIfRunning WorkflowIdReusePolicy", details, "history-service"
                )
                await self.engine.commit(tx)
                return None
            raise WorkflowAlreadyStarted(
                f"Workflow execution is already running. WorkflowId: {attrs.workflow_id},"
                f" RunId: {current.run_id}.",
                current.start_request_id,
                current.run_id,
                current.first_run_id,
            )
        reuse = request.workflow_id_reuse_policy
        if reuse == Reuse.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE:
            raise WorkflowAlreadyStarted(
                f"Workflow execution already finished. WorkflowId: {attrs.workflow_id}, "
                f"RunId: {current.run_id}. Workflow Id reuse policy: reject duplicate workflow Id.",
                current.start_request_id,
                current.run_id,
                current.first_run_id,
            )
        if (
            reuse == Reuse.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
            and current.status not in FAILED_STATUSES
        ):
            raise WorkflowAlreadyStarted(
                f"Workflow execution already finished successfully. WorkflowId: "
                f"{attrs.workflow_id}, RunId: {current.run_id}. Workflow ID reuse policy: "
                f"allow duplicate workflow ID if last run failed.",
                current.start_request_id,
                current.run_id,
                current.first_run_id,
            )
        return None

    # ---- signals, cancel, terminate --------------------------------------

    async def signal(
        self, ns: Namespace, execution: WorkflowExecution, sig: lifecycle.Signal
    ) -> None:
        def transition(tx: Transaction) -> None:
            _require_open(tx.ms)
            if sig.request_id and sig.request_id in tx.ms.signal_request_ids:
                return
            limits.check_signal(tx.ms, tx.limits)
            if sig.request_id:
                tx.ms.signal_request_ids.append(sig.request_id)
                # Dedupe covers client retries, which come soon after the first
                # try: keep the recent ids only, so the snapshot stays small.
                del tx.ms.signal_request_ids[:-SIGNAL_REQUEST_IDS_KEPT]
            lifecycle.signal(tx, sig)

        await self.engine.update(ns.id, execution.workflow_id, execution.run_id, transition)

    async def request_cancel(
        self, ns: Namespace, execution: WorkflowExecution, identity: str, request_id: str,
        reason: str, external: tuple[int, WorkflowExecution] | None = None,
    ) -> None:
        def transition(tx: Transaction) -> None:
            # The real server accepts a cancel of a closed or already
            # cancel-requested workflow and writes nothing.
            if not tx.ms.is_open or tx.ms.cancel_requested:
                return
            tx.ms.cancel_request_id = request_id
            lifecycle.request_cancel(tx, reason, identity, external)

        await self.engine.update(ns.id, execution.workflow_id, execution.run_id, transition)

    async def terminate(
        self, ns: Namespace, execution: WorkflowExecution, reason: str, details: object,
        identity: str,
    ) -> None:
        def transition(tx: Transaction) -> None:
            _require_open(tx.ms)
            lifecycle.terminate(
                tx, reason or DEFAULT_TERMINATE_REASON, details, identity or FRONTEND_IDENTITY
            )

        await self.engine.update(ns.id, execution.workflow_id, execution.run_id, transition)

    async def delete(self, ns: Namespace, execution: WorkflowExecution) -> None:
        engine = self.engine
        async with engine.lock(ns.id, execution.workflow_id):
            ms = await engine.load(ns.id, execution.workflow_id, execution.run_id)
            if ms.is_open:
                tx = engine.transaction(ms)
                lifecycle.terminate(tx, "Delete workflow execution", None, "")
                await engine.commit(tx)
            engine.history_cache.drop(ms.run_id)
            engine.forget(ms.run_id)
            batch = WriteBatch()
            batch.add("DELETE FROM history WHERE run_id = ?", ms.run_id)
            batch.add("DELETE FROM executions WHERE run_id = ?", ms.run_id)
            batch.add("DELETE FROM visibility WHERE run_id = ?", ms.run_id)
            batch.add(
                "DELETE FROM current_executions WHERE namespace_id = ? AND workflow_id = ?"
                " AND run_id = ?",
                ns.id,
                ms.workflow_id,
                ms.run_id,
            )
            await engine.store.commit(batch)

    # ---- reads ------------------------------------------------------------

    async def describe(self, ns: Namespace, execution: WorkflowExecution) -> MutableState:
        return await self.engine.load(ns.id, execution.workflow_id, execution.run_id)

    async def get_history(
        self, ns: Namespace, request: GetWorkflowExecutionHistoryRequest
    ) -> GetWorkflowExecutionHistoryResponse:
        execution = request.execution
        page_size = request.maximum_page_size or HISTORY_PAGE_SIZE
        close_only = (
            request.history_event_filter_type
            == HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
        )
        stop = 0  # a task's history ends where it ended when the task was handed out
        if request.next_page_token:
            run_id, next_id, stop = decodehistory_token(request.next_page_token)
        else:
            ms = await self.engine.load(ns.id, execution.workflow_id, execution.run_id)
            run_id, next_id = ms.run_id, 1
        ms = await self.engine.load(ns.id, execution.workflow_id, run_id)
        if request.wait_new_event:
            ms = await self._wait(ns, ms, next_id, close_only)
        if close_only:
            if ms.is_open:
                return GetWorkflowExecutionHistoryResponse(
                    history=History(), next_page_token=history_token(ms.run_id, next_id)
                )
            events = await self.engine.read_history(
                ms.run_id, ms.completion_event_id, ms.completion_event_id + 1
            )
            return GetWorkflowExecutionHistoryResponse(
                history=History(events=[_as_continued(e) for e in events])
            )
        history_end = min(stop, ms.next_event_id) if stop else ms.next_event_id
        end = min(history_end, next_id + page_size)
        events = await self.engine.read_history(ms.run_id, next_id, end)
        token = b""
        if end < history_end or (not stop and ms.is_open and request.wait_new_event):
            token = history_token(ms.run_id, end, stop)
        if not stop and end == ms.next_event_id and ms.workflow_task is not None:
            # As the real server: a transient task's events close the history,
            # so a worker paging through its task's history sees them.
            events.extend(workflow_task.transient_events(ms.workflow_task, ms))
        return GetWorkflowExecutionHistoryResponse(
            history=History(events=events), next_page_token=token
        )

    async def get_history_reverse(
        self, ns: Namespace, request: GetWorkflowExecutionHistoryReverseRequest
    ) -> GetWorkflowExecutionHistoryReverseResponse:
        """Newest events first, in pages (the token names the next event to read)."""
        page_size = request.maximum_page_size or HISTORY_PAGE_SIZE
        execution = request.execution
        if request.next_page_token:
            run_id, last, _ = decodehistory_token(request.next_page_token)
        else:
            ms = await self.engine.load(ns.id, execution.workflow_id, execution.run_id)
            run_id, last = ms.run_id, ms.next_event_id - 1
        first = max(1, last - page_size + 1)
        events = await self.engine.read_history(run_id, first, last + 1)
        events.reverse()
        token = history_token(run_id, first - 1) if first > 1 else b""
        return GetWorkflowExecutionHistoryReverseResponse(
            history=History(events=events), next_page_token=token
        )

    async def _wait(
        self, ns: Namespace, ms: MutableState, next_id: int, close_only: bool
    ) -> MutableState:
        """Long poll: until the run closes (close filter) or passes next_id."""
        loop_deadline = self.engine.clock.now() + HISTORY_LONG_POLL
        while ms.is_open and (close_only or ms.next_event_id <= next_id):
            remaining = loop_deadline - self.engine.clock.now()
            if remaining <= 0:
                break
            await self.engine.wait_for_events(ms.run_id, remaining)
            ms = await self.engine.load(ns.id, ms.workflow_id, ms.run_id)
        return ms


def _as_continued(event: HistoryEvent) -> HistoryEvent:
    """As the real server answers a close-event read: a run that went on as
    a retry or cron run reads as ContinuedAsNew, so clients follow the chain."""
    for name in ("completed", "failed", "timed_out"):
        field = f"workflow_execution_{name}_event_attributes"
        if not event.HasField(field):  # type: ignore[arg-type]
            continue
        attrs = getattr(event, field)
        if not attrs.new_execution_run_id:
            return event
        continued = HistoryEvent(
            event_id=event.event_id,
            event_time=event.event_time,
            event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        )
        target = continued.workflow_execution_continued_as_new_event_attributes
        target.new_execution_run_id = attrs.new_execution_run_id
        if name == "completed" and attrs.HasField("result"):
            target.last_completion_result.CopyFrom(attrs.result)
        elif name == "failed":
            target.failure.CopyFrom(attrs.failure)
        elif name == "timed_out":
            target.failure.CopyFrom(
                Failure(
                    message="workflow timeout",
                    timeout_failure_info=TimeoutFailureInfo(
                        timeout_type=TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
                    ),
                )
            )
        return continued
    return event


def _require_open(ms: MutableState) -> None:
    if not ms.is_open:
        raise NotFound(WORKFLOW_COMPLETED)


def history_token(run_id: str, next_event_id: int, end_event_id: int = 0) -> bytes:
    """The next page starts at next_event_id; with end_event_id the pages stop
    before it (a task's history, fixed when it was handed out), else at the
    run's end as it is when the page is read."""
    fields: dict[str, object] = {"run_id": run_id, "next_event_id": next_event_id}
    if end_event_id:
        fields["end_event_id"] = end_event_id
    return json.dumps(fields).encode()


def decodehistory_token(token: bytes) -> tuple[str, int, int]:
    """(run id, next event id, end event id or 0)."""
    try:
        fields = json.loads(token)
        return str(fields["run_id"]), int(fields["next_event_id"]), int(fields.get("end_event_id", 0))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidArgument("Invalid NextPageToken.") from exc

