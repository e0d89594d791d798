"""Real servers on loopback: the fake Attio and the runner, each its own process."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from attio_automate.testing.servers import FakeAttioProcess, fake_attio_process
from attio_automate.testing.webhooks import delivery, record_event, signed_headers
from tests.store.conftest import PG_BASE, _skip_or_fail, postgres_available

KEY = "server-test-key"
SECRET = "server-test-secret"

NOTE_RULES = """
version: 1
rules:
  - id: note-each
    on: [record.created, record.updated]
    object: people
    do:
      - action: add_note
        with:
          title: "{{ event.event_type }} {{ event.id.attribute_id | default('') }}"
          content: "for {{ record.record_id }} at {{ event.id.attribute_id | default('') }}"
"""

FAST_CONFIG = """
dispatcher:
  concurrency: 8
  lease_seconds: 3
  poll_seconds: 0.1
  backoff_initial: 0.5
  backoff_max: 4
  max_attempts: 10
server:
  drain_seconds: 10
attio:
  schema_ttl: 600
"""


@pytest.fixture
def fake() -> Iterator[FakeAttioProcess]:
    with fake_attio_process(api_key=KEY, check_answers=True) as process:
        yield process
        violations = process.violations()
    assert not violations, "the fake answered what Attio would not:\n" + "\n".join(violations[:3])


@dataclass
class Setup:
    """Files for a runner, and its store: SQLite or a PostgreSQL schema."""

    rules: str
    config: str
    db_path: Path
    pg_schema: str | None = None

    @property
    def db_url(self) -> str:
        if self.pg_schema:
            return f"{PG_BASE}?search_path={self.pg_schema}"
        return f"sqlite:///{self.db_path}"


@pytest.fixture(params=["sqlite", "postgres"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    """The runner tests run against both stores."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(NOTE_RULES)
    config = tmp_path / "config.yaml"
    config.write_text(FAST_CONFIG)
    schema = None
    if request.param == "postgres":
        reason = postgres_available()
        if reason:
            _skip_or_fail(reason)
        schema = f"srv_{uuid.uuid4().hex[:10]}"
    yield Setup(str(rules), str(config), tmp_path / "runner.db", schema)
    if schema:
        asyncio.run(_pg(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


async def _pg(sql: str) -> list[Any]:
    import asyncpg

    connection = await asyncpg.connect(PG_BASE)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL schema of its own (PostgreSQL-only tests)."""
    reason = postgres_available()
    if reason:
        _skip_or_fail(reason)
    schema = f"multi_{uuid.uuid4().hex[:10]}"
    yield f"{PG_BASE}?search_path={schema}"
    asyncio.run(_pg(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def attio(fake: FakeAttioProcess) -> httpx.Client:
    return httpx.Client(
        base_url=fake.base_url + "/", headers={"Authorization": f"Bearer {KEY}"}, timeout=30
    )


def people_object_id(fake: FakeAttioProcess) -> str:
    return fake.object_id("people", api_key=KEY)


def make_people(fake: FakeAttioProcess, count: int) -> list[str]:
    return fake.create_people(count, api_key=KEY)


def send(
    url: str,
    events: list[dict[str, Any]],
    *,
    key: str | None,
    secret: str = SECRET,
    client: httpx.Client | None = None,
) -> httpx.Response:
    body = delivery(events)
    http = client or httpx.Client(timeout=30)
    try:
        return http.post(
            f"{url}/webhooks/attio",
            content=body,
            headers=signed_headers(body, secret, idempotency_key=key),
        )
    finally:
        if client is None:
            http.close()


def created(object_id: str, record_id: str, step: str | None = None) -> dict[str, Any]:
    kind = "record.updated" if step else "record.created"
    return record_event(kind, object_id, record_id, attribute_id=step)


def inbox(setup: Setup) -> list[tuple[Any, ...]]:
    """The runner's inbox rows (id, key, status, attempts, reason), oldest first."""
    query = "SELECT id, key, status, attempts, reason FROM {}inbox ORDER BY id"
    if setup.pg_schema:
        try:
            rows = asyncio.run(_pg(query.format(f'"{setup.pg_schema}".')))
        except Exception:  # not created yet
            return []
        return [tuple(row) for row in rows]
    if not setup.db_path.exists():
        return []
    connection = sqlite3.connect(setup.db_path)
    try:
        return connection.execute(query.format("")).fetchall()
    finally:
        connection.close()


def note_posts(fake: FakeAttioProcess) -> list[dict[str, Any]]:
    return [
        r
        for r in fake.requests()
        if r["method"] == "POST" and r["path"] == "/v2/notes" and r["status"] == 200
    ]


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Whether ``condition`` came true within ``timeout`` seconds (polled)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False
