"""Commands a workflow task completes with, turned into history events."""

from __future__ import annotations

from collections.abc import Callable

from temporalio.api.command.v1 import Command
from temporalio.api.enums.v1 import CommandType, EventType
from temporalio.api.enums.v1 import WorkflowTaskFailedCause as Cause

from temporallite.clock import duration_seconds
from temporallite.errors import ServiceError
from temporallite.history import activity, children, continuation, lifecycle
from temporallite.history.activity import CommandError
from temporallite.history.mutable_state import TimerInfo
from temporallite.history.transaction import Transaction

ET = EventType
CT = CommandType

# Commands that close the workflow; they must be the last command.
CLOSING = {
    CT.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
    CT.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
    CT.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
    CT.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
}


class UnsupportedCommand(ServiceError):
    from grpclib.const import Status

    status = Status.UNIMPLEMENTED


def apply(tx: Transaction, commands: list[Command], completed_event_id: int) -> None:
    """Apply commands in order; raises CommandError for a command that does not fit."""
    for command in commands:
        if not tx.ms.is_open:
            raise CommandError(
                Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
                "Workflow is already closed; commands after a close command are invalid.",
            )
        handler = HANDLERS.get(command.command_type)
        if handler is None:
            raise UnsupportedCommand(
                f"Command {CT.Name(command.command_type)} is not implemented by temporallite"
            )
        handler(tx, command, completed_event_id)


def _schedule_activity(tx: Transaction, command: Command, completed: int) -> None:
    activity.schedule(tx, command.schedule_activity_task_command_attributes, completed)


def _request_cancel_activity(tx: Transaction, command: Command, completed: int) -> None:
    scheduled_id = command.request_cancel_activity_task_command_attributes.scheduled_event_id
    info = tx.ms.activities.get(scheduled_id)
    if info is None:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES,
            f"Unable to find activity with scheduled event id {scheduled_id}",
        )
    activity.request_cancel(tx, info, completed)


def _start_timer(tx: Transaction, command: Command, completed: int) -> None:
    attrs = command.start_timer_command_attributes
    bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES
    if not attrs.timer_id:
        raise CommandError(bad, "TimerId is not set on StartTimerCommand.")
    seconds = duration_seconds(attrs.start_to_fire_timeout)
    if seconds <= 0:
        raise CommandError(bad, "A valid StartToFireTimeout is not set on StartTimerCommand.")
    if attrs.timer_id in tx.ms.timers:
        raise CommandError(bad, f"Timer with id {attrs.timer_id} already exists.")
    event = tx.add(
        ET.EVENT_TYPE_TIMER_STARTED,
        timer_id=attrs.timer_id,
        start_to_fire_timeout=attrs.start_to_fire_timeout,
        workflow_task_completed_event_id=completed,
    )
    tx.ms.timers[attrs.timer_id] = TimerInfo(attrs.timer_id, event.event_id, tx.now + seconds)


def _cancel_timer(tx: Transaction, command: Command, completed: int) -> None:
    timer_id = command.cancel_timer_command_attributes.timer_id
    timer = tx.ms.timers.pop(timer_id, None)
    if timer is None:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES,
            f"Unable to find timer with id {timer_id}",
        )
    tx.add(
        ET.EVENT_TYPE_TIMER_CANCELED,
        timer_id=timer_id,
        started_event_id=timer.started_event_id,
        workflow_task_completed_event_id=completed,
    )


def _complete_workflow(tx: Transaction, command: Command, completed: int) -> None:
    attrs = command.complete_workflow_execution_command_attributes
    continuation.complete(tx, attrs.result if attrs.HasField("result") else None, completed)


def _fail_workflow(tx: Transaction, command: Command, completed: int) -> None:
    continuation.fail(tx, command.fail_workflow_execution_command_attributes.failure, completed)


def _continue_as_new(tx: Transaction, command: Command, completed: int) -> None:
    continuation.continue_as_new(
        tx, command.continue_as_new_workflow_execution_command_attributes, completed
    )


def _cancel_workflow(tx: Transaction, command: Command, completed: int) -> None:
    attrs = command.cancel_workflow_execution_command_attributes
    lifecycle.close(
        tx,
        ET.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        details=attrs.details if attrs.HasField("details") else None,
        workflow_task_completed_event_id=completed,
    )


def _record_marker(tx: Transaction, command: Command, completed: int) -> None:
    attrs = command.record_marker_command_attributes
    if not attrs.marker_name:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES,
            "MarkerName is not set on command.",
        )
    event = tx.add(ET.EVENT_TYPE_MARKER_RECORDED, workflow_task_completed_event_id=completed)
    target = event.marker_recorded_event_attributes
    target.marker_name = attrs.marker_name
    for key, payloads in attrs.details.items():
        target.details[key].CopyFrom(payloads)
    if attrs.HasField("header"):
        target.header.CopyFrom(attrs.header)
    if attrs.HasField("failure"):
        target.failure.CopyFrom(attrs.failure)


def _upsert_search_attributes(tx: Transaction, command: Command, completed: int) -> None:
    from temporallite.frontend.validation import BLOB_SIZE_LIMIT
    from temporallite.visibility import search_attributes as sa

    attrs = command.upsert_workflow_search_attributes_command_attributes
    bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES
    known = sa.for_namespace(tx.ms.namespace_id)
    try:
        # The real server's order: unalias, check the command, the values,
        # then the sizes (whose breach terminates the workflow).
        fields = known.unaliased(attrs.search_attributes)
        if not attrs.HasField("search_attributes"):
            raise CommandError(bad, "SearchAttributes is not set on UpsertWorkflowSearchAttributesCommand.")
        if not attrs.search_attributes.indexed_fields:
            raise CommandError(bad, "IndexedFields is not set on UpsertWorkflowSearchAttributesCommand.")
        known.check_values(attrs.search_attributes)
        blob = sum(len(k) + len(p.data) for k, p in fields.indexed_fields.items())
        if blob > BLOB_SIZE_LIMIT:
            raise CommandError(
                bad, "UpsertWorkflowSearchAttributesCommandAttributes exceeds size limit.", terminate=True
            )
        merged = known.merged_fields(tx.ms.search_attributes, attrs.search_attributes)
        known.check_sizes(attrs.search_attributes, merged)
    except sa.SearchAttributeSizeError as exc:
        raise CommandError(bad, str(exc), terminate=True) from None
    except sa.SearchAttributeError as exc:
        raise CommandError(bad, str(exc)) from None
    tx.add(
        ET.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        search_attributes=attrs.search_attributes,
        workflow_task_completed_event_id=completed,
    )
    tx.ms.upsert_search_attributes(attrs.search_attributes.indexed_fields)
    tx.visibility_changed = True


def _modify_properties(tx: Transaction, command: Command, completed: int) -> None:
    attrs = command.modify_workflow_properties_command_attributes
    tx.add(
        ET.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
        upserted_memo=attrs.upserted_memo,
        workflow_task_completed_event_id=completed,
    )
    tx.ms.upsert_memo(attrs.upserted_memo.fields)
    tx.visibility_changed = True


HANDLERS: dict[int, Callable[[Transaction, Command, int], None]] = {
    CT.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: _schedule_activity,
    CT.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: _request_cancel_activity,
    CT.COMMAND_TYPE_START_TIMER: _start_timer,
    CT.COMMAND_TYPE_CANCEL_TIMER: _cancel_timer,
    CT.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: _complete_workflow,
    CT.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: _fail_workflow,
    CT.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: _cancel_workflow,
    CT.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION: _continue_as_new,
    CT.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: children.start_child,
    CT.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: children.signal_external,
    CT.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: children.cancel_external,
    CT.COMMAND_TYPE_RECORD_MARKER: _record_marker,
    CT.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: _upsert_search_attributes,
    CT.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: _modify_properties,
}
