"""Search attributes as the real server (1.32, SQL visibility) defines them.

Three kinds of names exist:

- *system* attributes (WorkflowId, StartTime, ExecutionStatus …): columns of
  the visibility row, never set by users;
- *predefined* attributes (BuildIds, TemporalChangeVersion, BatcherUser …):
  stored with the user's attributes; a whitelisted subset may be set by users;
- *custom* attributes: on SQL visibility the real server pre-allocates typed
  fields (Bool01-03, Datetime01-03, Double01-03, Int01-03, Keyword01-10,
  KeywordList01-03, Text01-03) and a namespace maps its aliases onto them. The
  number of custom attributes per type is therefore limited exactly as on the
  real dev server.

A namespace's aliases live in the namespace registry (persisted with the
namespace). The history engine and the visibility writer only know a run's
namespace id, so the registry publishes each namespace's attributes here,
keyed by namespace id (ids are unique UUIDs per database).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.enums.v1 import IndexedValueType, WorkflowExecutionStatus

if TYPE_CHECKING:
    from temporallite.config import ServerConfig
    from temporallite.namespaces import NamespaceRegistry

T = IndexedValueType
TEXT = T.INDEXED_VALUE_TYPE_TEXT
KEYWORD = T.INDEXED_VALUE_TYPE_KEYWORD
INT = T.INDEXED_VALUE_TYPE_INT
DOUBLE = T.INDEXED_VALUE_TYPE_DOUBLE
BOOL = T.INDEXED_VALUE_TYPE_BOOL
DATETIME = T.INDEXED_VALUE_TYPE_DATETIME
KEYWORD_LIST = T.INDEXED_VALUE_TYPE_KEYWORD_LIST


def _camel(enum_name: str, prefix: str) -> str:
    return "".join(part.capitalize() for part in enum_name.removeprefix(prefix).split("_"))


# IndexedValueType → the name the server prints ("Keyword", "KeywordList" …).
TYPE_NAMES: dict[int, str] = {
    value: _camel(name, "INDEXED_VALUE_TYPE_") for name, value in T.items()
}
TYPES_BY_NAME: dict[str, int] = {name.lower(): value for value, name in TYPE_NAMES.items()}

# ExecutionStatus: "Running" or "WORKFLOW_EXECUTION_STATUS_RUNNING" → 1.
STATUS_NAMES: dict[int, str] = {
    value: _camel(name, "WORKFLOW_EXECUTION_STATUS_")
    for name, value in WorkflowExecutionStatus.items()
}
STATUS_BY_NAME: dict[str, int] = {
    **{name: value for value, name in STATUS_NAMES.items()},
    **dict(WorkflowExecutionStatus.items()),
}

SYSTEM: dict[str, int] = {
    "WorkflowId": KEYWORD,
    "RunId": KEYWORD,
    "WorkflowType": KEYWORD,
    "StartTime": DATETIME,
    "ExecutionTime": DATETIME,
    "CloseTime": DATETIME,
    "ExecutionStatus": KEYWORD,
    "TaskQueue": KEYWORD,
    "HistoryLength": INT,
    "ExecutionDuration": INT,
    "StateTransitionCount": INT,
    "HistorySizeBytes": INT,
    "ParentWorkflowId": KEYWORD,
    "ParentRunId": KEYWORD,
    "RootWorkflowId": KEYWORD,
    "RootRunId": KEYWORD,
}

# System attribute → visibility table column.
SYSTEM_COLUMNS: dict[str, str] = {
    "WorkflowId": "workflow_id",
    "RunId": "run_id",
    "WorkflowType": "workflow_type",
    "StartTime": "start_time",
    "ExecutionTime": "execution_time",
    "CloseTime": "close_time",
    "ExecutionStatus": "status",
    "TaskQueue": "task_queue",
    "HistoryLength": "history_length",
    "ExecutionDuration": "execution_duration",
    "StateTransitionCount": "state_transition_count",
    "HistorySizeBytes": "history_size_bytes",
    "ParentWorkflowId": "parent_workflow_id",
    "ParentRunId": "parent_run_id",
    "RootWorkflowId": "root_workflow_id",
    "RootRunId": "root_run_id",
}

PREDEFINED: dict[str, int] = {
    "TemporalChangeVersion": KEYWORD_LIST,
    "BinaryChecksums": KEYWORD_LIST,
    "BuildIds": KEYWORD_LIST,
    "BatcherNamespace": KEYWORD,
    "BatcherUser": KEYWORD,
    "TemporalScheduledStartTime": DATETIME,
    "TemporalScheduledById": KEYWORD,
    "TemporalSchedulePaused": BOOL,
    "TemporalNamespaceDivision": KEYWORD,
    "TemporalPauseInfo": KEYWORD_LIST,
    "TemporalReportedProblems": KEYWORD_LIST,
    "TemporalWorkerDeploymentVersion": KEYWORD,
    "TemporalWorkflowVersioningBehavior": KEYWORD,
    "TemporalWorkerDeployment": KEYWORD,
    "TemporalUsedWorkerDeploymentVersions": KEYWORD_LIST,
    "TemporalExternalPayloadCount": INT,
    "TemporalExternalPayloadSizeBytes": INT,
}

# Predefined attributes a workflow (or a start request) may set.
PREDEFINED_SETTABLE = frozenset(
    {
        "TemporalChangeVersion",
        "BinaryChecksums",
        "BuildIds",
        "BatcherNamespace",
        "BatcherUser",
        "TemporalScheduledStartTime",
        "TemporalScheduledById",
        "TemporalSchedulePaused",
        "TemporalNamespaceDivision",
        "TemporalPauseInfo",
        "TemporalReportedProblems",
    }
)

# Names that are neither attributes nor usable as aliases.
RESERVED = frozenset({"NamespaceId", "MemoEncoding", "Memo", "VisibilityTaskKey"})
RESERVED_PREFIX = "Temporal"

# The pre-allocated custom fields of SQL visibility: per type, how many.
PREALLOCATED_COUNTS: dict[int, int] = {
    BOOL: 3,
    DATETIME: 3,
    DOUBLE: 3,
    INT: 3,
    KEYWORD: 10,
    KEYWORD_LIST: 3,
    TEXT: 3,
}
PREALLOCATED: dict[str, int] = {
    f"{TYPE_NAMES[tp]}{i:02d}": tp
    for tp, count in PREALLOCATED_COUNTS.items()
    for i in range(1, count + 1)
}

# Every non-system field with a column of its own (named as the field).
FIELD_COLUMNS: dict[str, int] = {**PREDEFINED, **PREALLOCATED}
TEXT_COLUMNS = [name for name, tp in FIELD_COLUMNS.items() if tp == TEXT]
KEYWORD_LIST_COLUMNS = [name for name, tp in FIELD_COLUMNS.items() if tp == KEYWORD_LIST]

# The real server's defaults of limit.searchAttributesSizeOfValue (the data
# of one value) and limit.searchAttributesTotalSize (the serialized
# SearchAttributes, keyed by field names). Its third limit,
# limit.searchAttributesNumberOfKeys (100), cannot be reached with SQL
# visibility: an unknown name fails first, and fewer names than that exist.
VALUE_SIZE_LIMIT = 2048
TOTAL_SIZE_LIMIT = 40 * 1024

# KeywordList values are stored joined by this separator, which is also the
# only separator of the full-text tokenizer that indexes them.
KEYWORD_LIST_SEPARATOR = "\u2661"


def is_reserved(name: str) -> bool:
    """Names that cannot be used for a custom attribute."""
    return (
        name in SYSTEM or name in PREDEFINED or name in RESERVED or name.startswith(RESERVED_PREFIX)
    )


def system_and_predefined() -> dict[str, int]:
    """What ListSearchAttributes returns as system attributes."""
    return {**SYSTEM, **PREDEFINED}


def all_field_types() -> dict[str, int]:
    """System, predefined and pre-allocated fields: what GetSearchAttributes lists."""
    return {**SYSTEM, **PREDEFINED, **PREALLOCATED}


# ---- errors ---------------------------------------------------------------


class SearchAttributeError(ValueError):
    """A search attribute that cannot be written; the message is the real server's."""


