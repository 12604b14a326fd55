"""A database file written by an older temporallite opens and is brought up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from temporallite.persistence.schema import CLOCK_SCHEMA, SCHEMA, SCHEMA_VERSION
from temporallite.persistence.store import Store


async def test_a_version_2_database_gains_the_clock_table(tmp_path: Path) -> None:
    path = str(tmp_path / "v2.db")
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA.replace(CLOCK_SCHEMA, ""))
    conn.execute("PRAGMA user_version=2")
    conn.close()
    store = await Store.open(path)
    try:
        assert await store.fetch_all("SELECT skipped FROM server_clock") == []
        assert (await store.fetch_one("PRAGMA user_version"))[0] == SCHEMA_VERSION  # type: ignore[index]
    finally:
        await store.close()


async def test_an_unknown_version_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "v1.db")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=1")
    conn.close()
    with pytest.raises(RuntimeError, match="schema version 1 is not supported"):
        await Store.open(path)
