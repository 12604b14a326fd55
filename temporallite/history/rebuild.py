"""Rebuild mutable state by replaying history events (for reset, which
starts a new run from a prefix of another run's history)."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from temporallite.clock import duration_seconds, timestamp_seconds
from temporallite.history import retry, run_start
from temporallite.history.mutable_state import (
    ActivityInfo,
    ChildInfo,
    ExternalRequest,
    MutableState,
    TimerInfo,
)
from temporallite.history.transaction import ACTIVITY_CLOSE_ATTRS

ET = EventType

_ACTIVITY_CLOSED = ACTIVITY_CLOSE_ATTRS
_CHILD_CLOSED = {
    ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: "child_workflow_execution_completed",
    ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: "child_workflow_execution_failed",
    ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: "child_workflow_execution_canceled",
    ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: "child_workflow_execution_timed_out",
    ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: "child_workflow_execution_terminated",
    ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: "start_child_workflow_execution_failed",
}
_EXTERNAL_DONE = {
    ET.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: "external_workflow_execution_signaled",
    ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: "signal_external_workflow_execution_failed",
    ET.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED: (
        "external_workflow_execution_cancel_requested"
    ),
    ET.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: (
        "request_cancel_external_workflow_execution_failed"
    ),
}


def replay(
    namespace_id: str, namespace: str, run_id: str, events: list[HistoryEvent]
) -> MutableState:
    """The state of a run whose history is `events` (no task in flight: the
    caller decides what the run does next)."""
    first = events[0]
    started = first.workflow_execution_started_event_attributes
    start_time = timestamp_seconds(first.event_time)
    ms = run_start.new_mutable_state(namespace_id, namespace, run_id, started, "", start_time)
    ms.started_attributes = started.SerializeToString()
    ms.first_workflow_task_time = 0.0
    for event in events[1:]:
        _apply(ms, event)
    ms.next_event_id = events[-1].event_id + 1
    ms.workflow_task = None
    return ms


def _apply(ms: MutableState, event: HistoryEvent) -> None:
    t = event.event_type
    when = timestamp_seconds(event.event_time)
    if t == ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        attrs = event.workflow_task_completed_event_attributes
        ms.previous_started_event_id = attrs.started_event_id
        ms.last_completed_workflow_task_event_id = event.event_id
    elif t == ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        sched = event.activity_task_scheduled_event_attributes
        ms.activities[event.event_id] = ActivityInfo(
            scheduled_event_id=event.event_id,
            activity_id=sched.activity_id,
            activity_type=sched.activity_type.name,
            task_queue=sched.task_queue.name,
            scheduled_event=event.SerializeToString(),
            first_scheduled_time=when,
            scheduled_time=when,
            schedule_to_close_timeout=duration_seconds(sched.schedule_to_close_timeout),
            schedule_to_start_timeout=duration_seconds(sched.schedule_to_start_timeout),
            start_to_close_timeout=duration_seconds(sched.start_to_close_timeout),
            heartbeat_timeout=duration_seconds(sched.heartbeat_timeout),
            retry_policy=retry.from_proto(sched.retry_policy),
        )
    elif t == ET.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
        info = ms.activities.get(event.activity_task_cancel_requested_event_attributes.scheduled_event_id)
        if info is not None:
            info.cancel_requested = True
            info.cancel_requested_event_id = event.event_id
    elif t in _ACTIVITY_CLOSED:
        scheduled = getattr(event, _ACTIVITY_CLOSED[t]).scheduled_event_id
        ms.activities.pop(scheduled, None)
    elif t == ET.EVENT_TYPE_TIMER_STARTED:
        timer = event.timer_started_event_attributes
        ms.timers[timer.timer_id] = TimerInfo(
            timer.timer_id, event.event_id, when + duration_seconds(timer.start_to_fire_timeout)
        )
    elif t == ET.EVENT_TYPE_TIMER_FIRED:
        ms.timers.pop(event.timer_fired_event_attributes.timer_id, None)
    elif t == ET.EVENT_TYPE_TIMER_CANCELED:
        ms.timers.pop(event.timer_canceled_event_attributes.timer_id, None)
    elif t == ET.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        init = event.start_child_workflow_execution_initiated_event_attributes
        ms.children[event.event_id] = ChildInfo(
            event.event_id, init.namespace_id, init.namespace, init.workflow_id,
            init.workflow_type.name, init.parent_close_policy, event.SerializeToString(),
        )
    elif t == ET.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
        child_started = event.child_workflow_execution_started_event_attributes
        child = ms.children.get(child_started.initiated_event_id)
        if child is not None:
            child.run_id = child_started.workflow_execution.run_id
            child.started_event_id = event.event_id
    elif t in _CHILD_CLOSED:
        ms.children.pop(getattr(event, f"{_CHILD_CLOSED[t]}_event_attributes").initiated_event_id, None)
    elif t == ET.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        ms.external_requests[event.event_id] = ExternalRequest(
            event.event_id, "signal", event.SerializeToString()
        )
    elif t == ET.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        ms.external_requests[event.event_id] = ExternalRequest(
            event.event_id, "cancel", event.SerializeToString()
        )
    elif t in _EXTERNAL_DONE:
        initiated = getattr(event, f"{_EXTERNAL_DONE[t]}_event_attributes").initiated_event_id
        ms.external_requests.pop(initiated, None)
    elif t == ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
        ms.cancel_requested = True
    elif t == ET.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        ms.upsert_search_attributes(
            event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        )
    elif t == ET.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
        ms.upsert_memo(event.workflow_properties_modified_event_attributes.upserted_memo.fields)