class UnmappedSearchAttribute(SearchAttributeError):
    """A name that is neither a system, a predefined attribute nor one of the
    namespace's aliases (the real server finds it while unaliasing, before
    any other check)."""


class SearchAttributeSizeError(SearchAttributeError):
    """A value, or all attributes together, over the size limits (a workflow
    command that breaks them terminates the workflow on the real server)."""


# ---- datetimes ------------------------------------------------------------

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})\Z"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_rfc3339(text: str) -> int:
    """RFC 3339 (with optional fraction) → nanoseconds since the epoch, UTC.
    Strict as Go's time.Parse(time.RFC3339Nano): ValueError otherwise."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(text)
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7) or "", m.group(8)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(text)
    base = datetime(year, month, day, hour, minute, second, tzinfo=UTC)  # ValueError if bad
    seconds = int((base - _EPOCH).total_seconds())
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 23 or zm > 59:
            raise ValueError(text)
        seconds -= sign * (zh * 3600 + zm * 60)
    nanos = int((frac + "000000000")[:9]) if frac else 0
    return seconds * 1_000_000_000 + nanos


def format_rfc3339(nanos: int) -> str:
    """Nanoseconds since the epoch → RFC 3339 in UTC, as Go's RFC3339Nano
    writes it (trailing zeros of the fraction dropped)."""
    seconds, frac = divmod(nanos, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


# How SQL visibility stores a Datetime search attribute, and how the real
# server writes a datetime literal to compare with it (Go layout
# "2006-01-02 15:04:05.999999-07:00", in UTC).
DATETIME_COLUMN_SQL = "strftime('%Y-%m-%d %H:%M:%f+00:00', ?)"


def datetime_literal(nanos: int) -> str:
    seconds, frac = divmod(nanos, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
    micros = f"{frac // 1000:06d}".rstrip("0")
    return text + (f".{micros}" if micros else "") + "+00:00"


def truncate_micros(nanos: int) -> int:
    """Datetimes are compared at microsecond precision, as stored by SQL visibility."""
    return nanos - nanos % 1000


# ---- values -----------------------------------------------------------------


def go_format(value: Any) -> str:
    """A decoded JSON value as Go's %v prints it (for error messages)."""
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float | int):
        return go_float(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_format(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, bytes):
        return "[" + " ".join(str(b) for b in value) + "]"
    return str(value)


def go_float(value: float) -> str:
    """A float64 as Go's %v prints it: shortest form, exponent from 1e21."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-")
        return f"{mantissa}e{sign}{int(digits):02d}"
    return text


def _payload_json(payload: Payload) -> Any:
    """The JSON value of a payload; bytes for a binary one; ValueError if not decodable."""
    encoding = payload.metadata.get("encoding", b"")
    if encoding == b"binary/null":
        return None
    if encoding == b"binary/plain":
        return bytes(payload.data)
    if encoding not in (b"json/plain", b""):
        raise ValueError("unsupported encoding")
    return json.loads(payload.data)


def is_null(payload: Payload) -> bool:
    """A payload that removes the attribute (null / empty)."""
    if payload.metadata.get("encoding") == b"binary/null" or payload.data in (b"", b"null"):
        return True
    return False


def decode_value(payload: Payload, value_type: int) -> Any:
    """The typed value of a search attribute payload: str, int, float, bool,
    datetime as nanoseconds, list[str]. ValueError when the payload does not
    hold a value of the type (null is not a value)."""
    return typed_value(_payload_json(payload), value_type)


def typed_value(value: Any, value_type: int) -> Any:
    """A decoded JSON value checked against the type (ValueError if it does not fit)."""
    if value_type in (KEYWORD, TEXT):
        if isinstance(value, str):
            return value
    elif value_type == INT:
        if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
            return value
    elif value_type == DOUBLE:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif value_type == BOOL:
        if isinstance(value, bool):
            return value
    elif value_type == DATETIME:
        if isinstance(value, str):
            return parse_rfc3339(value)
    elif value_type == KEYWORD_LIST:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    raise ValueError(go_format(value))


def invalid_value_message(name: str, value_type: int, payload: Payload) -> str:
    try:
        shown = go_format(_payload_json(payload))
    except ValueError:
        shown = f"value from <{payload}>"
    return (
        f"invalid value for search attribute {name} of type {TYPE_NAMES[value_type]}: {shown}"
    )


def normalize_rfc3339(text: str) -> str:
    """A datetime as Go writes it back (RFC3339Nano): same instant and offset,
    "Z" for a zero offset, no trailing zeros in the fraction."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(text)
    frac, zone = (m.group(7) or "")[:9].rstrip("0"), m.group(8)
    if zone in ("+00:00", "-00:00"):
        zone = "Z"
    return text[: m.start(7) - 1 if m.group(7) else m.start(8)] + (f".{frac}" if frac else "") + zone


def go_json_float(value: float) -> str:
    """A float64 as Go's encoding/json writes it: the shortest digits, in
    plain notation between 1e-6 and 1e21, else with an exponent."""
    if value == 0 or 1e-6 <= abs(value) < 1e21:
        from decimal import Decimal  # rarely needed; not worth its import at start-up

        text = format(Decimal(repr(value)), "f")
        return text[:-2] if text.endswith(".0") else text
    text = repr(value)
    if "e-0" in text:
        text = text.replace("e-0", "e-")
    return text


def go_json_string(value: str) -> str:
    """A string as Go's encoding/json writes it: UTF-8, with <, > and &
    escaped for HTML safety."""
    text = json.dumps(value, ensure_ascii=False)
    for ch, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                       ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, escape)
    return text


