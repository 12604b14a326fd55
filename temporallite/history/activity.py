"""Activity lifecycle: scheduled → started (kept in mutable state, written to
history with the outcome) → completed / failed / timed out / canceled, with
retries that write no events until the last attempt ends."""

from __future__ import annotations

from temporalio.api.command.v1 import ScheduleActivityTaskCommandAttributes
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType, RetryState, TimeoutType
from temporalio.api.failure.v1 import Failure, TimeoutFailureInfo
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue

from temporallite.clock import duration_seconds, to_duration
from temporallite.history import retry
from temporallite.history.mutable_state import ActivityInfo
from temporallite.history.transaction import Task, Transaction

ET = EventType

TIMEOUT_NAMES: dict[int, str] = {
    TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE: "StartToClose",
    TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START: "ScheduleToStart",
    TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE: "ScheduleToClose",
    TimeoutType.TIMEOUT_TYPE_HEARTBEAT: "Heartbeat",
}


class CommandError(Exception):
    """A command that does not fit: fails the workflow task with `cause`.
    The worker hears '<CauseName>: <message>', as from the real server.
    With `terminate` (the real server's answer to some size limits) the
    workflow is terminated as well, with that text as the reason."""

    def __init__(self, cause: int, message: str = "", terminate: bool = False) -> None:
        from temporalio.api.enums.v1 import WorkflowTaskFailedCause

        name = WorkflowTaskFailedCause.Name(cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_")  # type: ignore[arg-type]
        cause_name = "".join(part.capitalize() for part in name.split("_"))
        self.cause = cause
        self.terminate = terminate
        self.message = f"{cause_name}: {message}" if message else cause_name
        super().__init__(self.message)


def schedule(
    tx: Transaction, attrs: ScheduleActivityTaskCommandAttributes, completed_event_id: int
) -> None:
    from temporalio.api.enums.v1 import WorkflowTaskFailedCause as Cause

    ms = tx.ms
    bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
    if not attrs.activity_id:
        raise CommandError(bad, "ActivityId is not set on ScheduleActivityTaskCommand.")
    if not attrs.activity_type.name:
        raise CommandError(bad, "ActivityType is not set on ScheduleActivityTaskCommand.")
    if ms.activity_by_id(attrs.activity_id) is not None:
        raise CommandError(bad, f"Activity with id {attrs.activity_id} already exists.")
    schedule_to_close = duration_seconds(attrs.schedule_to_close_timeout)
    schedule_to_start = duration_seconds(attrs.schedule_to_start_timeout)
    start_to_close = duration_seconds(attrs.start_to_close_timeout)
    heartbeat = duration_seconds(attrs.heartbeat_timeout)
    if min(schedule_to_close, schedule_to_start, start_to_close, heartbeat) < 0:
        raise CommandError(bad, "A valid timeout may not be negative.")
    run_timeout = ms.run_timeout
    if schedule_to_close > 0:
        if run_timeout:
            schedule_to_close = min(schedule_to_close, run_timeout)
        schedule_to_start = min(schedule_to_start or schedule_to_close, schedule_to_close)
        start_to_close = min(start_to_close or schedule_to_close, schedule_to_close)
    elif start_to_close > 0:
        schedule_to_close = run_timeout
        if not schedule_to_start or (schedule_to_close and schedule_to_start > schedule_to_close):
            schedule_to_start = schedule_to_close
    else:
        raise CommandError(bad, "A valid StartToClose or ScheduleToCloseTimeout is not set on command.")
    heartbeat = min(heartbeat, start_to_close)
    from temporallite.history import limits

    limits.check_pending(ms, tx.limits, "activity")
    policy = retry.from_proto(attrs.retry_policy)
    task_queue = attrs.task_queue.name or ms.task_queue
    event = tx.add(
        ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        activity_id=attrs.activity_id,
        activity_type=attrs.activity_type,
        task_queue=TaskQueue(name=task_queue, kind=attrs.task_queue.kind or 1),  # type: ignore[arg-type]
        header=attrs.header if attrs.HasField("header") else None,
        input=attrs.input if attrs.HasField("input") else None,
        schedule_to_close_timeout=to_duration(schedule_to_close),
        schedule_to_start_timeout=to_duration(schedule_to_start),
        start_to_close_timeout=to_duration(start_to_close),
        heartbeat_timeout=to_duration(heartbeat),
        workflow_task_completed_event_id=completed_event_id,
        retry_policy=retry.to_proto(policy),
        use_workflow_build_id=attrs.use_workflow_build_id,
        priority=attrs.priority if attrs.HasField("priority") else None,
    )
    info = ActivityInfo(
        scheduled_event_id=event.event_id,
        activity_id=attrs.activity_id,
        activity_type=attrs.activity_type.name,
        task_queue=task_queue,
        scheduled_event=event.SerializeToString(),
        first_scheduled_time=tx.now,
        scheduled_time=tx.now,
        schedule_to_close_timeout=schedule_to_close,
        schedule_to_start_timeout=schedule_to_start,
        start_to_close_timeout=start_to_close,
        heartbeat_timeout=heartbeat,
        retry_policy=policy,
    )
    ms.activities[info.scheduled_event_id] = info
    tx.tasks.append(dispatch_task(tx, info))


def dispatch_task(tx: Transaction, info: ActivityInfo) -> Task:
    ms = tx.ms
    return Task("activity", ms.namespace_id, info.task_queue, ms.workflow_id, ms.run_id,
                info.scheduled_event_id, info.attempt)


def scheduled_event(info: ActivityInfo) -> HistoryEvent:
    return HistoryEvent.FromString(info.scheduled_event)


def record_started(tx: Transaction, info: ActivityInfo, identity: str, request_id: str) -> None:
    info.started_time = tx.now
    info.started_identity = identity
    info.started_request_id = request_id
    info.last_heartbeat_time = 0.0


def _write_started(tx: Transaction, info: ActivityInfo) -> None:
    last_failure = Failure.FromString(info.last_failure) if info.last_failure else None
    tx.add_or_buffer(
        ET.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        scheduled_event_id=info.scheduled_event_id,
        identity=info.started_identity,
        request_id=info.started_request_id,
        attempt=info.attempt,
        last_failure=last_failure,
    )


def _started_event_id_placeholder(tx: Transaction, info: ActivityInfo) -> int:
    """The started event's id, when it went straight to history."""
    last = tx.events[-1] if tx.events else None
    if (
        last is not None
        and last.event_type == ET.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and last.activity_task_started_event_attributes.scheduled_event_id
        == info.scheduled_event_id
    ):
        return last.event_id
    return 0


def _close(tx: Transaction, info: ActivityInfo, event_type: int, **attrs: object) -> None:
    """Write started (when it ran) + the outcome event; the activity is done."""
    started_id = 0
    if info.started:
        _write_started(tx, info)
        started_id = _started_event_id_placeholder(tx, info)
    tx.add_or_buffer(
        event_type,
        scheduled_event_id=info.scheduled_event_id,
        started_event_id=started_id,
        **attrs,  # type: ignore[arg-type]
    )
    del tx.ms.activities[info.scheduled_event_id]
    tx.needs_workflow_task = True


def complete(tx: Transaction, info: ActivityInfo, result: Payloads | None, identity: str) -> None:
    _close(tx, info, ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, result=result, identity=identity)


def canceled(tx: Transaction, info: ActivityInfo, details: Payloads | None, identity: str) -> None:
    _close(
        tx,
        info,
        ET.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
        details=details,
        latest_cancel_requested_event_id=info.cancel_requested_event_id,
        identity=identity,
    )


def _expiration(info: ActivityInfo) -> float:
    if not info.schedule_to_close_timeout:
        return 0.0
    return info.first_scheduled_time + info.schedule_to_close_timeout


def _retry(tx: Transaction, info: ActivityInfo, failure: Failure) -> int:
    """Arrange the next attempt if the policy allows; returns the retry state."""
    policy = info.retry_policy
    state, delay = retry.next_retry(policy, info.attempt, failure, tx.now, _expiration(info))
    if state != RetryState.RETRY_STATE_IN_PROGRESS:
        return state
    info.attempt += 1
    info.scheduled_time = tx.now + delay
    info.started_time = 0.0
    info.started_identity = ""
    info.started_request_id = ""
    info.last_failure = failure.SerializeToString()
    if delay <= 0:
        tx.tasks.append(dispatch_task(tx, info))
    return state


def fail(
    tx: Transaction,
    info: ActivityInfo,
    failure: Failure,
    identity: str,
    last_heartbeat_details: Payloads | None = None,
) -> None:
    if last_heartbeat_details is not None:
        info.heartbeat_details = last_heartbeat_details.SerializeToString()
    info.last_worker_identity = identity
    state = _retry(tx, info, failure)
    if state == RetryState.RETRY_STATE_IN_PROGRESS:
        return
    _close(tx, info, ET.EVENT_TYPE_ACTIVITY_TASK_FAILED, failure=failure, identity=identity,
           retry_state=state)


def time_out(tx: Transaction, info: ActivityInfo, timeout_type: int) -> None:
    failure = Failure(
        message=f"activity {TIMEOUT_NAMES[timeout_type]} timeout",
        source="Server",
        timeout_failure_info=TimeoutFailureInfo(timeout_type=timeout_type),  # type: ignore[arg-type]
    )
    if info.heartbeat_details:
        failure.timeout_failure_info.last_heartbeat_details.CopyFrom(
            Payloads.FromString(info.heartbeat_details)
        )
    if timeout_type in (TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE, TimeoutType.TIMEOUT_TYPE_HEARTBEAT):
        state = _retry(tx, info, failure)
        if state == RetryState.RETRY_STATE_IN_PROGRESS:
            return
    else:
        # Schedule-to-start and schedule-to-close timeouts are never retried.
        state = RetryState.RETRY_STATE_TIMEOUT
    if info.last_failure:
        failure.cause.CopyFrom(Failure.FromString(info.last_failure))
    _close(tx, info, ET.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, failure=failure, retry_state=state)


def timeout_deadlines(info: ActivityInfo) -> list[tuple[int, float]]:
    """(timeout type, deadline) pairs that apply to the activity now."""
    deadlines: list[tuple[int, float]] = []
    if info.schedule_to_close_timeout:
        deadlines.append(
            (TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE,
             info.first_scheduled_time + info.schedule_to_close_timeout)
        )
    if info.started:
        if info.start_to_close_timeout:
            deadlines.append(
                (TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
                 info.started_time + info.start_to_close_timeout)
            )
        if info.heartbeat_timeout:
            last = info.last_heartbeat_time or info.started_time
            deadlines.append((TimeoutType.TIMEOUT_TYPE_HEARTBEAT, last + info.heartbeat_timeout))
    elif info.schedule_to_start_timeout:
        deadlines.append(
            (TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
             info.scheduled_time + info.schedule_to_start_timeout)
        )
    return deadlines


def request_cancel(tx: Transaction, info: ActivityInfo, completed_event_id: int) -> None:
    """RequestCancelActivityTask command: cancel at once if not started."""
    event = tx.add(
        ET.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
        scheduled_event_id=info.scheduled_event_id,
        workflow_task_completed_event_id=completed_event_id,
    )
    info.cancel_requested = True
    info.cancel_requested_event_id = event.event_id
    if not info.started:
        canceled(tx, info, None, "")
