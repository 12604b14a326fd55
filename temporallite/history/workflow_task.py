"""Workflow task state machine: scheduled → started → completed / failed /
timed out. Attempts after the first are transient: their scheduled and
started events reach the worker but history only once the task completes."""

from __future__ import annotations

from temporalio.api.enums.v1 import (
    EventType,
    TaskQueueKind,
    TimeoutType,
    WorkflowTaskFailedCause,
)
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue

from temporallite.clock import to_duration, to_timestamp
from temporallite.history import limits
from temporallite.history.mutable_state import MutableState, WorkflowTaskInfo
from temporallite.history.transaction import Task, Transaction

ET = EventType


def task_queue_proto(ms: MutableState, name: str, kind: int) -> TaskQueue:
    if kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY:
        return TaskQueue(name=name, kind=kind, normal_name=ms.task_queue)  # type: ignore[arg-type]
    return TaskQueue(name=name, kind=kind)  # type: ignore[arg-type]


def schedule(tx: Transaction, attempt: int = 1, speculative: bool = False) -> None:
    """Schedule a workflow task unless one is pending. A speculative task
    (for updates) writes no event now."""
    ms = tx.ms
    if ms.workflow_task is not None or not ms.is_open:
        return
    if tx.flush_buffer():
        attempt = 1  # new events make this a normal task again
        speculative = False
    if ms.sticky_task_queue:
        name, kind = ms.sticky_task_queue, TaskQueueKind.TASK_QUEUE_KIND_STICKY
    else:
        name, kind = ms.task_queue, TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    task = WorkflowTaskInfo(
        scheduled_event_id=ms.next_event_id,
        attempt=attempt,
        task_queue=name,
        task_queue_kind=kind,
        start_to_close_timeout=ms.workflow_task_timeout,
        scheduled_time=tx.now,
        speculative=speculative,
    )
    if not task.unrecorded:
        tx.add(ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, **_scheduled_attrs(ms, task))
    if kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY and ms.sticky_schedule_to_start_timeout:
        task.schedule_to_start_deadline = tx.now + ms.sticky_schedule_to_start_timeout
    ms.workflow_task = task
    tx.tasks.append(dispatch_task(ms, task))


def dispatch_task(ms: MutableState, task: WorkflowTaskInfo) -> Task:
    sticky = task.task_queue_kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY
    return Task(
        "workflow", ms.namespace_id, task.task_queue, ms.workflow_id, ms.run_id,
        task.scheduled_event_id, task.attempt, normal_task_queue=ms.task_queue if sticky else "",
    )


def _scheduled_attrs(ms: MutableState, task: WorkflowTaskInfo) -> dict[str, object]:
    return {
        "task_queue": task_queue_proto(ms, task.task_queue, task.task_queue_kind),
        "start_to_close_timeout": to_duration(task.start_to_close_timeout),
        "attempt": task.attempt,
    }


def record_started(tx: Transaction, identity: str, request_id: str) -> WorkflowTaskInfo:
    """Mark the pending task started. The caller checked it is pending."""
    ms = tx.ms
    task = ms.workflow_task
    assert task is not None and not task.started
    if task.unrecorded and task.scheduled_event_id != ms.next_event_id:
        # Events arrived since this transient task was scheduled: it becomes
        # a normal task with its events in history.
        task.scheduled_event_id = ms.next_event_id
        tx.add(ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, **_scheduled_attrs(ms, task))
        task.attempt = 1
        task.speculative = False
    reasons = limits.suggest_continue_as_new(ms, tx.limits)
    started_attrs = {
        "identity": identity,
        "request_id": request_id,
        "history_size_bytes": ms.history_size_bytes,
        "suggest_continue_as_new": bool(reasons),
        "suggest_continue_as_new_reasons": reasons,
    }
    task.started_time = tx.now
    task.identity = identity
    task.request_id = request_id
    if not task.unrecorded:
        started = tx.add(
            ET.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            scheduled_event_id=task.scheduled_event_id,
            **started_attrs,  # type: ignore[arg-type]
        )
        task.started_event_id = started.event_id
    else:
        scheduled = tx.new_event(ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, **_scheduled_attrs(ms, task))
        scheduled.event_id = task.scheduled_event_id
        started = tx.new_event(
            ET.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            scheduled_event_id=task.scheduled_event_id,
            **started_attrs,  # type: ignore[arg-type]
        )
        started.event_id = task.scheduled_event_id + 1
        task.transient_scheduled = scheduled.SerializeToString()
        task.transient_started = started.SerializeToString()
        task.started_event_id = started.event_id
    task.schedule_to_start_deadline = 0.0
    return task


def transient_events(task: WorkflowTaskInfo, ms: MutableState | None = None) -> list[HistoryEvent]:
    """A transient attempt's events: scheduled (and started), not in history.
    With `ms`, a transient task not yet started yields its scheduled event."""
    if task.transient_started:
        return [
            HistoryEvent.FromString(task.transient_scheduled),
            HistoryEvent.FromString(task.transient_started),
        ]
    if ms is not None and task.unrecorded and task.scheduled_event_id == ms.next_event_id:
        scheduled = HistoryEvent(event_id=task.scheduled_event_id)
        scheduled.event_type = ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
        scheduled.event_time.CopyFrom(to_timestamp(task.scheduled_time))
        attrs = scheduled.workflow_task_scheduled_event_attributes
        attrs.task_queue.CopyFrom(task_queue_proto(ms, task.task_queue, task.task_queue_kind))
        attrs.start_to_close_timeout.CopyFrom(to_duration(task.start_to_close_timeout))
        attrs.attempt = task.attempt
        return [scheduled]
    return []


def drop_speculative(tx: Transaction) -> None:
    """A speculative task that only rejected updates leaves no trace."""
    tx.ms.workflow_task = None


def write_transient(tx: Transaction) -> None:
    """A transient task completes: its scheduled and started events enter history."""
    task = tx.ms.workflow_task
    assert task is not None
    for event in transient_events(task):
        tx.append(event)
    task.transient_scheduled = b""
    task.transient_started = b""


def complete(tx: Transaction, identity: str, extra: dict[str, object]) -> int:
    """Write WorkflowTaskCompleted; returns its event id."""
    ms = tx.ms
    task = ms.workflow_task
    assert task is not None
    write_transient(tx)
    task.speculative = False
    event = tx.add(
        ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        scheduled_event_id=task.scheduled_event_id,
        started_event_id=task.started_event_id,
        identity=identity,
        **extra,  # type: ignore[arg-type]
    )
    ms.previous_started_event_id = task.started_event_id
    ms.last_completed_workflow_task_event_id = event.event_id
    ms.workflow_task = None
    return event.event_id


def fail(
    tx: Transaction,
    cause: int,
    failure: Failure | None,
    identity: str,
    reschedule: bool = True,
) -> None:
    """The worker (or the server on its behalf) failed the started task."""
    ms = tx.ms
    task = ms.workflow_task
    assert task is not None and task.started
    next_attempt = task.attempt + 1
    if task.attempt == 1:
        write_transient(tx)  # a speculative task's events, now recorded
        tx.add(
            ET.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            scheduled_event_id=task.scheduled_event_id,
            started_event_id=task.started_event_id,
            cause=cause,
            failure=failure,
            identity=identity,
        )
    ms.workflow_task = None
    clear_sticky(ms)
    if cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE:
        next_attempt = 1
    if reschedule:
        schedule(tx, attempt=next_attempt)


def time_out(tx: Transaction, timeout_type: int) -> None:
    ms = tx.ms
    task = ms.workflow_task
    assert task is not None
    next_attempt = task.attempt + 1
    if timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START:
        # A sticky worker did not pick the task up: back to the normal queue.
        next_attempt = task.attempt
        if task.speculative:
            ms.workflow_task = None
            clear_sticky(ms)
            schedule(tx, speculative=True)
            return
        if task.attempt == 1:
            tx.add(
                ET.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
                scheduled_event_id=task.scheduled_event_id,
                started_event_id=0,
                timeout_type=timeout_type,
            )
    elif task.attempt == 1:
        write_transient(tx)
        tx.add(
            ET.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
            scheduled_event_id=task.scheduled_event_id,
            started_event_id=task.started_event_id,
            timeout_type=timeout_type,
        )
    ms.workflow_task = None
    clear_sticky(ms)
    schedule(tx, attempt=next_attempt)


def clear_sticky(ms: MutableState) -> None:
    ms.sticky_task_queue = ""
    ms.sticky_schedule_to_start_timeout = 0.0


def fail_in_flight_for_close(tx: Transaction, identity: str = "") -> None:
    """Before a forced close (terminate), a started task is failed."""
    task = tx.ms.workflow_task
    if task is not None and task.started:
        fail(
            tx,
            WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
            None,
            identity,
            reschedule=False,
        )
    tx.ms.workflow_task = None
    tx.flush_buffer()
