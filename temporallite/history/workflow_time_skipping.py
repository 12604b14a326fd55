"""Per-workflow time skipping ("time skipping v2").

A run started with `time_skipping_config.enabled` has its own virtual clock:
wall-clock time plus the duration it skipped so far
(`TimeSkippingInfo.skipped`). Every time in its mutable state and every event
time is virtual; timers are armed at `virtual deadline - skipped` in wall
time. When a transaction leaves the run idle (no workflow task, no activity
but ones backing off before a retry, no child, no external signal or cancel
in flight), the same transaction jumps the clock to the run's next deadline
and writes WorkflowExecutionTimeSkippingTransitioned, as the real server does
when it closes a transaction.

A fast-forward bounds the skipping at `now + duration`: reaching that target
disables skipping. `max_session_skip_count` is a circuit breaker: one skip
too many disables skipping silently (no event), as the real server does.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import (
    TimeSkippingConfig,
    TimeSkippingFastForwardInfo,
    TimeSkippingStatePropagation,
)
from temporalio.api.common.v1 import TimeSkippingInfo as TimeSkippingInfoProto
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes as StartedAttrs

from temporallite.clock import duration_seconds, timestamp_seconds, to_duration, to_timestamp
from temporallite.history.mutable_state import MutableState, TimeSkippingInfo
from temporallite.history.transaction import Transaction

# The real server's default for frontend.WorkflowTimeSkippingMaxSkipPerSession.
DEFAULT_MAX_SESSION_SKIP_COUNT = 200
NOT_ENABLED = "The Time-Skipping feature is not enabled for namespace."
FAST_FORWARD_ID_MISMATCH = "the requested fast_forward_id does not match the execution's current fast-forward"
ENDED_BEFORE_FAST_FORWARD = "the execution ended before the fast-forward completed"

_TRANSITIONED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED


def with_defaults(config: TimeSkippingConfig, max_session_skip_count: int) -> TimeSkippingConfig:
    """The config as the server stores it: a zero skip count means the default."""
    filled = TimeSkippingConfig()
    filled.CopyFrom(config)
    if not filled.max_session_skip_count:
        filled.max_session_skip_count = max_session_skip_count
    return filled


def config_of(ms: MutableState) -> TimeSkippingConfig:
    ts = ms.time_skipping
    return TimeSkippingConfig.FromString(ts.config) if ts is not None else TimeSkippingConfig()


def is_enabled(ms: MutableState) -> bool:
    return ms.time_skipping is not None and config_of(ms).enabled


# ---- starting runs ----------------------------------------------------------


def init_run(ms: MutableState, attrs: StartedAttrs) -> None:
    """Time skipping state of a new run, from its started attributes."""
    propagation = attrs.time_skipping_state_propagation
    initial = duration_seconds(propagation.initial_skipped_duration)
    if not attrs.HasField("time_skipping_config") and not initial:
        return
    ts = ms.time_skipping = TimeSkippingInfo(
        config=attrs.time_skipping_config.SerializeToString(),
        skipped=initial,
        session_skip_count=propagation.initial_skip_count,
    )
    propagated_target = (
        timestamp_seconds(propagation.fast_forward_target_time)
        if propagation.HasField("fast_forward_target_time")
        else 0.0
    )
    _apply_fast_forward(ts, attrs.time_skipping_config, ms.start_time, propagated_target)


def shift_to_virtual_time(ms: MutableState) -> None:
    """A child starts at its parent's virtual time: the times its state was
    built with (wall clock) move forward by the inherited skipped duration."""
    skipped = ms.skipped_duration
    if not skipped:
        return
    ms.start_time += skipped
    ms.execution_time += skipped
    for name in ("first_workflow_task_time", "run_expiration_time", "execution_expiration_time"):
        if getattr(ms, name):
            setattr(ms, name, getattr(ms, name) + skipped)


def _apply_fast_forward(
    ts: TimeSkippingInfo, config: TimeSkippingConfig, now: float, propagated_target: float = 0.0
) -> None:
    duration = duration_seconds(config.fast_forward_config.duration)
    ts.fast_forward_reached = False
    if not config.enabled or duration <= 0:
        ts.fast_forward_target = 0.0
        return
    ts.fast_forward_target = propagated_target or now + duration


def propagate_to_next_run(ms: MutableState, attrs: StartedAttrs) -> None:
    """Continue-as-new, retry and cron runs keep the enabled config, the
    skipped duration, the session's skip count and a pending fast-forward."""
    attrs.ClearField("time_skipping_config")
    attrs.ClearField("time_skipping_state_propagation")
    ts = ms.time_skipping
    if ts is None:
        return
    config = config_of(ms)
    if config.enabled:
        attrs.time_skipping_config.CopyFrom(config)
    propagation = TimeSkippingStatePropagation()
    if ts.skipped > 0:
        propagation.initial_skipped_duration.CopyFrom(to_duration(ts.skipped))
    if ts.fast_forward_target and not ts.fast_forward_reached:
        propagation.fast_forward_target_time.CopyFrom(to_timestamp(ts.fast_forward_target))
    if ts.session_skip_count:
        propagation.initial_skip_count = ts.session_skip_count
    if propagation.ListFields():
        attrs.time_skipping_state_propagation.CopyFrom(propagation)


