"""temporallite: a Temporal server in one asyncio process, backed by SQLite."""

__version__ = "0.1.0"
