"""Server configuration, shared by the CLI and the embedding API."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    @property
    def target(self) -> str:
        return f"{self.ip}:{self.port}"
