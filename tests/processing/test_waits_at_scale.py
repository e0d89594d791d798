"""Waits at scale, on a virtual clock: two runners racing for the same due
waits on PostgreSQL fire each once; 10,000 waits falling due at the same
second all fire, once each, none early."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest

from attio_automate.assembly import StoreWaits
from attio_automate.store.base import EventFilter, NewEvent
from tests.processing.conftest import MEMBER, Harness
from tests.processing.test_waits import DAY, FOLLOW_UP, founder, titles
from tests.store.conftest import PG_BASE, _postgres_url

pytestmark = pytest.mark.anyio

NUDGE = """
  - id: nudge
    on: record.created
    object: people
    recheck: false
    do:
      - wait: 1h
      - action: add_note
        with: {title: Nudge, content: "for {{ event.wait.from }}"}
"""


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = _postgres_url()
    yield url
    import asyncpg

    connection = await asyncpg.connect(PG_BASE)
    await connection.execute(f'DROP SCHEMA IF EXISTS "{url.rsplit("=", 1)[1]}" CASCADE')
    await connection.close()


async def runner(make: Any, url: str, share: Harness | None = None) -> Harness:
    h: Harness = await make(rules=FOLLOW_UP, store_url=url, share=share)
    h.dispatcher.processor.waits = StoreWaits(h.store, h.clock)
    return h


async def race(*runners: Harness) -> list[int]:
    """One turn of every runner at once; how many each ran."""
    counts = [0] * len(runners)

    async def turn(n: int) -> None:
        counts[n] = await runners[n].dispatcher.run_ready()

    async with anyio.create_task_group() as tasks:
        for n in range(len(runners)):
            tasks.start_soon(turn, n)
    return counts


async def test_two_runners_racing_for_the_same_due_waits_fire_each_once(
    make: Any, pg_url: str
) -> None:
    a = await runner(make, pg_url)
    b = await runner(make, pg_url, share=a)
    people = [await founder(a) for _ in range(40)]
    while sum(await race(a, b)):
        pass
    assert titles(a).count("Hello") == 40
    pending = await a.store.list_events(EventFilter(event_type="wait", status="pending"))
    assert len(pending) == 40
    a.clock.advance(7 * DAY + 1)
    ran = Counter[str]()
    while counts := await race(a, b):
        if not sum(counts):
            break
        ran.update({"a": counts[0], "b": counts[1]})
    # Every due wait claimed by exactly one of the two, and fired once.
    assert ran["a"] + ran["b"] == 40
    follow_ups = [n for n in a.fake.workspace.notes.values() if n.title == "Follow up"]
    assert Counter(n.parent_record_id for n in follow_ups) == Counter(people)
    done = await a.store.list_events(EventFilter(event_type="wait", status="done"))
    assert len(done) == 40


@pytest.mark.slow
async def test_ten_thousand_waits_due_at_once_fire_once_each_none_early(make: Any) -> None:
    h: Harness = await make(rules=NUDGE)
    h.dispatcher.processor.waits = StoreWaits(h.store, h.clock)
    people_object = h.fake.workspace.objects["people"].id
    records = [
        h.fake.workspace.create_record("people", {"name": f"P {n}"}, actor=MEMBER).id
        for n in range(100)
    ]
    due = h.clock.time() + 3600
    stamp = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    waits = []
    for n in range(10_000):
        origin = f"e-{n}:0"
        key = f"wait:{origin}:nudge:1"
        payload = {
            "event_type": "record.created",
            "id": {"object_id": people_object, "record_id": records[n % 100]},
            "actor": MEMBER,
            "wait": {
                "rule": "nudge",
                "step": 1,
                "due_at": stamp,
                "from": origin,
                "group": f"nudge|{origin}",
            },
        }
        waits.append(NewEvent(key, key, "wait", payload, None, due, due))
    for start in range(0, len(waits), 1000):
        await h.store.insert_events(waits[start : start + 1000])
    h.clock.advance(3600 - 0.5)
    assert await h.dispatcher.run_ready() == 0  # half a second early: none
    h.clock.advance(0.5)
    fired = 0
    while ran := await h.dispatcher.run_ready():
        fired += ran
    assert fired == 10_000
    contents = Counter(n.content_markdown for n in h.fake.workspace.notes.values())
    assert len(contents) == 10_000
    assert set(contents.values()) == {1}
    left = await h.store.list_events(EventFilter(event_type="wait", status="pending"))
    assert left == []
