"""Per-execution limits, enforced where the real server enforces them.

- History count and size (limit.historyCount.* / limit.historySize.*): checked
  on a transition of a running workflow before it is persisted. Past the
  error limit the transition is discarded, the run is terminated instead
  ("Workflow history count exceeds limit.", identity history-service) and the
  caller gets INVALID_ARGUMENT with that text. The count includes the
  transition's own events; the size is what history held before it. A
  transition that closes the run, or continues it as new, is not checked.
- Suggest continue-as-new: written on WorkflowTaskStarted once the started
  event's id reaches the count threshold or the history size the size one.
- Signals (history.maximumSignalsPerExecution): a run takes that many; the
  next signal is refused with INVALID_ARGUMENT.
- Pending activities, children, external signals and cancels
  (limit.numPending*.error): a command that would pass the limit fails the
  workflow task with the matching cause.
"""

from __future__ import annotations

import logging

from temporalio.api.enums.v1 import SuggestContinueAsNewReason, WorkflowTaskFailedCause

from temporallite.config import ExecutionLimits
from temporallite.errors import InvalidArgument
from temporallite.history.activity import CommandError
from temporallite.history.mutable_state import MutableState

log = logging.getLogger("temporallite.history")

SERVER_IDENTITY = "history-service"
HISTORY_SIZE_EXCEEDED = "Workflow history size exceeds limit."
HISTORY_COUNT_EXCEEDED = "Workflow history count exceeds limit."
SIGNALS_EXCEEDED = "exceeded workflow execution limit for signal events"

Cause = WorkflowTaskFailedCause
Reason = SuggestContinueAsNewReason


class HistoryLimitExceeded(InvalidArgument):
    """The transition was dropped and the run terminated instead."""


class SignalLimitExceeded(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(SIGNALS_EXCEEDED)


def _over(value: int, limit: int) -> bool:
    return limit > 0 and value > limit


def history_limit_exceeded(ms: MutableState, limits: ExecutionLimits) -> str | None:
    """The termination reason when the run (after a transition, before it is
    persisted) is past an error limit; warns past the warn limits."""
    count = ms.next_event_id - 1
    size = ms.history_size_bytes  # what is persisted: this transition not included
    if ms.is_open:
        if _over(size, limits.history_size_error):
            log.warning("history size exceeds error limit: %s/%s size %d", ms.workflow_id, ms.run_id, size)
            return HISTORY_SIZE_EXCEEDED
        if _over(count, limits.history_count_error):
            log.warning("history count exceeds error limit: %s/%s count %d", ms.workflow_id, ms.run_id, count)
            return HISTORY_COUNT_EXCEEDED
    if _over(size, limits.history_size_warn):
        log.warning("history size exceeds warn limit: %s/%s size %d", ms.workflow_id, ms.run_id, size)
    if _over(count, limits.history_count_warn):
        log.warning("history count exceeds warn limit: %s/%s count %d", ms.workflow_id, ms.run_id, count)
    return None


def suggest_continue_as_new(ms: MutableState, limits: ExecutionLimits) -> list[int]:
    """Reasons to suggest continue-as-new on the workflow task started now.
    The count is the started event's id (the next event id before it)."""
    reasons: list[int] = []
    if ms.history_size_bytes >= limits.history_size_suggest_continue_as_new:
        reasons.append(Reason.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE)
    if ms.next_event_id >= limits.history_count_suggest_continue_as_new:
        reasons.append(Reason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS)
    return reasons


def check_signal(ms: MutableState, limits: ExecutionLimits) -> None:
    """Before a signal is added: refuse it when the run has taken its share."""
    if limits.max_signals_per_execution > 0 and ms.signal_count >= limits.max_signals_per_execution:
        log.info("signal limit reached: %s/%s", ms.workflow_id, ms.run_id)
        raise SignalLimitExceeded()


_PENDING: dict[str, tuple[str, int, str]] = {
    # kind: (limit field, cause, description in the failure text)
    "activity": (
        "pending_activities",
        Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED,
        "pending activities",
    ),
    "child": (
        "pending_child_executions",
        Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_CHILD_WORKFLOWS_LIMIT_EXCEEDED,
        "pending child workflow executions",
    ),
    "signal": (
        "pending_signals",
        Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_SIGNALS_LIMIT_EXCEEDED,
        "pending signals to external workflows",
    ),
    "cancel": (
        "pending_cancel_requests",
        Cause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_REQUEST_CANCEL_LIMIT_EXCEEDED,
        "pending requests to cancel external workflows",
    ),
}


def pending_count(ms: MutableState, kind: str) -> int:
    if kind == "activity":
        return len(ms.activities)
    if kind == "child":
        return len(ms.children)
    return sum(1 for r in ms.external_requests.values() if r.kind == kind)


def check_pending(ms: MutableState, limits: ExecutionLimits, kind: str) -> None:
    """Before a command adds a pending `kind`: fail the task when at the limit."""
    field, cause, description = _PENDING[kind]
    limit = getattr(limits, field)
    count = pending_count(ms, kind)
    if limit > 0 and count >= limit:
        raise CommandError(
            cause, f"the number of {description}, {count}, has reached the per-workflow limit of {limit}"
        )
