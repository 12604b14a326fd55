"""Process assembly: storage, engine, matching, timers and the gRPC transport."""

from __future__ import annotations

from temporallite.config import ServerConfig


class TemporalLiteServer:
    """One temporallite server. `start()` binds the port (OSError if taken);
    `stop()` answers long polls empty, flushes commits and closes the DB."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config

    @property
    def target(self) -> str:
        return self.config.target

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError
