"""Workflow execution lifecycle: start, signal, cancel request, terminate,
timeouts and the close that ends a run."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.api.common.v1 import Header, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import EventType, RetryState, WorkflowExecutionStatus
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from temporallite.clock import duration_seconds, to_duration, to_timestamp
from temporallite.history import workflow_task
from temporallite.history.mutable_state import MutableState
from temporallite.history.transaction import Transaction

ET = EventType
S = WorkflowExecutionStatus

DEFAULT_WORKFLOW_TASK_TIMEOUT = 10.0
MAX_WORKFLOW_TASK_TIMEOUT = 120.0

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


def new_mutable_state(
    namespace_id: str, namespace: str, run_id: str, request: StartWorkflowExecutionRequest,
    now: float,
) -> MutableState:
    run_timeout = duration_seconds(request.workflow_run_timeout)
    execution_timeout = duration_seconds(request.workflow_execution_timeout)
    if execution_timeout and (not run_timeout or run_timeout > execution_timeout):
        run_timeout = execution_timeout
    task_timeout = duration_seconds(request.workflow_task_timeout) or DEFAULT_WORKFLOW_TASK_TIMEOUT
    task_timeout = min(task_timeout, MAX_WORKFLOW_TASK_TIMEOUT)
    if run_timeout:
        task_timeout = min(task_timeout, run_timeout)
    delay = duration_seconds(request.workflow_start_delay)
    return MutableState(
        namespace_id=namespace_id,
        namespace=namespace,
        workflow_id=request.workflow_id,
        run_id=run_id,
        first_run_id=run_id,
        workflow_type=request.workflow_type.name,
        task_queue=request.task_queue.name,
        start_time=now,
        execution_time=now + delay,
        start_request_id=request.request_id,
        workflow_task_timeout=task_timeout,
        run_timeout=run_timeout,
        execution_timeout=execution_timeout,
        run_expiration_time=now + delay + run_timeout if run_timeout else 0.0,
        execution_expiration_time=now + delay + execution_timeout if execution_timeout else 0.0,
        first_workflow_task_time=now + delay if delay else 0.0,
        memo=request.memo.SerializeToString() if request.HasField("memo") else b"",
        search_attributes=(
            request.search_attributes.SerializeToString()
            if request.HasField("search_attributes")
            else b""
        ),
    )


def start(
    tx: Transaction, request: StartWorkflowExecutionRequest, first_signal: Signal | None = None
) -> None:
    """Write WorkflowExecutionStarted (and the signal of a signal-with-start)
    and schedule the first workflow task unless the start is delayed."""
    ms = tx.ms
    delay = duration_seconds(request.workflow_start_delay)
    event = tx.add(
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        workflow_type=request.workflow_type,
        task_queue=TaskQueue(name=ms.task_queue, kind=1),  # type: ignore[arg-type]
        input=request.input if request.HasField("input") else None,
        workflow_execution_timeout=to_duration(ms.execution_timeout),
        workflow_run_timeout=to_duration(ms.run_timeout),
        workflow_task_timeout=to_duration(ms.workflow_task_timeout),
        original_execution_run_id=ms.run_id,
        identity=request.identity,
        first_execution_run_id=ms.first_run_id,
        retry_policy=request.retry_policy if request.HasField("retry_policy") else None,
        attempt=1,
        cron_schedule=request.cron_schedule,
        first_workflow_task_backoff=to_duration(delay) if delay else None,
        memo=request.memo if request.HasField("memo") else None,
        search_attributes=(
            request.search_attributes if request.HasField("search_attributes") else None
        ),
        header=request.header if request.HasField("header") else None,
        workflow_id=ms.workflow_id,
        priority=request.priority if request.HasField("priority") else None,
    )
    attrs = event.workflow_execution_started_event_attributes
    if ms.execution_expiration_time:
        attrs.workflow_execution_expiration_time.CopyFrom(
            to_timestamp(ms.execution_expiration_time)
        )
    if request.completion_callbacks:
        attrs.completion_callbacks.extend(request.completion_callbacks)
    tx.visibility_changed = True
    if first_signal is not None:
        _add_signaled(tx, first_signal)
    if not delay:
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
    tx.add_or_buffer(
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        signal_name=sig.name,
        input=sig.input,
        identity=sig.identity,
        header=sig.header,
    )


def request_cancel(tx: Transaction, cause: str, identity: str) -> None:
    tx.ms.cancel_requested = True
    tx.add_or_buffer(
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, cause=cause, identity=identity
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


def time_out(tx: Transaction) -> None:
    """Run or execution timeout. Only an expired execution says TIMEOUT;
    a run timeout is retried by the workflow's retry policy (none yet)."""
    ms = tx.ms
    if ms.workflow_task is None:
        tx.flush_buffer()
    expired = ms.execution_expiration_time and ms.execution_expiration_time <= tx.now + 1e-3
    state = RetryState.RETRY_STATE_TIMEOUT if expired else RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
    close(tx, ET.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, retry_state=state)


def execution_ref(ms: MutableState) -> WorkflowExecution:
    return WorkflowExecution(workflow_id=ms.workflow_id, run_id=ms.run_id)
