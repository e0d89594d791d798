"""Store tests run against SQLite and PostgreSQL alike (one suite).

PostgreSQL is the machine's server on 127.0.0.1:5432 (database ``test``);
each test gets a schema of its own.  Without a server the PostgreSQL cases
skip, saying why, except under CI (``CI`` set), where they must run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from attio_automate.store import Store, open_store_url

PG_BASE = os.environ.get("ATTIO_AUTOMATE_TEST_PG", "postgresql://127.0.0.1:5432/test")


def postgres_available() -> str | None:
    """None if PostgreSQL answers, else why not."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(PG_BASE)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 5432), timeout=1.0
        ):
            return None
    except OSError as exc:
        return f"PostgreSQL at {parts.hostname}:{parts.port} is not reachable ({exc})"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
    pytest.skip(reason)


def _postgres_url() -> str:
    reason = postgres_available()
    if reason:
        _skip_or_fail(reason)
    return f"{PG_BASE}?search_path=t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return _postgres_url()


@pytest.fixture
def postgres_url() -> str:
    """For what only the PostgreSQL store has (statistics, a channel)."""
    return _postgres_url()


async def _maker(url: str) -> AsyncIterator[Callable[[], Store]]:
    opened: list[Store] = []

    def make() -> Store:
        store = open_store_url(url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()
    if url.startswith("postgresql"):
        import asyncpg

        schema = url.rsplit("search_path=", 1)[1]
        connection = await asyncpg.connect(PG_BASE)
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()


@pytest.fixture
async def make_store(store_url: str) -> AsyncIterator[Callable[[], Store]]:
    async for make in _maker(store_url):
        yield make


@pytest.fixture
async def make_postgres_store(postgres_url: str) -> AsyncIterator[Callable[[], Store]]:
    async for make in _maker(postgres_url):
        yield make


@pytest.fixture
async def store(make_store: Callable[[], Store]) -> Store:
    opened = make_store()
    await opened.open()
    return opened
