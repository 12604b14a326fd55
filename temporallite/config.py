"""Server configuration, shared by the CLI and the embedding API."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExecutionLimits:
    """Per-execution limits, with the real server's defaults and dynamic
    config keys (LIMIT_KEYS). A limit of 0 or less is no limit."""

    # limit.historyCount.*: events; past `error` the run is terminated.
    history_count_error: int = 50 * 1024
    history_count_warn: int = 10 * 1024
    history_count_suggest_continue_as_new: int = 4 * 1024
    # limit.historySize.*: bytes of history.
    history_size_error: int = 50 * 1024 * 1024
    history_size_warn: int = 10 * 1024 * 1024
    history_size_suggest_continue_as_new: int = 4 * 1024 * 1024
    # history.maximumSignalsPerExecution: signals a run accepts.
    max_signals_per_execution: int = 10000
    # limit.numPending*.error: what a workflow task may leave pending.
    pending_activities: int = 2000
    pending_child_executions: int = 2000
    pending_signals: int = 2000
    pending_cancel_requests: int = 2000


# Dynamic config key → ExecutionLimits field.
LIMIT_KEYS: dict[str, str] = {
    "limit.historyCount.error": "history_count_error",
    "limit.historyCount.warn": "history_count_warn",
    "limit.historyCount.suggestContinueAsNew": "history_count_suggest_continue_as_new",
    "limit.historySize.error": "history_size_error",
    "limit.historySize.warn": "history_size_warn",
    "limit.historySize.suggestContinueAsNew": "history_size_suggest_continue_as_new",
    "history.maximumSignalsPerExecution": "max_signals_per_execution",
    "limit.numPendingActivities.error": "pending_activities",
    "limit.numPendingChildExecutions.error": "pending_child_executions",
    "limit.numPendingSignals.error": "pending_signals",
    "limit.numPendingCancelRequests.error": "pending_cancel_requests",
}


@dataclass
class ServerConfig:
    ip: str = "127.0.0.1"
    port: int = 7233
    # None means an in-memory database; a path makes state persistent.
    db_filename: str | None = None
    # `default` always exists; these are registered in addition.
    namespaces: list[str] = field(default_factory=list)
    # Custom search attributes (name → type name, e.g. "Keyword"), registered
    # in every namespace before the port opens.
    search_attributes: dict[str, str] = field(default_factory=dict)
    log_level: str = "info"
    log_format: str = "pretty"
    # Test-server mode: virtual time that skips ahead when nothing is in
    # flight, driven by TestService (starts locked, as the Java test server).
    time_skipping: bool = False
    # Per-workflow time skipping (`time_skipping_config`), on by default;
    # dynamic config frontend.WorkflowTimeSkippingEnabled=false turns it off.
    workflow_time_skipping: bool = True
    # frontend.WorkflowTimeSkippingMaxSkipPerSession: the default skip budget.
    max_skips_per_session: int = 200
    # system.enableActivityEagerExecution: activities a worker asks to run
    # eagerly start in its workflow task completion (on in the real dev server).
    activity_eager_execution: bool = True
    # limit.historyCount.error, history.maximumSignalsPerExecution, ...
    limits: ExecutionLimits = field(default_factory=ExecutionLimits)

    @property
    def target(self) -> str:
        return f"{self.ip}:{self.port}"
