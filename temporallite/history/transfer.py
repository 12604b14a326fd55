"""Transfer tasks: work a committed transition asks of other executions —
start a child, tell a parent its child closed, apply the parent close policy,
deliver an external signal or cancel — and the outcome written back.

Each is idempotent (derived request ids, 'still pending?' checks) and is
re-derived from mutable state after a restart, so a crash between the two
sides loses nothing."""

from __future__ import annotations

import logging
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import (
    EventType,
    ParentClosePolicy,
    SignalExternalWorkflowExecutionFailedCause,
    StartChildWorkflowExecutionFailedCause,
    WorkflowIdConflictPolicy,
)
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes as StartedAttrs

from temporallite.clock import to_duration
from temporallite.errors import NotFound, ServiceError, WorkflowAlreadyStarted
from temporallite.history import lifecycle, run_start
from temporallite.history.engine import HistoryEngine
from temporallite.history.executions import Executions, StartOptions
from temporallite.history.limits import HistoryLimitExceeded, SignalLimitExceeded
from temporallite.history.mutable_state import (
    ChildInfo,
    ExecutionRef,
    MutableState,
    ParentInfo,
)
from temporallite.history.transaction import Transaction
from temporallite.namespaces import NamespaceRegistry

log = logging.getLogger("temporallite.transfer")
ET = EventType
SERVER_IDENTITY = "history-service"
_NOT_FOUND = (
    SignalExternalWorkflowExecutionFailedCause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
)
_SIGNAL_COUNT_LIMIT_EXCEEDED = (
    SignalExternalWorkflowExecutionFailedCause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_SIGNAL_COUNT_LIMIT_EXCEEDED
)

CHILD_CLOSE_EVENTS = {
    ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: (
        ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, "workflow_execution_completed", ["result"]),
    ET.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: (
        ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED, "workflow_execution_failed",
        ["failure", "retry_state"]),
    ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: (
        ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED, "workflow_execution_canceled", ["details"]),
    ET.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: (
        ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT, "workflow_execution_timed_out",
        ["retry_state"]),
    ET.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: (
        ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED, "workflow_execution_terminated", []),
}


