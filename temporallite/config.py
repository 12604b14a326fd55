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
    log_level: str = "info"
    log_format: str = "pretty"

    @property
    def target(self) -> str:
        return f"{self.ip}:{self.port}"
