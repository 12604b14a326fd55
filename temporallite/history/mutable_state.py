"""Mutable state of one workflow run: what history alone does not say.

Snapshotted as JSON with every transition (protobuf payloads inside it are
kept as serialized bytes, base64 in the JSON). Times are float epoch seconds.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.common.v1 import Memo, Payload, SearchAttributes
from temporalio.api.enums.v1 import WorkflowExecutionStatus

RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING


@dataclass
class RetryPolicy:
    initial_interval: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval: float = 0.0  # 0: 100 x initial interval
    maximum_attempts: int = 0  # 0: unlimited
    non_retryable_error_types: list[str] = field(default_factory=list)


@dataclass
class WorkflowTaskInfo:
    scheduled_event_id: int
    attempt: int
    task_queue: str
    task_queue_kind: int
    start_to_close_timeout: float
    scheduled_time: float
    started_event_id: int = 0
    started_time: float = 0.0
    request_id: str = ""
    identity: str = ""
    # Attempts > 1 are transient: their events are not in history until the
    # task completes; these are their serialized events, when they exist.
    transient_scheduled: bytes = b""
    transient_started: bytes = b""
    # Sticky schedule-to-start deadline, when dispatched to a sticky queue.
    schedule_to_start_deadline: float = 0.0
    # A speculative task carries only updates: its events are not in history
    # unless it completes with something to write (as a transient attempt).
    speculative: bool = False

    @property
    def unrecorded(self) -> bool:
        """Its scheduled and started events are not (yet) in history."""
        return self.attempt > 1 or self.speculative

    @property
    def started(self) -> bool:
        return self.started_event_id != 0 or bool(self.transient_started)


@dataclass
class ActivityInfo:
    scheduled_event_id: int
    activity_id: str
    activity_type: str
    task_queue: str
    scheduled_event: bytes  # serialized ActivityTaskScheduled HistoryEvent
    first_scheduled_time: float
    scheduled_time: float  # this attempt's dispatch time (later when backing off)
    schedule_to_close_timeout: float
    schedule_to_start_timeout: float
    start_to_close_timeout: float
    heartbeat_timeout: float
    retry_policy: RetryPolicy | None
    attempt: int = 1
    started_time: float = 0.0  # 0: not started
    started_identity: str = ""
    started_request_id: str = ""
    last_heartbeat_time: float = 0.0
    heartbeat_details: bytes = b""  # serialized Payloads
    last_failure: bytes = b""  # serialized Failure of the previous attempt
    last_worker_identity: str = ""
    cancel_requested: bool = False
    cancel_requested_event_id: int = 0

    @property
    def started(self) -> bool:
        return self.started_time != 0.0


@dataclass
class TimerInfo:
    timer_id: str
    started_event_id: int
    fire_time: float


@dataclass
class ExecutionRef:
    namespace_id: str
    namespace: str
    workflow_id: str
    run_id: str


@dataclass
class ParentInfo:
    """The parent of a child workflow, told when the child closes."""

    execution: ExecutionRef
    initiated_event_id: int


@dataclass
class ChildInfo:
    initiated_event_id: int
    namespace_id: str
    namespace: str
    workflow_id: str
    workflow_type: str
    parent_close_policy: int
    initiated_event: bytes  # serialized StartChildWorkflowExecutionInitiated event
    started_event_id: int = 0
    run_id: str = ""  # the child's first run, once started


@dataclass
class ExternalRequest:
    """A signal or cancel request to another workflow, not yet delivered."""

    initiated_event_id: int
    kind: str  # "signal" | "cancel"
    initiated_event: bytes


@dataclass
class TimeSkippingInfo:
    """Per-workflow time skipping: this run's virtual clock is wall-clock
    time plus `skipped`; every time in this state is in virtual time."""

    config: bytes = b""  # serialized TimeSkippingConfig, defaults filled in
    skipped: float = 0.0  # accumulated skipped duration, seconds
    session_skip_count: int = 0
    fast_forward_target: float = 0.0  # virtual time; 0: no fast-forward
    fast_forward_reached: bool = False


@dataclass
class MutableState:
    namespace_id: str
    namespace: str
    workflow_id: str
    run_id: str
    first_run_id: str
    workflow_type: str
    task_queue: str
    start_time: float
    execution_time: float
    start_request_id: str
    workflow_task_timeout: float
    run_timeout: float = 0.0
    execution_timeout: float = 0.0
    run_expiration_time: float = 0.0
    execution_expiration_time: float = 0.0
    status: int = RUNNING
    close_time: float = 0.0
    next_event_id: int = 1
    # Event id of the last completed workflow task's started event.
    previous_started_event_id: int = 0
    last_completed_workflow_task_event_id: int = 0
    workflow_task: WorkflowTaskInfo | None = None
    # Set for a start delay: the first workflow task is scheduled at this time.
    first_workflow_task_time: float = 0.0
    sticky_task_queue: str = ""
    sticky_schedule_to_start_timeout: float = 0.0
    activities: dict[int, ActivityInfo] = field(default_factory=dict)
    timers: dict[str, TimerInfo] = field(default_factory=dict)
    buffered_events: list[bytes] = field(default_factory=list)
    cancel_requested: bool = False
    cancel_request_id: str = ""
    signal_request_ids: list[str] = field(default_factory=list)
    # Signals this run took (history.maximumSignalsPerExecution counts them).
    signal_count: int = 0
    memo: bytes = b""  # serialized Memo
    search_attributes: bytes = b""  # serialized SearchAttributes
    retry_policy: RetryPolicy | None = None
    attempt: int = 1
    cron_schedule: str = ""
    # The run's WorkflowExecutionStarted attributes (serialized), from which a
    # retry or cron run is started.
    started_attributes: bytes = b""
    parent: ParentInfo | None = None
    root_workflow_id: str = ""
    root_run_id: str = ""
    children: dict[int, ChildInfo] = field(default_factory=dict)
    external_requests: dict[int, ExternalRequest] = field(default_factory=dict)
    # Accepted updates: update id → [accepted event id, completed event id (0: not yet)].
    updates: dict[str, list[int]] = field(default_factory=dict)
    time_skipping: TimeSkippingInfo | None = None
    history_size_bytes: int = 0
    state_transition_count: int = 0
    completion_event_id: int = 0
    db_version: int = 0

    @property
    def is_open(self) -> bool:
        return self.status == RUNNING

    @property
    def skipped_duration(self) -> float:
        """Virtual-time offset of this run (0 unless time skipping ever skipped)."""
        return self.time_skipping.skipped if self.time_skipping is not None else 0.0

    def upsert_search_attributes(self, fields: Mapping[str, Payload]) -> None:
        """Merge upserted values; an empty or null payload removes the key."""
        current = SearchAttributes.FromString(self.search_attributes)
        _merge(current.indexed_fields, fields)
        self.search_attributes = current.SerializeToString()

    def upsert_memo(self, fields: Mapping[str, Payload]) -> None:
        current = Memo.FromString(self.memo)
        _merge(current.fields, fields)
        self.memo = current.SerializeToString()

    def activity_by_id(self, activity_id: str) -> ActivityInfo | None:
        for info in self.activities.values():
            if info.activity_id == activity_id:
                return info
        return None

    def to_json(self) -> str:
        return json.dumps(_encode(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> MutableState:
        return typing.cast(MutableState, _decode(cls, json.loads(text)))


def _merge(target: Any, fields: Mapping[str, Payload]) -> None:
    for key, payload in fields.items():
        if payload.data in (b"", b"null"):
            target.pop(key, None)
        else:
            target[key].CopyFrom(payload)



_PLAIN = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}  # None: not a dataclass


def _encode(value: Any) -> Any:
    # Runs on every commit: dispatch on the exact type, field names cached per class.
    cls = type(value)
    if cls in _PLAIN:
        return value
    if cls is bytes:
        return base64.b64encode(value).decode("ascii")
    if cls is dict:
        return {str(k): _encode(v) for k, v in value.items()}
    if cls is list:
        return [_encode(v) for v in value]
    try:
        names = _FIELD_NAMES[cls]
    except KeyError:
        names = _FIELD_NAMES[cls] = (
            tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None
        )
    if names is None:
        return value
    return {name: _encode(getattr(value, name)) for name in names}


_HINTS: dict[type, dict[str, Any]] = {}


def _decode(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(inner[0], value)
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_decode(item, v) for v in value]
    if origin is dict:
        key_tp, val_tp = typing.get_args(tp)
        return {key_tp(k): _decode(val_tp, v) for k, v in value.items()}
    if tp is bytes:
        return base64.b64decode(value)
    if dataclasses.is_dataclass(tp):
        hints = _HINTS.get(tp)  # type: ignore[arg-type]
        if hints is None:
            hints = _HINTS[tp] = typing.get_type_hints(tp)  # type: ignore[index]
        return tp(**{k: _decode(hints[k], v) for k, v in value.items() if k in hints})  # type: ignore[operator]
    return value