def propagate_to_child(ms: MutableState) -> dict[str, Any]:
    """Fields for StartChildWorkflowExecutionInitiated: a child starts at the
    parent's virtual time and inherits `enabled` (unless propagation is
    disabled); a fast-forward is never inherited."""
    ts = ms.time_skipping
    fields: dict[str, Any] = {}
    if ts is None:
        return fields
    if ts.skipped > 0:
        fields["time_skipping_state_propagation"] = TimeSkippingStatePropagation(
            initial_skipped_duration=to_duration(ts.skipped)
        )
    config = config_of(ms)
    if config.enabled and not config.disable_propagation:
        fields["time_skipping_config"] = with_defaults(
            TimeSkippingConfig(enabled=True), DEFAULT_MAX_SESSION_SKIP_COUNT
        )
    return fields


# ---- the skip -----------------------------------------------------------------


def had_workflow_task(ms: MutableState) -> bool:
    return ms.workflow_task is not None or ms.last_completed_workflow_task_event_id > 0


def _retry_backoff(info: object, now: float) -> bool:
    return (
        not info.started  # type: ignore[attr-defined]
        and info.attempt > 1  # type: ignore[attr-defined]
        and info.scheduled_time > now  # type: ignore[attr-defined]
    )


def skippable(ms: MutableState, now: float) -> bool:
    """Enabled, running and idle: nothing in flight but activity retries
    waiting out their backoff."""
    if not ms.is_open or not is_enabled(ms) or ms.workflow_task is not None:
        return False
    if any(not _retry_backoff(info, now) for info in ms.activities.values()):
        return False
    return not ms.children and not ms.external_requests


def next_target(ms: MutableState, now: float) -> tuple[float, bool]:
    """(virtual time to skip to or 0, whether skipping stops there because the
    fast-forward target is reached)."""
    candidates = [timer.fire_time for timer in ms.timers.values()]
    candidates += [i.scheduled_time for i in ms.activities.values() if _retry_backoff(i, now)]
    if not had_workflow_task(ms):
        # A delayed first workflow task (start delay, cron, retry backoff).
        if ms.execution_time > ms.start_time:
            candidates.append(ms.execution_time)
    else:
        # Timeouts count only once the workflow ran: a new child must first
        # get to set its own timers.
        candidates += [ms.run_expiration_time, ms.execution_expiration_time]
    future = [t for t in candidates if t and t >= now]
    target = min(future) if future else 0.0
    ts = ms.time_skipping
    if ts is not None and ts.fast_forward_target and not ts.fast_forward_reached:
        if not target or target >= ts.fast_forward_target:
            return (ts.fast_forward_target if ts.fast_forward_target >= now else 0.0), True
    return target, False


def on_close_transaction(tx: Transaction) -> None:
    """The last step of a transaction: skip if the run is left idle."""
    ms = tx.ms
    ts = ms.time_skipping
    if ts is None or not skippable(ms, tx.now):
        return
    target, reached = next_target(ms, tx.now)
    if not target and not reached:
        return
    config = config_of(ms)
    ts.session_skip_count += 1
    if config.max_session_skip_count and ts.session_skip_count > config.max_session_skip_count:
        # Circuit breaker: stop skipping, without an event.
        config.enabled = False
        ts.config = config.SerializeToString()
        ts.session_skip_count = 0
        return
    add_transition(tx, target, reached)


def add_transition(tx: Transaction, target: float, reached: bool) -> None:
    ts = tx.ms.time_skipping
    assert ts is not None
    event = tx.add(
        _TRANSITIONED,
        target_time=to_timestamp(target) if target else None,
        disabled_after_fast_forward=reached,
        wall_clock_time=to_timestamp(tx.now),
    )
    event.worker_may_ignore = True
    if target:
        ts.skipped += target - tx.now
    if reached:
        config = config_of(tx.ms)
        config.enabled = False
        ts.config = config.SerializeToString()
        ts.fast_forward_reached = True


def on_fast_forward_timer(tx: Transaction) -> None:
    """Virtual time reached the fast-forward target while the run was busy:
    skipping ends there."""
    ts = tx.ms.time_skipping
    if ts is None or not is_enabled(tx.ms) or ts.fast_forward_reached or not ts.fast_forward_target:
        return
    if ts.fast_forward_target <= tx.now + 1e-3:
        add_transition(tx, 0.0, True)


# ---- UpdateWorkflowExecutionOptions -------------------------------------------


def update_config(tx: Transaction, config: TimeSkippingConfig) -> None:
    """Replace the config: a new session (skip count reset), a new fast-forward."""
    ms = tx.ms
    if ms.time_skipping is None:
        ms.time_skipping = TimeSkippingInfo()
    ts = ms.time_skipping
    ts.config = config.SerializeToString()
    ts.session_skip_count = 0
    _apply_fast_forward(ts, config, tx.now)


# ---- describe and poll ----------------------------------------------------------


def describe(ms: MutableState, wall_now: float) -> TimeSkippingInfoProto | None:
    ts = ms.time_skipping
    if ts is None:
        return None
    return TimeSkippingInfoProto(
        current_time=to_timestamp(wall_now + ts.skipped),
        effective_config=config_of(ms),
        current_session_skip_count=ts.session_skip_count,
    )


def fast_forward_info(ms: MutableState) -> TimeSkippingFastForwardInfo | None:
    ts = ms.time_skipping
    config = config_of(ms)
    if ts is None or not config.HasField("fast_forward_config"):
        return None
    info = TimeSkippingFastForwardInfo(
        fast_forward_id=config.fast_forward_config.id,
        fast_forward_duration=Duration(),
        has_completed=ts.fast_forward_reached,
    )
    info.fast_forward_duration.CopyFrom(config.fast_forward_config.duration)
    if ts.fast_forward_target:
        info.target_time.CopyFrom(to_timestamp(ts.fast_forward_target))
    return info