def canonical_json(value: Any, value_type: int) -> bytes:
    """A (valid) decoded value re-encoded as the real server returns it from
    visibility (decoded with its type, then encoded again by Go)."""
    if value_type == DATETIME:
        text = go_json_string(normalize_rfc3339(value))
    elif value_type == DOUBLE:
        text = go_json_float(float(value))
    elif value_type == KEYWORD_LIST:
        text = "[" + ",".join(go_json_string(v) for v in value) + "]"
    elif value_type in (KEYWORD, TEXT):
        text = go_json_string(value)
    else:
        text = json.dumps(value)
    return text.encode()


# ---- per-namespace attributes ---------------------------------------------


@dataclass(frozen=True)
class Attribute:
    """A resolved search attribute: the name the user wrote, the field it
    maps to (a system attribute, a predefined or a pre-allocated field) and its type."""

    alias: str
    field: str
    value_type: int

    @property
    def column(self) -> str:
        return SYSTEM_COLUMNS.get(self.field, self.field)


class UnknownAttribute(LookupError):
    pass


@dataclass
class NamespaceSearchAttributes:
    """The search attributes of one namespace: custom aliases over the
    pre-allocated fields (field → alias, as the real namespace config keeps them)."""

    namespace: str = ""
    aliases: dict[str, str] = field(default_factory=dict)
    by_alias: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_alias = {alias: fld for fld, alias in self.aliases.items()}

    def custom(self) -> dict[str, int]:
        """alias → type, what ListSearchAttributes returns as custom attributes."""
        return {alias: PREALLOCATED[fld] for fld, alias in self.aliases.items()}

    # -- queries

    def resolve(self, name: str) -> Attribute:
        """The attribute a query names (alias, field name or predefined name)."""
        if name.startswith(RESERVED_PREFIX):
            fld = "BuildIds" if name == RESERVED_PREFIX + "BuildIds" else name
            tp = SYSTEM.get(fld) or FIELD_COLUMNS.get(fld)
            if tp is None:
                raise UnknownAttribute(name)
            return Attribute(name, fld, tp)
        if name not in SYSTEM and name not in PREDEFINED:
            aliased = self.by_alias.get(name)
            if aliased is not None:
                return Attribute(name, aliased, PREALLOCATED[aliased])
            if name == "ScheduleId":
                return Attribute(name, "WorkflowId", KEYWORD)
        for candidate in (name, RESERVED_PREFIX + name):
            tp = SYSTEM.get(candidate) or FIELD_COLUMNS.get(candidate)
            if tp is not None:
                return Attribute(name, candidate, tp)
        raise UnknownAttribute(name)

    # -- writes

    def writable(self, name: str) -> Attribute:
        """The attribute a start request or an upsert may set; raises
        SearchAttributeError with the real server's message otherwise."""
        if name in SYSTEM or (name in PREDEFINED and name not in PREDEFINED_SETTABLE):
            raise SearchAttributeError(f"{name} attribute can't be set in SearchAttributes")
        if name in PREDEFINED:
            return Attribute(name, name, PREDEFINED[name])
        fld = self.by_alias.get(name)
        if fld is None:
            raise self._unmapped(name)
        return Attribute(name, fld, PREALLOCATED[fld])

    def _unmapped(self, name: str) -> UnmappedSearchAttribute:
        return UnmappedSearchAttribute(
            f"Namespace {self.namespace} has no mapping defined for search attribute {name}"
        )

    def unaliased(self, attributes: SearchAttributes) -> SearchAttributes:
        """The attributes keyed by field names, as the real server keeps them
        (system and predefined names stay as they are). Raises
        UnmappedSearchAttribute for a name the namespace does not know."""
        result = SearchAttributes()
        for name, payload in attributes.indexed_fields.items():
            fld = name if name in SYSTEM or name in PREDEFINED else self.by_alias.get(name)
            if fld is None:
                raise self._unmapped(name)
            result.indexed_fields[fld].CopyFrom(payload)
        return result

    def check_values(self, attributes: SearchAttributes) -> None:
        """Every attribute may be set and its value fits its type
        (SearchAttributeError otherwise)."""
        for name, payload in attributes.indexed_fields.items():
            attr = self.writable(name)
            if is_null(payload):
                continue
            try:
                decode_value(payload, attr.value_type)
            except ValueError:
                raise SearchAttributeError(
                    invalid_value_message(name, attr.value_type, payload)
                ) from None

    @staticmethod
    def check_sizes(attributes: SearchAttributes, fields: SearchAttributes) -> None:
        """The size limits: each value of `attributes`, then the total size of
        `fields` (the attributes to keep, keyed by field names)."""
        for name, payload in attributes.indexed_fields.items():
            if len(payload.data) > VALUE_SIZE_LIMIT:
                raise SearchAttributeSizeError(
                    f"search attribute {name} value size {len(payload.data)}"
                    f" exceeds size limit {VALUE_SIZE_LIMIT}"
                )
        total = fields.ByteSize()
        if total > TOTAL_SIZE_LIMIT:
            raise SearchAttributeSizeError(
                f"total size of search attributes {total} exceeds size limit {TOTAL_SIZE_LIMIT}"
            )

    def validate(self, attributes: SearchAttributes) -> None:
        """All checks of a start request, in the real server's order."""
        fields = self.unaliased(attributes)
        self.check_values(attributes)
        self.check_sizes(attributes, fields)

    def merged_fields(self, current: bytes, upserted: SearchAttributes) -> SearchAttributes:
        """A run's attributes (serialized, keyed by alias) after an upsert,
        keyed by field names: what the total size limit is checked on."""
        result = SearchAttributes()
        if current:
            for name, payload in SearchAttributes.FromString(current).indexed_fields.items():
                attr = self.stored(name)
                result.indexed_fields[attr.field if attr else name].CopyFrom(payload)
        for name, payload in self.unaliased(upserted).indexed_fields.items():
            if is_null(payload):
                result.indexed_fields.pop(name, None)
            else:
                result.indexed_fields[name].CopyFrom(payload)
        return result

    def stored(self, name: str) -> Attribute | None:
        """The field a run's attribute is kept in (None: no longer mapped)."""
        if name in PREDEFINED:
            return Attribute(name, name, PREDEFINED[name])
        fld = self.by_alias.get(name)
        return Attribute(name, fld, PREALLOCATED[fld]) if fld is not None else None

    def index(self, attributes: SearchAttributes) -> tuple[SearchAttributes, dict[str, Any]]:
        """A run's attributes for its visibility record, each decoded once:
        the attributes as List returns them (typed and re-encoded as the real
        server does; those whose alias was removed are left out) and the
        value of each field column."""
        listed = SearchAttributes()
        columns: dict[str, Any] = {}
        for name, payload in attributes.indexed_fields.items():
            attr = self.stored(name)
            if attr is None or is_null(payload):
                continue
            try:
                raw = _payload_json(payload)
                typed_value(raw, attr.value_type)
            except ValueError:
                listed.indexed_fields[name].CopyFrom(payload)  # kept as sent, not indexed
                listed.indexed_fields[name].metadata["type"] = TYPE_NAMES[attr.value_type].encode()
                continue
            listed.indexed_fields[name].CopyFrom(
                Payload(
                    metadata={"encoding": b"json/plain", "type": TYPE_NAMES[attr.value_type].encode()},
                    data=canonical_json(raw, attr.value_type),
                )
            )
            columns[attr.field] = column_value(raw, attr.value_type)
        return listed, columns


