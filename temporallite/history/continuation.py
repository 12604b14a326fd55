"""Closing a run that goes on as a new run: continue-as-new, a retry of a
failed or timed-out run, and the next run of a cron schedule. The new run is
written in the same transaction as the close."""

from __future__ import annotations

import uuid

from temporalio.api.command.v1 import ContinueAsNewWorkflowExecutionCommandAttributes
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import ContinueAsNewInitiator, EventType, RetryState, TimeoutType
from temporalio.api.enums.v1 import WorkflowTaskFailedCause as Cause
from temporalio.api.failure.v1 import Failure, TimeoutFailureInfo
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes as StartedAttrs
from temporalio.api.taskqueue.v1 import TaskQueue

from temporallite.clock import duration_seconds, to_duration
from temporallite.history import children, lifecycle, retry, run_start, workflow_time_skipping
from temporallite.history.transaction import Transaction
from temporallite.visibility import search_attributes

ET = EventType
Initiator = ContinueAsNewInitiator


def _previous(tx: Transaction) -> StartedAttrs:
    return StartedAttrs.FromString(tx.ms.started_attributes)


# A new run of the same workflow starts at least this long after the
# previous run began (the real server's workflowIdReuseMinimalInterval).
MIN_INTERVAL_BETWEEN_RUNS = 1.0


def _start_next(tx: Transaction, run_id: str, attrs: StartedAttrs) -> None:
    ms = tx.ms
    lifetime = tx.now - (ms.execution_time or ms.start_time)
    backoff = duration_seconds(attrs.first_workflow_task_backoff)
    if lifetime + backoff < MIN_INTERVAL_BETWEEN_RUNS:
        attrs.first_workflow_task_backoff.CopyFrom(to_duration(MIN_INTERVAL_BETWEEN_RUNS - lifetime))
    workflow_time_skipping.propagate_to_next_run(ms, attrs)
    new_ms = run_start.new_mutable_state(
        ms.namespace_id, ms.namespace, run_id, attrs, str(uuid.uuid4()), tx.now
    )
    new_ms.parent = ms.parent
    new_tx = Transaction(new_ms, tx.now, limits=tx.limits)
    lifecycle.start(new_tx, attrs)
    tx.new_run = new_tx


def continue_as_new(
    tx: Transaction, command: ContinueAsNewWorkflowExecutionCommandAttributes, completed_event_id: int
) -> None:
    ms = tx.ms
    _check_search_attributes(tx, command)
    previous = _previous(tx)
    run_id = str(uuid.uuid4())
    attrs = StartedAttrs()
    attrs.CopyFrom(previous)
    for name in ("continued_failure", "last_completion_result", "first_workflow_task_backoff",
                 "input", "header", "identity", "prev_auto_reset_points"):
        attrs.ClearField(name)  # type: ignore[arg-type]
    if command.workflow_type.name:
        attrs.workflow_type.CopyFrom(command.workflow_type)
    attrs.task_queue.CopyFrom(
        TaskQueue(name=command.task_queue.name or ms.task_queue, kind=1)  # type: ignore[arg-type]
    )
    if command.HasField("workflow_run_timeout"):
        attrs.workflow_run_timeout.CopyFrom(command.workflow_run_timeout)
    if command.HasField("workflow_task_timeout"):
        attrs.workflow_task_timeout.CopyFrom(command.workflow_task_timeout)
    for name in ("input", "header", "retry_policy"):
        if command.HasField(name):  # type: ignore[arg-type]
            getattr(attrs, name).CopyFrom(getattr(command, name))
    if command.cron_schedule:
        attrs.cron_schedule = command.cron_schedule
    attrs.memo.CopyFrom(command.memo) if command.HasField("memo") else _carry(attrs, "memo", ms.memo)
    if command.HasField("search_attributes"):
        attrs.search_attributes.CopyFrom(command.search_attributes)
    else:
        run_start.carry_search_attributes(attrs, ms.search_attributes)
    attrs.continued_execution_run_id = ms.run_id
    attrs.original_execution_run_id = run_id
    attrs.initiator = command.initiator or Initiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW  # type: ignore[assignment]
    attrs.attempt = 1
    if command.HasField("failure"):
        attrs.continued_failure.CopyFrom(command.failure)
    if command.HasField("last_completion_result"):
        attrs.last_completion_result.CopyFrom(command.last_completion_result)
    attrs.first_workflow_task_backoff.CopyFrom(
        command.backoff_start_interval if command.HasField("backoff_start_interval") else to_duration(0)
    )
    run_start.normalize_timeouts(attrs)
    lifecycle.close(
        tx,
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        new_execution_run_id=run_id,
        workflow_type=attrs.workflow_type,
        task_queue=attrs.task_queue,
        input=attrs.input if attrs.HasField("input") else None,
        workflow_run_timeout=attrs.workflow_run_timeout,
        workflow_task_timeout=attrs.workflow_task_timeout,
        workflow_task_completed_event_id=completed_event_id,
        backoff_start_interval=command.backoff_start_interval
        if command.HasField("backoff_start_interval") else None,
        failure=command.failure if command.HasField("failure") else None,
        last_completion_result=command.last_completion_result
        if command.HasField("last_completion_result") else None,
        header=attrs.header if attrs.HasField("header") else None,
        memo=attrs.memo if attrs.HasField("memo") else None,
        search_attributes=attrs.search_attributes if attrs.HasField("search_attributes") else None,
    )
    _start_next(tx, run_id, attrs)


