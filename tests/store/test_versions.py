"""What a store remembers for the runner across restarts, and the schema
versions it will and will not work with (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from attio_automate.errors import ConfigError
from attio_automate.store.base import Store
from attio_automate.store.migrations import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS

pytestmark = pytest.mark.anyio


async def test_own_tokens_survive_reopening_per_api_key(
    make_store: Callable[[], Store],
) -> None:
    first = make_store()
    await first.open()
    await first.remember_token("tok-1", key_digest="key-a", now=1.0)
    await first.remember_token("tok-1", key_digest="key-a", now=2.0)  # once only
    await first.remember_token("tok-2", key_digest="key-b", now=3.0)
    await first.close()
    again = make_store()
    await again.open()
    assert await again.own_tokens("key-a") == ["tok-1"]
    assert await again.own_tokens("key-b") == ["tok-2"]
    assert await again.own_tokens("key-c") == []


async def _set_version(store: Store, version: int) -> None:
    pool: Any = getattr(store, "_pool", None)
    if pool is not None:
        await pool.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
        return
    path = getattr(store, "path")  # noqa: B009 - SQLite stores have one
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    connection.commit()
    connection.close()


async def test_a_schema_newer_than_the_code_is_refused(make_store: Callable[[], Store]) -> None:
    store = make_store()
    await store.open()
    known = max(v for v, _ in SQLITE_MIGRATIONS + POSTGRES_MIGRATIONS)
    await _set_version(store, known + 1)
    await store.close()
    with pytest.raises(ConfigError, match=f"schema is version {known + 1}, newer than"):
        await make_store().open()