class TransferExecutor:
    def __init__(
        self, engine: HistoryEngine, executions: Executions, namespaces: NamespaceRegistry
    ) -> None:
        self.engine = engine
        self.executions = executions
        self.namespaces = namespaces
        engine.transfer_handler = self.handle
        engine.namespace_lookup = self._namespace_id

    def _namespace_id(self, name: str) -> str | None:
        try:
            return self.namespaces.get(name).id
        except ServiceError:
            return None

    async def handle(self, ms: MutableState, kind: str, ref: Any) -> None:
        try:
            await getattr(self, f"_{kind}")(ms, ref)
        except Exception:
            log.exception("transfer %s of %s/%s failed", kind, ms.workflow_id, ms.run_id)

    async def _update(self, ref: ExecutionRef | MutableState, transition: Any) -> None:
        try:
            await self.engine.update(ref.namespace_id, ref.workflow_id, ref.run_id, transition)
        except (NotFound, HistoryLimitExceeded):
            pass

    # ---- after a restart --------------------------------------------------

    async def _recover(self, ms: MutableState, _: Any) -> None:
        for child in list(ms.children.values()):
            if not child.run_id:
                await self._start_child(ms, child.initiated_event_id)
            else:
                await self._check_child(ms, child)
        for request in list(ms.external_requests.values()):
            await getattr(self, f"_{request.kind}_external")(ms, request.initiated_event_id)

    async def _check_child(self, parent: MutableState, child: ChildInfo) -> None:
        """A child that closed while its parent was not told."""
        try:
            current = await self.engine.load(child.namespace_id, child.workflow_id)
        except NotFound:
            return
        if current.is_open or current.first_run_id != child.run_id or current.parent is None:
            return
        events = await self.engine.read_history(
            current.run_id, current.completion_event_id, current.completion_event_id + 1
        )
        if events:
            await self._child_closed(current, events[0])

    # ---- children -----------------------------------------------------------

    async def _start_child(self, parent: MutableState, initiated_event_id: int) -> None:
        child = parent.children.get(initiated_event_id)
        if child is None or child.run_id or not parent.is_open:
            return
        initiated = HistoryEvent.FromString(child.initiated_event)
        init = initiated.start_child_workflow_execution_initiated_event_attributes
        ns = self.namespaces.by_id(child.namespace_id)
        if ns is None:
            return
        attrs = StartedAttrs(
            workflow_type=init.workflow_type,
            parent_workflow_namespace=parent.namespace,
            parent_workflow_namespace_id=parent.namespace_id,
            parent_workflow_execution=WorkflowExecution(
                workflow_id=parent.workflow_id, run_id=parent.run_id
            ),
            parent_initiated_event_id=initiated_event_id,
            task_queue=init.task_queue,
            workflow_execution_timeout=init.workflow_execution_timeout,
            workflow_run_timeout=init.workflow_run_timeout,
            workflow_task_timeout=init.workflow_task_timeout,
            attempt=1,
            cron_schedule=init.cron_schedule,
            workflow_id=init.workflow_id,
            root_workflow_execution=WorkflowExecution(
                workflow_id=parent.root_workflow_id, run_id=parent.root_run_id
            ),
        )
        for name in ("input", "retry_policy", "memo", "search_attributes", "header", "priority",
                     "time_skipping_config", "time_skipping_state_propagation"):
            if init.HasField(name):  # type: ignore[arg-type]
                getattr(attrs, name).CopyFrom(getattr(init, name))
        run_start.normalize_timeouts(attrs)
        now = self.engine.clock.now()
        backoff = run_start.cron_backoff(init.cron_schedule, now, now) if init.cron_schedule else 0.0
        attrs.first_workflow_task_backoff.CopyFrom(to_duration(backoff))
        options = StartOptions(
            request_id=f"{parent.run_id}:{initiated_event_id}",
            workflow_id_reuse_policy=init.workflow_id_reuse_policy,
            workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
            identity="",
        )
        parent_info = ParentInfo(
            ExecutionRef(parent.namespace_id, parent.namespace, parent.workflow_id, parent.run_id),
            initiated_event_id,
        )
        try:
            run_id, _, _ = await self.executions.start_run(ns, attrs, options, parent=parent_info)
        except WorkflowAlreadyStarted:
            run_id = ""

        def record(tx: Transaction) -> None:
            info = tx.ms.children.get(initiated_event_id)
            if not tx.ms.is_open or info is None or info.run_id:
                return
            if run_id:
                _record_child_started(tx, info, run_id, init.header if init.HasField("header") else None)
            else:
                tx.add_or_buffer(
                    ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
                    namespace=info.namespace,
                    namespace_id=info.namespace_id,
                    workflow_id=info.workflow_id,
                    workflow_type=init.workflow_type,
                    cause=StartChildWorkflowExecutionFailedCause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS,
                    control=init.control,
                    initiated_event_id=initiated_event_id,
                    workflow_task_completed_event_id=init.workflow_task_completed_event_id,
                )
                del tx.ms.children[initiated_event_id]
            tx.needs_workflow_task = True

        await self._update(parent, record)

    async def _child_closed(self, child: MutableState, close_event: HistoryEvent) -> None:
        parent = child.parent
        if parent is None or close_event.event_type not in CHILD_CLOSE_EVENTS:
            return
        event_type, attrs_name, fields = CHILD_CLOSE_EVENTS[close_event.event_type]
        source = getattr(close_event, f"{attrs_name}_event_attributes")

        def record(tx: Transaction) -> None:
            info = tx.ms.children.get(parent.initiated_event_id)
            if not tx.ms.is_open or info is None:
                return
            if not info.run_id:
                _record_child_started(tx, info, child.first_run_id, None)
            copied = {f: getattr(source, f) for f in fields if _present(source, f)}
            tx.add_or_buffer(
                event_type,
                namespace=info.namespace,
                namespace_id=info.namespace_id,
                workflow_execution=WorkflowExecution(
                    workflow_id=child.workflow_id, run_id=child.run_id
                ),
                workflow_type=WorkflowType(name=info.workflow_type),
                initiated_event_id=info.initiated_event_id,
                started_event_id=info.started_event_id,
                **copied,
            )
            del tx.ms.children[info.initiated_event_id]
            tx.needs_workflow_task = True

        await self._update(parent.execution, record)

    async def _parent_closed(self, parent: MutableState, children: list[ChildInfo]) -> None:
        for child in children:
            if not child.run_id:
                continue
            ns = self.namespaces.by_id(child.namespace_id)
            if ns is None:
                continue
            try:
                current = await self.engine.load(child.namespace_id, child.workflow_id)
            except NotFound:
                continue
            if not current.is_open or current.first_run_id != child.run_id:
                continue
            execution = WorkflowExecution(workflow_id=child.workflow_id, run_id=current.run_id)
            try:
                if child.parent_close_policy == ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE:
                    await self.executions.terminate(
                        ns, execution, "by parent close policy", None, SERVER_IDENTITY
                    )
                elif child.parent_close_policy == ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL:
                    await self.executions.request_cancel(
                        ns, execution, SERVER_IDENTITY, "", "",
                        external=(0, WorkflowExecution(
                            workflow_id=parent.workflow_id, run_id=parent.run_id)),
                    )
            except ServiceError:
                continue

    # ---- external signals and cancels ------------------------------------

    async def _signal_external(self, source: MutableState, initiated_event_id: int) -> None:
        request = source.external_requests.get(initiated_event_id)
        if request is None:
            return
        init = HistoryEvent.FromString(
            request.initiated_event
        ).signal_external_workflow_execution_initiated_event_attributes
        failed_cause = await self._deliver(
            init.namespace_id,
            lambda ns: self.executions.signal(
                ns,
                init.workflow_execution,
                lifecycle.Signal(
                    init.signal_name,
                    init.input if init.HasField("input") else None,
                    SERVER_IDENTITY,
                    init.header if init.HasField("header") else None,
                    request_id=f"{source.run_id}:{initiated_event_id}",
                    external=WorkflowExecution(workflow_id=source.workflow_id, run_id=source.run_id),
                ),
            ),
        )

        def record(tx: Transaction) -> None:
            if not tx.ms.is_open or tx.ms.external_requests.pop(initiated_event_id, None) is None:
                return
            common = dict(
                namespace=init.namespace,
                namespace_id=init.namespace_id,
                workflow_execution=init.workflow_execution,
                initiated_event_id=initiated_event_id,
                control=init.control,
            )
            if failed_cause is None:
                tx.add_or_buffer(ET.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, **common)
            else:
                tx.add_or_buffer(
                    ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, cause=failed_cause, **common
                )
            tx.needs_workflow_task = True

        await self._update(source, record)

    async def _cancel_external(self, source: MutableState, initiated_event_id: int) -> None:
        request = source.external_requests.get(initiated_event_id)
        if request is None:
            return
        init = HistoryEvent.FromString(
            request.initiated_event
        ).request_cancel_external_workflow_execution_initiated_event_attributes
        failed_cause = await self._deliver(
            init.namespace_id,
            lambda ns: self.executions.request_cancel(
                ns,
                init.workflow_execution,
                "",
                f"{source.run_id}:{initiated_event_id}",
                init.reason,
                external=(initiated_event_id,
                          WorkflowExecution(workflow_id=source.workflow_id, run_id=source.run_id)),
            ),
        )

        def record(tx: Transaction) -> None:
            if not tx.ms.is_open or tx.ms.external_requests.pop(initiated_event_id, None) is None:
                return
            if failed_cause is None:
                tx.add_or_buffer(
                    ET.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
                    initiated_event_id=initiated_event_id,
                    namespace=init.namespace,
                    namespace_id=init.namespace_id,
                    workflow_execution=init.workflow_execution,
                )
            else:
                tx.add_or_buffer(
                    ET.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
                    cause=SignalExternalWorkflowExecutionFailedCause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
                    workflow_task_completed_event_id=init.workflow_task_completed_event_id,
                    namespace=init.namespace,
                    namespace_id=init.namespace_id,
                    workflow_execution=init.workflow_execution,
                    initiated_event_id=initiated_event_id,
                    control=init.control,
                )
            tx.needs_workflow_task = True

        await self._update(source, record)

    async def _deliver(self, namespace_id: str, send: Any) -> int | None:
        """Send to the target; None when delivered, else why not (a
        SignalExternalWorkflowExecutionFailedCause)."""
        ns = self.namespaces.by_id(namespace_id)
        if ns is None:
            return _NOT_FOUND
        try:
            await send(ns)
        except SignalLimitExceeded:
            return _SIGNAL_COUNT_LIMIT_EXCEEDED
        except (NotFound, HistoryLimitExceeded):  # the target is gone (or just terminated)
            return _NOT_FOUND
        return None


def _record_child_started(tx: Transaction, info: ChildInfo, run_id: str, header: Any) -> None:
    event = tx.add_or_buffer(
        ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
        namespace=info.namespace,
        namespace_id=info.namespace_id,
        initiated_event_id=info.initiated_event_id,
        workflow_execution=WorkflowExecution(workflow_id=info.workflow_id, run_id=run_id),
        workflow_type=WorkflowType(name=info.workflow_type),
        header=header,
    )
    info.run_id = run_id
    info.started_event_id = event.event_id  # 0 while buffered; wired at flush


def _present(message: Any, name: str) -> bool:
    try:
        return bool(message.HasField(name))
    except ValueError:
        return bool(getattr(message, name))