def _check_search_attributes(
    tx: Transaction, command: ContinueAsNewWorkflowExecutionCommandAttributes
) -> None:
    """The real server's checks of the new run's search attributes: an
    unknown name or a bad value fails the task, a size over the limits
    terminates the workflow."""
    known = search_attributes.for_namespace(tx.ms.namespace_id)
    fields = children.unaliased(known, command.search_attributes)
    workflow_type = command.workflow_type.name or tx.ms.workflow_type
    # The task queue as Go prints the message (prototext, this binary's spacing).
    task_queue = (
        f"name:{_go_quote(command.task_queue.name or tx.ms.task_queue)}  kind:TASK_QUEUE_KIND_NORMAL"
    )
    children.check_search_attributes(
        known, command.search_attributes, fields,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES,
        lambda message: "invalid SearchAttributes on ContinueAsNewWorkflowExecutionCommand:"
        f" {message}. WorkflowType={workflow_type} TaskQueue={task_queue}",
    )


def _go_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _carry(attrs: StartedAttrs, name: str, serialized: bytes) -> None:
    if serialized:
        getattr(attrs, name).ParseFromString(serialized)
    else:
        attrs.ClearField(name)  # type: ignore[arg-type]


def _cron_run(tx: Transaction) -> tuple[str, StartedAttrs] | None:
    ms = tx.ms
    if not ms.cron_schedule:
        return None
    backoff = run_start.cron_backoff(ms.cron_schedule, ms.execution_time, tx.now)
    return run_start.next_run_attributes(
        ms, _previous(tx), Initiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE, backoff
    )


def complete(tx: Transaction, result: Payloads | None, completed_event_id: int) -> None:
    nxt = _cron_run(tx)
    if nxt is not None and result is not None:
        nxt[1].last_completion_result.CopyFrom(result)
    lifecycle.close(
        tx,
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        result=result,
        workflow_task_completed_event_id=completed_event_id,
        new_execution_run_id=nxt[0] if nxt else None,
    )
    if nxt is not None:
        _start_next(tx, *nxt)


def _retry_or_cron(tx: Transaction, failure: Failure) -> tuple[int, tuple[str, StartedAttrs] | None]:
    """The retry state to report and the next run, if there is one."""
    ms = tx.ms
    state, delay = retry.next_retry(
        ms.retry_policy, ms.attempt, failure, tx.now, ms.execution_expiration_time
    )
    if state == RetryState.RETRY_STATE_IN_PROGRESS:
        run_id, attrs = run_start.next_run_attributes(
            ms, _previous(tx), Initiator.CONTINUE_AS_NEW_INITIATOR_RETRY, delay
        )
        attrs.continued_failure.CopyFrom(failure)
        prev = _previous(tx)
        if prev.HasField("last_completion_result"):
            attrs.last_completion_result.CopyFrom(prev.last_completion_result)
        return state, (run_id, attrs)
    nxt = _cron_run(tx)
    if nxt is not None:
        nxt[1].continued_failure.CopyFrom(failure)
    return state, nxt


def fail(tx: Transaction, failure: Failure, completed_event_id: int) -> None:
    state, nxt = _retry_or_cron(tx, failure)
    lifecycle.close(
        tx,
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        failure=failure,
        retry_state=state,
        workflow_task_completed_event_id=completed_event_id,
        new_execution_run_id=nxt[0] if nxt else None,
    )
    if nxt is not None:
        _start_next(tx, *nxt)


def time_out(tx: Transaction) -> None:
    """Run or execution timeout. An expired execution is final (TIMEOUT); a
    run timeout may be retried or go on with the cron schedule."""
    ms = tx.ms
    if ms.workflow_task is None:
        tx.flush_buffer()
    expired = ms.execution_expiration_time and ms.execution_expiration_time <= tx.now + 1e-3
    nxt = None
    state: int = RetryState.RETRY_STATE_TIMEOUT
    if expired:
        pass
    else:
        failure = Failure(
            message="workflow timeout",
            timeout_failure_info=TimeoutFailureInfo(
                timeout_type=TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
            ),
        )
        state, nxt = _retry_or_cron(tx, failure)
    lifecycle.close(
        tx,
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        retry_state=state,
        new_execution_run_id=nxt[0] if nxt else None,
    )
    if nxt is not None:
        _start_next(tx, *nxt)
