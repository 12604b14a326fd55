"""The SQLite schema. Bump SCHEMA_VERSION with every change."""

from temporallite.visibility.search_attributes import (
    DOUBLE,
    FIELD_COLUMNS,
    KEYWORD,
    KEYWORD_LIST,
    KEYWORD_LIST_COLUMNS,
    TEXT,
    TEXT_COLUMNS,
)

SCHEMA_VERSION = 3

# Test-server mode: how far the virtual clock is ahead of the wall clock, so a
# database file keeps its time across restarts. (Added in version 3.)
CLOCK_SCHEMA = """
CREATE TABLE IF NOT EXISTS server_clock (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    skipped REAL NOT NULL
);
"""

# Statements that bring a database of the key's version to the next one.
MIGRATIONS = {2: CLOCK_SCHEMA}

CORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS namespaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    info TEXT NOT NULL            -- JSON: description, owner, retention, data
);

-- One row per run: the mutable-state snapshot (JSON), versioned.
CREATE TABLE IF NOT EXISTS executions (
    namespace_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    is_open INTEGER NOT NULL,
    db_version INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (namespace_id, workflow_id, run_id)
);
CREATE INDEX IF NOT EXISTS executions_open ON executions (is_open) WHERE is_open = 1;
CREATE UNIQUE INDEX IF NOT EXISTS executions_run ON executions (run_id);

-- The current (latest) run of each workflow id.
CREATE TABLE IF NOT EXISTS current_executions (
    namespace_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (namespace_id, workflow_id)
);

-- Append-only history: one row per batch of events (a serialized History).
CREATE TABLE IF NOT EXISTS history (
    run_id TEXT NOT NULL,
    first_event_id INTEGER NOT NULL,
    last_event_id INTEGER NOT NULL,
    events BLOB NOT NULL,
    PRIMARY KEY (run_id, first_event_id)
);
"""

# Visibility: one row per run, written in the same transaction as the state
# change. Times are integer nanoseconds (UTC, microsecond precision); a
# running run has no close time, history length, size, transition count or
# duration. Search attributes have a column each (named as the field: the
# predefined ones and the pre-allocated custom fields a namespace maps its
# aliases onto); Text and KeywordList columns are also indexed for full-text
# matching, with the tokenizers of the real server's SQLite visibility.
# `close_order` is the close time, or the largest integer while running: the
# list order is running first, then latest closed, then latest started.
# Bool, Int and Datetime are integers; Keyword, Text and KeywordList text.
_SQL_TYPES: dict[int, str] = {DOUBLE: "REAL", TEXT: "TEXT", KEYWORD: "TEXT", KEYWORD_LIST: "TEXT"}


def _field_column(name: str, value_type: int) -> str:
    return f"    {name} {_SQL_TYPES.get(value_type, 'INTEGER')}"


_ORDER = "close_order DESC, start_time DESC, run_id"
# Filters worth an index, each in list order so a page is read straight off
# it. Custom and predefined fields get partial indexes: rows without a value
# cost nothing to index. The namespace is only in the order index: one
# namespace per database is the common case, and the shorter entries make
# every write cheaper (the namespace is then checked on the rows found).
_SYSTEM_INDEXED = ["workflow_id", "workflow_type", "status", "task_queue"]
_SPARSE_INDEXED = ["parent_workflow_id"] + [
    name
    for name, value_type in FIELD_COLUMNS.items()
    if name not in TEXT_COLUMNS and name not in KEYWORD_LIST_COLUMNS
]


def _visibility_schema() -> str:
    columns = ",\n".join(_field_column(n, t) for n, t in FIELD_COLUMNS.items())
    parts = [
        f"""
CREATE TABLE IF NOT EXISTS visibility (
    run_id TEXT NOT NULL PRIMARY KEY,
    namespace_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    workflow_type TEXT NOT NULL,
    task_queue TEXT NOT NULL,
    status INTEGER NOT NULL,
    start_time INTEGER NOT NULL,
    execution_time INTEGER NOT NULL,
    close_time INTEGER,
    close_order INTEGER NOT NULL,
    history_length INTEGER,
    history_size_bytes INTEGER,
    execution_duration INTEGER,
    state_transition_count INTEGER,
    parent_workflow_id TEXT,
    parent_run_id TEXT,
    root_workflow_id TEXT NOT NULL,
    root_run_id TEXT NOT NULL,
{columns},
    info BLOB NOT NULL            -- serialized WorkflowExecutionInfo, as listed
);
-- The list order; status and the namespace division (filtered by every
-- query) make it cover Count and GROUP BY ExecutionStatus.
CREATE INDEX IF NOT EXISTS visibility_order
    ON visibility (namespace_id, {_ORDER}, status, TemporalNamespaceDivision);
"""
    ]
    for column in _SYSTEM_INDEXED:
        parts.append(
            f"CREATE INDEX IF NOT EXISTS visibility_by_{column.lower()}"
            f" ON visibility ({column}, {_ORDER});\n"
        )
    for column in _SPARSE_INDEXED:
        parts.append(
            f"CREATE INDEX IF NOT EXISTS visibility_by_{column.lower()}"
            f" ON visibility ({column}, {_ORDER}) WHERE {column} IS NOT NULL;\n"
        )
    parts.append(_fts("visibility_fts_text", TEXT_COLUMNS, "unicode61 remove_diacritics 2"))
    parts.append(
        _fts(
            "visibility_fts_keyword_list",
            KEYWORD_LIST_COLUMNS,
            "unicode61 remove_diacritics 0 categories 'C* L* M* N* P* S* Z*' separators '\u2661'",
        )
    )
    return "".join(parts)


def _fts(table: str, columns: list[str], tokenize: str) -> str:
    """An external-content full-text table over visibility, kept in sync by
    triggers that touch it only when one of its columns has a value or changes.
    An update is one trigger: the old entry must go before the new one comes
    (SQLite does not promise an order between triggers)."""
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    any_new = " OR ".join(f"new.{c} IS NOT NULL" for c in columns)
    any_old = " OR ".join(f"old.{c} IS NOT NULL" for c in columns)
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)
    return f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING fts5 (
    {cols}, content='visibility', tokenize="{tokenize}"
);
CREATE TRIGGER IF NOT EXISTS {table}_ai AFTER INSERT ON visibility WHEN {any_new}
BEGIN
    INSERT INTO {table} (rowid, {cols}) VALUES (new.rowid, {new});
END;
CREATE TRIGGER IF NOT EXISTS {table}_ad AFTER DELETE ON visibility WHEN {any_old}
BEGIN
    INSERT INTO {table} ({table}, rowid, {cols}) VALUES ('delete', old.rowid, {old});
END;
CREATE TRIGGER IF NOT EXISTS {table}_au AFTER UPDATE ON visibility WHEN {changed}
BEGIN
    INSERT INTO {table} ({table}, rowid, {cols})
        SELECT 'delete', old.rowid, {old} WHERE {any_old};
    INSERT INTO {table} (rowid, {cols}) SELECT new.rowid, {new} WHERE {any_new};
END;
"""


SCHEMA = CORE_SCHEMA + CLOCK_SCHEMA + _visibility_schema()