def column_value(raw: Any, value_type: int) -> Any:
    """A (valid) decoded value as its visibility column keeps it.

    Datetime fields keep the RFC 3339 text the real server stores; the
    column turns it into SQLite's 'YYYY-MM-DD HH:MM:SS.SSS+00:00' as the real
    schema's generated columns do (see rows.py), and queries compare it as
    text, as the real server does (so `=` only matches a value written with
    exactly three fraction digits, a real-server quirk kept on purpose)."""
    if value_type == KEYWORD_LIST:
        return KEYWORD_LIST_SEPARATOR.join(raw) if raw else None
    if value_type == BOOL:
        return int(raw)
    if value_type == DOUBLE:
        return float(raw)
    if value_type == DATETIME:
        return normalize_rfc3339(raw)
    return raw


# ---- adding and removing custom attributes (SQL visibility rules) ---------


def add_aliases(
    current: dict[str, str], requested: dict[str, int]
) -> dict[str, str]:
    """The namespace's new field → alias map after adding `requested`
    (alias → type). Aliases that exist are left as they are, as the real
    server does; raises SearchAttributeError when a type has no free field."""
    result = dict(current)
    taken = {alias for alias in result.values()}
    for alias, value_type in requested.items():
        if alias in taken:
            continue
        free = [
            fld for fld, tp in PREALLOCATED.items() if tp == value_type and fld not in result
        ]
        if not free:
            count = PREALLOCATED_COUNTS.get(value_type, 0)
            raise SearchAttributeError(
                "Unable to create search attributes: cannot have more than"
                f" {count} search attribute of type {TYPE_NAMES[value_type]}."
            )
        result[free[0]] = alias
        taken.add(alias)
    return result


