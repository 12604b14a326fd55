"""SQLite store with group commit.

Writers hand a `WriteBatch` to `commit()`; a single writer task drains every
batch that is waiting and applies them in one transaction, then resolves all
their futures. An RPC answers only after its batch is durable.

A database file is used from aiosqlite's thread, so disk waits never stall
the event loop. An in-memory database never waits on a disk: its statements
run on the loop itself, which saves a thread round trip per read and commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiosqlite

from temporallite.persistence.schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION

Statement = tuple[str, tuple[Any, ...]]
T = TypeVar("T")


@dataclass
class WriteBatch:
    statements: list[Statement] = field(default_factory=list)

    def add(self, sql: str, *params: Any) -> None:
        self.statements.append((sql, params))


class Store:
    def __init__(self, db: aiosqlite.Connection | sqlite3.Connection) -> None:
        self._db = db
        self._pending: list[tuple[WriteBatch, asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False

    @classmethod
    async def open(cls, filename: str | None) -> Store:
        db: aiosqlite.Connection | sqlite3.Connection
        if filename:
            # Fail here, synchronously: a failed aiosqlite connect leaves its
            # thread finishing after the event loop is gone.
            sqlite3.connect(filename).close()
            db = await aiosqlite.connect(filename, isolation_level=None)
        else:
            db = sqlite3.connect(":memory:", isolation_level=None)
        store = cls(db)
        try:
            await store._call(_prepare, filename is not None)
        except BaseException:
            await store._close_db()
            raise
        store._writer = asyncio.create_task(store._write_loop(), name="sqlite-writer")
        return store

    async def close(self) -> None:
        self._closing = True
        self._wakeup.set()
        if self._writer is not None:
            await self._writer
        await self._close_db()

    async def _close_db(self) -> None:
        if isinstance(self._db, sqlite3.Connection):
            self._db.close()
        else:
            await self._db.close()

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)`: inline for memory, on the thread for a file."""
        if isinstance(self._db, sqlite3.Connection):
            return fn(self._db, *args)
        result: T = await self._db._execute(fn, self._db._conn, *args)
        return result

    async def commit(self, batch: WriteBatch) -> None:
        if not batch.statements:
            return
        if self._closing:
            raise RuntimeError("store is closed")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((batch, future))
        self._wakeup.set()
        await future

    async def _write_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if not self._pending:
                if self._closing:
                    return
                continue
            group, self._pending = self._pending, []
            try:
                await self._call(_apply, [b for b, _ in group])
            except Exception as exc:  # the whole group failed: tell every writer
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in group:
                if not future.done():
                    future.set_result(None)
            if self._closing and not self._pending:
                return

    # A read is one call (on a file, aiosqlite's cursor API would take three
    # round trips to its thread: execute, fetch, close).
    async def fetch_all(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        return await self._call(_fetch_all, sql, params)

    async def fetch_one(self, sql: str, *params: Any) -> sqlite3.Row | None:
        return await self._call(_fetch_one, sql, params)


def _fetch_all(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _fetch_one(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
    return row


def _prepare(conn: sqlite3.Connection, persistent: bool) -> None:
    if persistent:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version == 0:
        conn.executescript(SCHEMA)
    elif version in MIGRATIONS:
        while version < SCHEMA_VERSION:
            conn.executescript(MIGRATIONS[version])
            version += 1
    else:
        raise RuntimeError(
            f"database schema version {version} is not supported (expected {SCHEMA_VERSION})"
        )
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _apply(conn: sqlite3.Connection, batches: Iterable[WriteBatch]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for batch in batches:
            for sql, params in batch.statements:
                conn.execute(sql, params)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
