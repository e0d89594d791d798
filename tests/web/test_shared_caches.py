"""Runners on one PostgreSQL keep each other's caches honest through the store."""

from __future__ import annotations

from pathlib import Path

import anyio
import asyncpg
import pytest

from attio_automate.assembly import Runner, assembled
from attio_automate.events import AttioEvent
from attio_automate.settings import Settings
from attio_automate.testing.fake import FakeAttio
from attio_automate.testing.pytest_plugin import FAKE_API_KEY
from tests.store.conftest import PG_BASE

pytestmark = pytest.mark.anyio

MEMBER = {"type": "workspace-member", "id": "someone"}


def attribute_fetches(fake: FakeAttio) -> int:
    return sum(1 for r in fake.requests if r["path"].endswith("/attributes"))


async def refetched(runner: Runner, fake: FakeAttio, *, after: int) -> None:
    """Wait until ``runner`` asks Attio for people's attributes again."""
    with anyio.fail_after(10):
        while attribute_fetches(fake) == after:
            await runner.schema.attributes("objects", "people")
            await runner.store.claim("idle", limit=1, lease=30, now=0.0)
            await anyio.sleep(0.02)


async def test_a_schema_change_seen_by_one_runner_reaches_the_others(
    pg_url: str, tmp_path: Path, fake_attio: FakeAttio
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules: []\n")
    settings = Settings(
        store={"url": pg_url},
        attio={"base_url": "http://fake-attio/v2", "schema_ttl": 3600},
        secrets={"api_key": FAKE_API_KEY},
        rules={"path": str(rules)},
        plugins={"installed": False},
    )
    async with (
        assembled(settings, attio_transport=fake_attio.transport()) as first,
        assembled(settings, attio_transport=fake_attio.transport()) as second,
    ):
        await second.schema.attributes("objects", "people")
        cached = attribute_fetches(fake_attio)
        await second.schema.attributes("objects", "people")
        assert attribute_fetches(fake_attio) == cached

        # The first runner handles a new attribute on people...
        people = fake_attio.workspace.objects["people"]
        event = AttioEvent(
            "object-attribute.created", {"object_id": people.id, "attribute_id": "new"}, MEMBER
        )
        result = await first.dispatcher.processor.process(event, key="schema-change")
        assert result.status == "done"
        # ...and the second forgets what it knew of people's attributes.
        await refetched(second, fake_attio, after=cached)

        # Cut off from the others' messages, a runner forgets its schema when
        # it hears them again: what it missed may have been a change.
        cached = attribute_fetches(fake_attio)
        connection = await asyncpg.connect(PG_BASE)
        try:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN %'"
            )
        finally:
            await connection.close()
        await refetched(second, fake_attio, after=cached)