def validate_new_aliases(requested: dict[str, int]) -> None:
    """The request-level checks of AddSearchAttributes."""
    for alias, value_type in requested.items():
        if is_reserved(alias):
            raise SearchAttributeError(f"Search attribute {alias} is reserved by system.")
        if value_type not in TYPE_NAMES:
            raise SearchAttributeError(f"Unknown search attribute type: {value_type}.")


def remove_aliases(current: dict[str, str], names: list[str]) -> dict[str, str]:
    """The field → alias map without `names`. Unknown names are ignored, as
    the real server does; system and pre-allocated names cannot be removed."""
    by_alias = {alias: fld for fld, alias in current.items()}
    result = dict(current)
    for name in names:
        fld = by_alias.get(name)
        if fld is not None:
            result.pop(fld, None)
            continue
        if name in SYSTEM or name in FIELD_COLUMNS:
            raise SearchAttributeError(f"Unable to remove non-custom search attributes: {name}.")
    return result


# ---- the process-wide index by namespace id --------------------------------

_BY_NAMESPACE_ID: dict[str, NamespaceSearchAttributes] = {}


def publish(namespace_id: str, namespace: str, aliases: dict[str, str]) -> None:
    """Make a namespace's attributes known to the engine and the visibility writer."""
    _BY_NAMESPACE_ID[namespace_id] = NamespaceSearchAttributes(namespace, dict(aliases))


