"""Sync tests: the dispatcher on a virtual clock over a SQLite store and the
fake Attio (the processing harness), with the sync plugin attached to a sync
database that is SQLite or PostgreSQL (both, one suite)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from attio_automate.store.base import EventFilter, NewEvent, StoredEvent
from attio_automate.sync.database import SyncDatabase
from attio_automate.sync.mirror import PLUGIN_NAME, SyncPlugin
from attio_automate.sync.outbox import Outbox
from attio_automate.sync.reconcile import Reconciler
from attio_automate.sync.spec import MirrorSpec, SyncSpec
from tests.processing.conftest import Harness, make  # noqa: F401  (the harness fixture)
from tests.store.conftest import PG_BASE, _postgres_url

PEOPLE = MirrorSpec(
    object="people",
    table="attio_people",
    columns={
        "email": "email_addresses",
        "name": "name",
        "title": "job_title",
        "company": "company",
    },
)
SALES = MirrorSpec(list="sales", table="attio_sales", columns={"stage": "stage"})
MEMBER = {"type": "workspace-member", "id": "m"}
#: Rules that hear nothing the sync tests make.
NOTHING = """
  - id: never
    on: record.created
    object: deals
    do: []
"""


@pytest.fixture(params=["sqlite", "postgres"])
async def sync_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.db'}"
        return
    url = _postgres_url()
    yield url
    import asyncpg

    connection = await asyncpg.connect(PG_BASE)
    await connection.execute(f'DROP SCHEMA IF EXISTS "{url.rsplit("=", 1)[1]}" CASCADE')
    await connection.close()


@dataclass
class Sync:
    """The harness, its sync plugin and database, and the fake's events."""

    h: Harness
    plugin: SyncPlugin
    database: SyncDatabase
    heard: list[dict[str, Any]]

    @property
    def outbox(self) -> Outbox:
        assert self.plugin.outbox is not None
        return self.plugin.outbox

    async def deliver(self) -> int:
        """What the fake has told of since last time, into the inbox as webhooks
        would put it; then run the dispatcher until nothing is left."""
        news = [
            NewEvent(
                f"w-{uuid.uuid4().hex}:0",
                _ordering(e),
                e["event_type"],
                e,
                None,
                self.h.clock.time(),
            )
            for e in self.heard
        ]
        self.heard.clear()
        if news:
            await self.h.store.insert_events(news)
        return await self.settle()

    async def settle(self) -> int:
        ran = 0
        while count := await self.h.dispatcher.run_ready():
            ran += count
        return ran

    async def rows(self, mirror: MirrorSpec = PEOPLE) -> dict[str, dict[str, Any]]:
        table = self.database.table(mirror)
        async with self.database.connect() as connection:
            result = await connection.execute(select(table))
            return {row[mirror.key]: dict(row) for row in result.mappings()}

    def reconciler(self, **kwargs: Any) -> Reconciler:
        return Reconciler(
            self.database,
            attio=self.h.dispatcher.processor.attio,
            schema=self.h.dispatcher.processor.schema,
            store=self.h.store,
            clock=self.h.clock,
            **kwargs,
        )

    async def events(self, **filters: Any) -> list[StoredEvent]:
        return await self.h.store.list_events(EventFilter(limit=10_000, **filters))


def _ordering(event: dict[str, Any]) -> str:
    from attio_automate.events import AttioEvent

    return AttioEvent.from_json(event).ordering_key


@pytest.fixture
async def make_sync(make: Any, sync_url: str) -> AsyncIterator[Callable[..., Any]]:  # noqa: F811
    opened: list[SyncDatabase] = []

    async def build(
        *mirrors: MirrorSpec, conflicts: str = "last_write_wins", url: str | None = None
    ) -> Sync:
        spec = SyncSpec(
            database=url or sync_url,
            mirrors=mirrors or (PEOPLE, SALES),
            conflicts=conflicts,  # type: ignore[arg-type]
        )
        plugin = SyncPlugin(spec)
        h: Harness = await make(plugin)
        database = SyncDatabase(spec, clock=h.clock)
        opened.append(database)
        await database.open(h.dispatcher.processor.schema)
        plugin.attach(database, h.clock)
        h.dispatcher.processor.own_events_to = PLUGIN_NAME
        heard: list[dict[str, Any]] = []
        h.fake.workspace.listeners.append(heard.append)
        return Sync(h, plugin, database, heard)

    yield build
    for database in opened:
        await database.close()
