"""Compare two workflow histories while ignoring what is legitimately random.

`normalize(history)` turns each event into a tuple

    (event_id, "EventTypeName", ((attribute, value), ...))

keeping the attributes an SDK relies on when it replays a history (links
between events, ids the SDK chose, activity and timer options as the server
stored them, payloads, failures, causes and retry states), and dropping what
differs from one run to the next: timestamps, task ids, run ids, request ids,
identities, worker build ids, history sizes, stack traces and the random
workflow id and task queue names of a scenario.

Workflows related to the one whose history it is (a child, a parent, the
target or sender of an external signal or cancel) have ids built from a
random UUID, and the server writes run ids into some texts (the reason of a
cancel requested by a workflow): every UUID in a text is replaced by
"<uuid>". Local activity markers carry times; only their stable details are
kept. A run that follows another (continue-as-new, retry, cron) starts at
least 1 s after the previous run started (the real server's
history.workflowIdReuseMinimalInterval): its first workflow task backoff is
then 1 s minus the previous run's lifetime, which depends on timing, so such
a backoff (between 0.3 and 1 s) compares as "<1s minus previous run's
lifetime>".

Update events keep all their fields but identities: update ids are chosen
by the scenarios (a random one would be a UUID, compared as "<uuid>").

Proto3 defaults are treated as absent: an attribute whose value is empty, zero
or false is left out, so "unset" and "set to the default" compare equal.

`diff(a, b)` gives a readable report of where two normalized histories part.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.enums.v1 import EventType, TaskQueueKind
from temporalio.api.history.v1 import HistoryEvent

NormalizedEvent = tuple[int, str, tuple[tuple[str, Any], ...]]

# Attributes kept per event type (by the name of the attributes field).
# Event types not listed keep all their fields but those in _DROP.
_KEEP: dict[str, tuple[str, ...]] = {
    "workflow_execution_started_event_attributes": (
        "workflow_type",
        "task_queue",
        "input",
        "workflow_execution_timeout",
        "workflow_run_timeout",
        "workflow_task_timeout",
        "initiator",
        "time_skipping_config",
        "time_skipping_state_propagation",
        "continued_failure",
        "last_completion_result",
        "retry_policy",
        "attempt",
        "cron_schedule",
        "first_workflow_task_backoff",
        "memo",
        "search_attributes",
        "header",
        "parent_workflow_namespace",
        "parent_workflow_execution",
        "parent_initiated_event_id",
        "continued_execution_run_id",
        "eager_execution_accepted",
    ),
    "workflow_execution_completed_event_attributes": (
        "result",
        "workflow_task_completed_event_id",
        "new_execution_run_id",
    ),
    "workflow_execution_failed_event_attributes": (
        "failure",
        "retry_state",
        "workflow_task_completed_event_id",
        "new_execution_run_id",
    ),
    "workflow_execution_timed_out_event_attributes": ("retry_state", "new_execution_run_id"),
    "workflow_task_scheduled_event_attributes": ("task_queue", "start_to_close_timeout", "attempt"),
    "workflow_task_started_event_attributes": (
        "scheduled_event_id",
        "suggest_continue_as_new",
        "suggest_continue_as_new_reasons",
    ),
    "workflow_task_completed_event_attributes": (
        "scheduled_event_id",
        "started_event_id",
        "sdk_metadata",
    ),
    "workflow_task_timed_out_event_attributes": (
        "scheduled_event_id",
        "started_event_id",
        "timeout_type",
    ),
    "workflow_task_failed_event_attributes": (
        "scheduled_event_id",
        "started_event_id",
        "cause",
        "failure",
    ),
    "activity_task_scheduled_event_attributes": (
        "activity_id",
        "activity_type",
        "task_queue",
        "header",
        "input",
        "schedule_to_close_timeout",
        "schedule_to_start_timeout",
        "start_to_close_timeout",
        "heartbeat_timeout",
        "workflow_task_completed_event_id",
        "retry_policy",
    ),
    "activity_task_started_event_attributes": ("scheduled_event_id", "attempt", "last_failure"),
    "activity_task_completed_event_attributes": (
        "result",
        "scheduled_event_id",
        "started_event_id",
    ),
    "activity_task_failed_event_attributes": (
        "failure",
        "scheduled_event_id",
        "started_event_id",
        "retry_state",
    ),
    "activity_task_timed_out_event_attributes": (
        "failure",
        "scheduled_event_id",
        "started_event_id",
        "retry_state",
    ),
    "activity_task_cancel_requested_event_attributes": (
        "scheduled_event_id",
        "workflow_task_completed_event_id",
    ),
    "activity_task_canceled_event_attributes": (
        "details",
        "latest_cancel_requested_event_id",
        "scheduled_event_id",
        "started_event_id",
    ),
    "timer_started_event_attributes": (
        "timer_id",
        "start_to_fire_timeout",
        "workflow_task_completed_event_id",
    ),
    "timer_fired_event_attributes": ("timer_id", "started_event_id"),
    "timer_canceled_event_attributes": (
        "timer_id",
        "started_event_id",
        "workflow_task_completed_event_id",
    ),
    "marker_recorded_event_attributes": (
        "marker_name",
        "details",
        "workflow_task_completed_event_id",
        "header",
        "failure",
    ),
    "workflow_execution_signaled_event_attributes": (
        "signal_name",
        "input",
        "header",
        "skip_generate_workflow_task",
        "external_workflow_execution",
    ),
    "workflow_execution_terminated_event_attributes": ("reason", "details"),
    "workflow_execution_cancel_requested_event_attributes": (
        "cause",
        "external_initiated_event_id",
        "external_workflow_execution",
    ),
    "workflow_execution_canceled_event_attributes": (
        "workflow_task_completed_event_id",
        "details",
    ),
    "workflow_execution_continued_as_new_event_attributes": (
        "new_execution_run_id",
        "workflow_type",
        "task_queue",
        "input",
        "workflow_run_timeout",
        "workflow_task_timeout",
        "workflow_task_completed_event_id",
        "backoff_start_interval",
        "initiator",
        "failure",
        "last_completion_result",
        "header",
        "memo",
        "search_attributes",
    ),
    # Child workflow and external signal / cancel events keep all their fields
    # (but those in _DROP): workflow type, namespace, the initiated / started
    # event id links, parent close policy, the causes of failures.
}

# The details of a local activity marker's "data" payload that do not depend
# on timing (complete_time, original_schedule_time and activation_index do).
_LOCAL_ACTIVITY_MARKER_KEYS = ("seq", "attempt", "activity_id", "activity_type", "backoff")

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# A continued run's first workflow task backoff in this range is taken as the
# minimal interval between runs (1 s) less the previous run's lifetime.
_MIN_INTERVAL_BACKOFF = (0.3, 1.0)

# Fields never compared, wherever they appear: random per run, per process or
# per request, or about worker versioning rather than the workflow.
_DROP = frozenset(
    {
        "identity",
        "request_id",
        "run_id",
        "namespace_id",
        "task_token",
        "stack_trace",
        "history_size_bytes",
        "binary_checksum",
        "worker_version",
        "build_id",
        "build_id_redirect_counter",
        "worker_deployment_version",
        "worker_deployment_name",
        "deployment",
        "deployment_version",
        "versioning_behavior",
        "metering_metadata",
        "original_execution_run_id",
        "first_execution_run_id",
        "prev_auto_reset_points",
        "source_version_stamp",
        "use_workflow_build_id",
        "inherit_build_id",
        "inherited_build_id",
        "root_workflow_execution",
        "links",
    }
)

# Run ids only matter by whether they are there (e.g. a retry or a cron run
# follows); their value is random.
_PRESENCE_ONLY = frozenset(
    {"new_execution_run_id", "continued_execution_run_id", "new_run_id", "base_run_id"}
)


class _Context:
    def __init__(self, task_queue: str | None, workflow_id: str | None) -> None:
        self.task_queue = task_queue
        self.workflow_id = workflow_id

    def queue_name(self, name: str) -> str:
        return "<tq>" if name and name == self.task_queue else name


def _repeated(field: FieldDescriptor) -> bool:
    is_repeated = getattr(field, "is_repeated", None)  # protobuf >= 5.28
    if is_repeated is not None:
        return bool(is_repeated)
    return field.label == FieldDescriptor.LABEL_REPEATED  # type: ignore[attr-defined]


def _is_empty(value: Any) -> bool:
    return value is None or value == () or value == "" or value is False or value == 0


def _camel(enum_name: str) -> str:
    words = enum_name.removeprefix("EVENT_TYPE_").split("_")
    return "".join(w.capitalize() for w in words)


def _enum_name(field: FieldDescriptor, number: int) -> str:
    enum_type = field.enum_type
    assert enum_type is not None
    value = enum_type.values_by_number.get(number)
    if value is None:
        return str(number)
    # TIMEOUT_TYPE_HEARTBEAT -> HEARTBEAT: shorter, and unambiguous in context.
    prefix = _enum_prefix(enum_type.values[0].name)
    name = value.name
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


def _enum_prefix(unspecified_name: str) -> str:
    match = re.match(r"^(.*_)UNSPECIFIED$", unspecified_name)
    return match.group(1) if match else ""


def _payload(msg: Message, ctx: _Context) -> Any:
    data = msg.data  # type: ignore[attr-defined]
    try:
        text: Any = _UUID.sub("<uuid>", data.decode("utf-8"))
    except UnicodeDecodeError:
        text = data
    meta = tuple(
        sorted(
            (k, v.decode("utf-8", "replace"))
            for k, v in msg.metadata.items()  # type: ignore[attr-defined]
        )
    )
    if meta == (("encoding", "json/plain"),):
        return text  # the common case, kept short in reports
    return (meta, text)


def _task_queue(msg: Message, ctx: _Context) -> Any:
    kind = msg.kind  # type: ignore[attr-defined]
    name = ctx.queue_name(msg.name)  # type: ignore[attr-defined]
    if kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY:
        # A sticky queue's name is chosen by the worker process.
        return f"sticky({ctx.queue_name(msg.normal_name)})"  # type: ignore[attr-defined]
    if kind == TaskQueueKind.TASK_QUEUE_KIND_NORMAL:
        return name
    return f"{TaskQueueKind.Name(kind)}({name})"


def _duration(msg: Message, ctx: _Context) -> Any:
    seconds = msg.seconds + msg.nanos / 1e9  # type: ignore[attr-defined]
    return round(seconds, 6)


def _sdk_metadata(msg: Message, ctx: _Context) -> Any:
    # Flags are a set; the SDK sends them in no particular order.
    out = []
    for field, value in msg.ListFields():
        if _repeated(field):
            value = tuple(sorted(value))
        out.append((field.name, value))
    return tuple(out)


def _time_skipping_propagation(msg: Message, ctx: _Context) -> Any:
    # A skipped duration is "target - time of the skip": whole seconds, less
    # the moments between a timer's start and the skip on the real server.
    out = []
    for field, value in msg.ListFields():
        message_type = field.message_type
        if message_type is not None and message_type.full_name == "google.protobuf.Duration":
            out.append((field.name, round(value.seconds + value.nanos / 1e9)))
        elif message_type is None:
            out.append((field.name, value))
    return tuple(out)


_SPECIAL = {
    "temporal.api.common.v1.TimeSkippingStatePropagation": _time_skipping_propagation,
    "temporal.api.common.v1.Payload": _payload,
    "temporal.api.taskqueue.v1.TaskQueue": _task_queue,
    "google.protobuf.Duration": _duration,
    "temporal.api.sdk.v1.WorkflowTaskCompletedMetadata": _sdk_metadata,
    "temporal.api.common.v1.WorkflowType": lambda m, c: m.name,
    "temporal.api.common.v1.ActivityType": lambda m, c: m.name,
    "temporal.api.common.v1.Payloads": lambda m, c: tuple(_payload(p, c) for p in m.payloads),
}

_DROPPED_TYPES = frozenset({"google.protobuf.Timestamp"})


def _message(msg: Message, ctx: _Context) -> Any:
    special = _SPECIAL.get(msg.DESCRIPTOR.full_name)
    if special is not None:
        return special(msg, ctx)
    out = []
    for field, value in msg.ListFields():
        item = _field(field, value, ctx)
        if not _is_empty(item):
            out.append((field.name, item))
    return tuple(out)


def _field(field: FieldDescriptor, value: Any, ctx: _Context) -> Any:
    if field.name in _DROP:
        return None
    if field.name in _PRESENCE_ONLY:
        return bool(value)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        message_type = field.message_type
        assert message_type is not None
        if message_type.full_name in _DROPPED_TYPES:
            return None
        if message_type.GetOptions().map_entry:
            value_field = message_type.fields_by_name["value"]
            return tuple(
                sorted(
                    ((k, _single(value_field, v, ctx)) for k, v in value.items()),
                    key=lambda kv: str(kv[0]),
                )
            )
    if _repeated(field):
        return tuple(_single(field, v, ctx) for v in value)
    return _single(field, value, ctx)


def _single(field: FieldDescriptor, value: Any, ctx: _Context) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return _message(value, ctx)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return None if value == 0 else _enum_name(field, value)
    if field.type == FieldDescriptor.TYPE_STRING and ctx.workflow_id and value == ctx.workflow_id:
        return "<workflow_id>"
    if field.type == FieldDescriptor.TYPE_STRING:
        return _UUID.sub("<uuid>", value)
    if isinstance(value, float):
        return round(value, 9)
    return value


def _marker_details(msg: Message, ctx: _Context) -> Any:
    """A marker's details; for a local activity marker ("core_local_activity"
    in the Python SDK, whose "data" is JSON), only the stable keys of "data"."""
    field: Any = msg.DESCRIPTOR.fields_by_name["details"]
    details = _field(field, msg.details, ctx)  # type: ignore[attr-defined]
    if msg.marker_name != "core_local_activity":  # type: ignore[attr-defined]
        return details
    out = []
    for key, value in details:
        if key == "data" and isinstance(value, tuple):
            kept = []
            for item in value:
                try:
                    data = json.loads(item)
                except (TypeError, ValueError):
                    kept.append(item)
                    continue
                if isinstance(data, dict):
                    data = {k: data.get(k) for k in _LOCAL_ACTIVITY_MARKER_KEYS if k in data}
                kept.append(json.dumps(data, sort_keys=True))
            value = tuple(kept)
        out.append((key, value))
    return tuple(out)


def _continued_run_backoff(attrs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    values = dict(attrs)
    backoff = values.get("first_workflow_task_backoff")
    low, high = _MIN_INTERVAL_BACKOFF
    if values.get("continued_execution_run_id") and isinstance(backoff, float) and low <= backoff < high:
        return [
            (k, "<1s minus previous run's lifetime>" if k == "first_workflow_task_backoff" else v)
            for k, v in attrs
        ]
    return attrs


def _events(history: Any) -> Sequence[HistoryEvent]:
    """Accept a client WorkflowHistory, a History proto or a list of events."""
    events = getattr(history, "events", history)
    return list(events)


def normalize(history: Any) -> list[NormalizedEvent]:
    events = _events(history)
    ctx = _Context(None, None)
    if events and events[0].HasField("workflow_execution_started_event_attributes"):
        started = events[0].workflow_execution_started_event_attributes
        ctx = _Context(started.task_queue.name, started.workflow_id or None)
    out: list[NormalizedEvent] = []
    for event in events:
        which = event.WhichOneof("attributes")
        attrs: list[tuple[str, Any]] = []
        if which is not None:
            msg = getattr(event, which)
            keep = _KEEP.get(which)
            if keep is None:
                fields = [f for f, _ in msg.ListFields()]
            else:
                fields = [msg.DESCRIPTOR.fields_by_name[name] for name in keep]
            for field in fields:
                if field.type == FieldDescriptor.TYPE_MESSAGE and (
                    not _repeated(field) and not msg.HasField(field.name)
                ):
                    continue
                if which == "marker_recorded_event_attributes" and field.name == "details":
                    value = _marker_details(msg, ctx)
                else:
                    value = _field(field, getattr(msg, field.name), ctx)
                if not _is_empty(value):
                    attrs.append((field.name, value))
            if which == "workflow_execution_started_event_attributes":
                attrs = _continued_run_backoff(attrs)
        if event.worker_may_ignore:
            attrs.append(("worker_may_ignore", True))
        out.append((event.event_id, _camel(EventType.Name(event.event_type)), tuple(attrs)))
    return out


# ---------------------------------------------------------------------------
# Reports


def _fmt_value(value: Any) -> str:
    if (
        isinstance(value, tuple)
        and value
        and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value)
    ):
        return "{" + ", ".join(f"{k}={_fmt_value(v)}" for k, v in value) + "}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_fmt_value(v) for v in value) + "]"
    return repr(value)


def format_event(event: NormalizedEvent) -> str:
    event_id, name, attrs = event
    body = " ".join(f"{k}={_fmt_value(v)}" for k, v in attrs)
    return f"{event_id:>3} {name}" + (f" {body}" if body else "")


def format_history(events: Iterable[NormalizedEvent]) -> str:
    return "\n".join(format_event(e) for e in events)


def diff(
    a: Sequence[NormalizedEvent],
    b: Sequence[NormalizedEvent],
    *,
    a_name: str = "reference",
    b_name: str = "temporallite",
    max_lines: int = 80,
) -> str:
    """A readable report of where `a` and `b` differ ("" when equal)."""
    a, b = list(a), list(b)
    if a == b:
        return ""
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    lines = [
        f"histories differ from event {first + 1} on ({a_name}: {len(a)} events, {b_name}: {len(b)} events)"
    ]
    if first < len(a) and first < len(b):
        lines.append(f"  {a_name:>12}: {format_event(a[first])}")
        lines.append(f"  {b_name:>12}: {format_event(b[first])}")
        _, _, attrs_a = a[first]
        _, _, attrs_b = b[first]
        da, db = dict(attrs_a), dict(attrs_b)
        if a[first][1] == b[first][1]:
            for key in sorted(set(da) | set(db)):
                if da.get(key) != db.get(key):
                    lines.append(
                        f"    {key}: {a_name}={_fmt_value(da.get(key))} {b_name}={_fmt_value(db.get(key))}"
                    )
    elif first < len(a):
        lines.append(f"  only in {a_name}: {format_event(a[first])}")
    else:
        lines.append(f"  only in {b_name}: {format_event(b[first])}")
    lines.append("")
    udiff = list(
        difflib.unified_diff(
            [format_event(e) for e in a],
            [format_event(e) for e in b],
            fromfile=a_name,
            tofile=b_name,
            n=3,
            lineterm="",
        )
    )
    if len(udiff) > max_lines:
        udiff = udiff[:max_lines] + [f"... ({len(udiff) - max_lines} more diff lines)"]
    lines.extend(udiff)
    return "\n".join(lines)