def for_namespace(namespace_id: str) -> NamespaceSearchAttributes:
    found = _BY_NAMESPACE_ID.get(namespace_id)
    return found if found is not None else NamespaceSearchAttributes()


def parse_type_name(name: str) -> int:
    """"Keyword", "keywordlist", "Datetime" … → IndexedValueType; ValueError otherwise."""
    value_type = TYPES_BY_NAME.get(name.strip().lower())
    if value_type is None or value_type not in PREALLOCATED_COUNTS:
        names = ", ".join(TYPE_NAMES[t] for t in PREALLOCATED_COUNTS)
        raise ValueError(f"unknown search attribute type {name!r} (one of {names})")
    return value_type


async def register_search_attributes(namespaces: NamespaceRegistry, config: ServerConfig) -> None:
    """Register the configured custom attributes in every configured
    namespace, before the server answers (no race with the first client)."""
    if not config.search_attributes:
        return
    requested: dict[str, int] = {}
    for name, type_name in config.search_attributes.items():
        if is_reserved(name):
            raise ValueError(f"search attribute {name} is reserved by the system")
        requested[name] = parse_type_name(type_name)
    for ns_name in dict.fromkeys(["default", *config.namespaces]):
        ns = namespaces.get(ns_name)
        existing = for_namespace(ns.id).custom()
        for name, value_type in requested.items():
            if name in existing and existing[name] != value_type:
                raise ValueError(
                    f"search attribute {name} is already registered in namespace {ns_name}"
                    f" as {TYPE_NAMES[existing[name]]}"
                )
        try:
            await namespaces.add_search_attributes(ns, requested)
        except SearchAttributeError as exc:
            raise ValueError(str(exc)) from None
