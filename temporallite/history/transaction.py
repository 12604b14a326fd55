"""One transition on one execution: the events it writes, the tasks it
creates. Nothing here touches the outside world; the engine commits the
transaction and only then dispatches.

Events that arrive while a workflow task is in flight are buffered (no event
id yet) and flushed after the task completes, as the real server does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from temporallite.clock import to_timestamp
from temporallite.config import ExecutionLimits
from temporallite.history.mutable_state import MutableState

# Buffered completions are written after the other buffered events.
_CLOSE_EVENTS_LAST = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
}

ACTIVITY_CLOSE_ATTRS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


_CHILD_CLOSE_ATTRS = {
    t: EventType.Name(t).removeprefix("EVENT_TYPE_").lower() + "_event_attributes"  # type: ignore[arg-type]
    for t in (
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    )
}


def attributes_field(event_type: int) -> str:
    name = EventType.Name(event_type)  # type: ignore[arg-type]
    return name.removeprefix("EVENT_TYPE_").lower() + "_event_attributes"


@dataclass
class Task:
    """A task to hand to matching after commit."""

    kind: str  # "workflow" | "activity"
    namespace_id: str
    task_queue: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    attempt: int
    # For a sticky workflow task: the normal queue to fall back to.
    normal_task_queue: str = ""
    # Set for a query task (history/queries.py): nothing to record started.
    query_id: str = ""


@dataclass
class Transaction:
    ms: MutableState
    now: float
    events: list[HistoryEvent] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    visibility_changed: bool = False
    # Set when the workflow has new events to see; scheduled at commit, after
    # every other event of the transition.
    needs_workflow_task: bool = False
    # Work on other executions, done after commit (a child's start, an
    # external signal or cancel): (kind, reference) for the transfer executor.
    transfers: list[tuple[str, Any]] = field(default_factory=list)
    # Namespace name → id, for commands that name another namespace.
    lookup_namespace_id: Callable[[str], str | None] | None = None
    # Update stages reached in this transition: (update id, stage, outcome).
    update_outcomes: list[Any] = field(default_factory=list)
    # The run this transition starts (continue-as-new, retry, cron), written
    # in the same SQLite transaction.
    new_run: Transaction | None = None
    # The server's per-execution limits (history/limits.py).
    limits: ExecutionLimits = field(default_factory=ExecutionLimits)

    def new_event(self, event_type: int, **attrs: Any) -> HistoryEvent:
        event = HistoryEvent(event_type=event_type)  # type: ignore[arg-type]
        event.event_time.CopyFrom(to_timestamp(self.now))
        getattr(event, attributes_field(event_type)).SetInParent()
        target = getattr(event, attributes_field(event_type))
        for key, value in attrs.items():
            _set(target, key, value)
        return event

    def add(self, event_type: int, **attrs: Any) -> HistoryEvent:
        """Append an event to history now, with the next event id."""
        event = self.new_event(event_type, **attrs)
        self.append(event)
        return event

    def append(self, event: HistoryEvent) -> None:
        event.event_id = self.ms.next_event_id
        self.ms.next_event_id += 1
        self.events.append(event)

    def add_or_buffer(self, event_type: int, **attrs: Any) -> HistoryEvent:
        """Events from outside the workflow (signals, activity results, timers)
        wait in the buffer while a workflow task is in flight."""
        event = self.new_event(event_type, **attrs)
        task = self.ms.workflow_task
        if task is not None and task.started:
            self.ms.buffered_events.append(event.SerializeToString())
        else:
            self.append(event)
        return event

    def flush_buffer(self) -> bool:
        """Write buffered events: completions last, their started ids wired."""
        if not self.ms.buffered_events:
            return False
        buffered = [HistoryEvent.FromString(b) for b in self.ms.buffered_events]
        self.ms.buffered_events = []
        ordered = [e for e in buffered if e.event_type not in _CLOSE_EVENTS_LAST]
        ordered += [e for e in buffered if e.event_type in _CLOSE_EVENTS_LAST]
        activity_started: dict[int, int] = {}
        child_started: dict[int, int] = {}
        for event in ordered:
            self.append(event)
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attrs = event.activity_task_started_event_attributes
                activity_started[attrs.scheduled_event_id] = event.event_id
            elif event.event_type in ACTIVITY_CLOSE_ATTRS:
                close = getattr(event, ACTIVITY_CLOSE_ATTRS[event.event_type])
                if close.scheduled_event_id in activity_started:
                    close.started_event_id = activity_started[close.scheduled_event_id]
            elif event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                initiated = event.child_workflow_execution_started_event_attributes.initiated_event_id
                child_started[initiated] = event.event_id
                if initiated in self.ms.children:
                    self.ms.children[initiated].started_event_id = event.event_id
            elif event.event_type in _CHILD_CLOSE_ATTRS:
                close = getattr(event, _CHILD_CLOSE_ATTRS[event.event_type])
                if close.initiated_event_id in child_started:
                    close.started_event_id = child_started[close.initiated_event_id]
        return True


def _set(message: Any, key: str, value: Any) -> None:
    if value is None:
        return
    if hasattr(value, "DESCRIPTOR"):
        getattr(message, key).CopyFrom(value)
    elif isinstance(value, list):
        field_ = getattr(message, key)
        del field_[:]
        field_.extend(value)
    else:
        setattr(message, key, value)
