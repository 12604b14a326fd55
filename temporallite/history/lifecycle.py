"""Workflow execution lifecycle: start, signal, cancel request, terminate,
timeouts and the close that ends a run."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.api.common.v1 import Header, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes as StartedAttrs

from temporallite.history import workflow_task
from temporallite.history.transaction import Transaction

ET = EventType
S = WorkflowExecutionStatus

CLOSE_STATUS: dict[int, int] = {
    ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: S.WORKFLOW_EXECUTION_STATUS_COMPLETED,
    ET.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: S.WORKFLOW_EXECUTION_STATUS_FAILED,
    ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: S.WORKFLOW_EXECUTION_STATUS_CANCELED,
    ET.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: S.WORKFLOW_EXECUTION_STATUS_TERMINATED,
    ET.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: S.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
    ET.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: S.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
}


@dataclass
class Signal:
    name: str
    input: Payloads | None
    identity: str
    header: Header | None
    request_id: str = ""
    # The sending workflow, for a signal from SignalExternalWorkflowExecution.
    external: WorkflowExecution | None = None


def start(tx: Transaction, attrs: StartedAttrs, first_signal: Signal | None = None) -> None:
    """Write WorkflowExecutionStarted (and the signal of a signal-with-start)
    and schedule the first workflow task unless the start is delayed."""
    event = tx.add(ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    event.workflow_execution_started_event_attributes.CopyFrom(attrs)
    tx.ms.started_attributes = attrs.SerializeToString()
    tx.visibility_changed = True
    if first_signal is not None:
        _add_signaled(tx, first_signal)
    if not tx.ms.first_workflow_task_time:
        workflow_task.schedule(tx)


def close(tx: Transaction, event_type: int, **attrs: object) -> None:
    """Write the close event; the run is over."""
    ms = tx.ms
    event = tx.add(event_type, **attrs)  # type: ignore[arg-type]
    ms.status = CLOSE_STATUS[event_type]
    ms.close_time = tx.now
    ms.completion_event_id = event.event_id
    ms.workflow_task = None
    ms.activities.clear()
    ms.timers.clear()
    ms.buffered_events = []
    tx.visibility_changed = True


def signal(tx: Transaction, sig: Signal) -> None:
    _add_signaled(tx, sig)
    workflow_task.schedule(tx)


def _add_signaled(tx: Transaction, sig: Signal) -> None:
    tx.ms.signal_count += 1
    tx.add_or_buffer(
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        signal_name=sig.name,
        input=sig.input,
        identity=sig.identity,
        header=sig.header,
        external_workflow_execution=sig.external,
        request_id=sig.request_id,
    )


def reapply(tx: Transaction, event: HistoryEvent) -> None:
    """A signal from a reset's base run, applied again to the new run."""
    copy = tx.new_event(ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    copy.workflow_execution_signaled_event_attributes.CopyFrom(
        event.workflow_execution_signaled_event_attributes
    )
    tx.append(copy)


def request_cancel(
    tx: Transaction,
    cause: str,
    identity: str,
    external: tuple[int, WorkflowExecution] | None = None,
) -> None:
    """`external`: (initiated event id, workflow) of a cancel sent by a workflow."""
    tx.ms.cancel_requested = True
    tx.add_or_buffer(
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        cause=cause,
        identity=identity,
        external_initiated_event_id=external[0] if external else None,
        external_workflow_execution=external[1] if external else None,
    )
    workflow_task.schedule(tx)


def terminate(tx: Transaction, reason: str, details: object, identity: str) -> None:
    workflow_task.fail_in_flight_for_close(tx)
    close(
        tx,
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        reason=reason,
        details=details,
        identity=identity,
    )
