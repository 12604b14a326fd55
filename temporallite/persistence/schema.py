"""The SQLite schema. Bump SCHEMA_VERSION with every change."""

SCHEMA_VERSION = 1

SCHEMA = """
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

-- Visibility: one row per run, written with the state change.
CREATE TABLE IF NOT EXISTS visibility (
    namespace_id TEXT NOT NULL,
    run_id TEXT NOT NULL PRIMARY KEY,
    workflow_id TEXT NOT NULL,
    workflow_type TEXT NOT NULL,
    task_queue TEXT NOT NULL,
    status INTEGER NOT NULL,
    start_time REAL NOT NULL,
    execution_time REAL NOT NULL,
    close_time REAL,
    history_length INTEGER,
    info BLOB NOT NULL            -- serialized WorkflowExecutionInfo
);
CREATE INDEX IF NOT EXISTS visibility_ns_start ON visibility (namespace_id, start_time);
"""
