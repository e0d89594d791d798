"""Waits in rules: kept in the store with their event, fired when due (not
before), the rule rechecked on the record as it is then, and restarts lose
nothing.  The dispatcher runs on a virtual clock: a week passes at once."""

from __future__ import annotations

from typing import Any

import pytest

from attio_automate.assembly import StoreWaits
from attio_automate.store import open_store_url
from attio_automate.store.base import EventFilter
from attio_automate.store.sqlite import SQLiteStore
from tests.processing.conftest import MEMBER, Harness

pytestmark = pytest.mark.anyio
DAY = 86400.0

FOLLOW_UP = """
  - id: follow-up
    on: record.created
    object: people
    when:
      - field: record.job_title
        contains: Founder
    do:
      - action: add_note
        with: {title: Hello, content: first}
      - wait: 7d
      - action: add_note
        with: {title: Follow up, content: "due {{ now() | iso }}"}
"""


async def setup(make: Any, rules: str = FOLLOW_UP) -> Harness:
    h: Harness = await make(rules=rules)
    h.dispatcher.processor.waits = StoreWaits(h.store, h.clock)
    return h


async def founder(h: Harness) -> str:
    person = h.fake.workspace.create_record(
        "people", {"name": "Ada Lovelace", "job_title": "Founder"}, actor=MEMBER
    )
    payload = {
        "event_type": "record.created",
        "id": {"object_id": h.fake.workspace.objects["people"].id, "record_id": person.id},
        "actor": MEMBER,
    }
    from attio_automate.store.base import NewEvent

    await h.store.insert_events(
        [
            NewEvent(
                f"d-{person.id}:0",
                f"record:{person.id}",
                "record.created",
                payload,
                None,
                h.clock.time(),
            )
        ]
    )
    return person.id


def titles(h: Harness) -> list[str]:
    return [n.title for n in h.fake.workspace.notes.values()]


async def test_a_wait_fires_when_due_and_not_before(make: Any) -> None:
    h = await setup(make)
    start = h.clock.time()
    await founder(h)
    assert await h.dispatcher.run_ready() == 1
    assert titles(h) == ["Hello"]
    waits = await h.store.list_events(EventFilter(event_type="wait", status="pending"))
    assert len(waits) == 1  # what `events list --type wait --status pending` shows
    assert waits[0].available_at == pytest.approx(start + 7 * DAY)
    h.clock.advance(7 * DAY - 60)
    assert await h.dispatcher.run_ready() == 0  # a minute early: nothing
    h.clock.advance(61)
    assert await h.dispatcher.run_ready() == 1
    assert titles(h) == ["Hello", "Follow up"]
    (follow_up,) = [n for n in h.fake.workspace.notes.values() if n.title == "Follow up"]
    # now() in the resumed steps is the moment the wait fell due.
    assert "due 2023-11-21T22:13:20" in follow_up.content_markdown
    assert await h.dispatcher.run_ready() == 0  # fired once


async def test_until_in_english_waits_for_that_moment_in_the_rules_zone(make: Any) -> None:
    rules = FOLLOW_UP.replace(
        "      - wait: 7d",
        "      - {until: next monday 09:00, timezone: Europe/Berlin}",
    )
    h = await setup(make, rules)
    # The clock starts on Tuesday 2023-11-14, 23:13 in Berlin.
    await founder(h)
    await h.dispatcher.run_ready()
    (wait,) = await h.store.list_events(EventFilter(event_type="wait", status="pending"))
    monday_nine_berlin = 1_700_467_200.0  # 2023-11-20T08:00:00Z
    assert wait.available_at == monday_nine_berlin
    h.clock.advance(monday_nine_berlin - h.clock.time() - 1)
    assert await h.dispatcher.run_ready() == 0
    h.clock.advance(1)
    assert await h.dispatcher.run_ready() == 1
    assert titles(h) == ["Hello", "Follow up"]


async def test_the_rule_is_rechecked_after_the_wait(make: Any) -> None:
    h = await setup(make)
    record_id = await founder(h)
    await h.dispatcher.run_ready()
    # No longer a founder when the wait ends: the rest of the rule does not run.
    h.fake.workspace.update_record(
        "people", record_id, {"job_title": "Engineer"}, mode="replace", actor=MEMBER
    )
    h.clock.advance(7 * DAY + 1)
    assert await h.dispatcher.run_ready() == 1
    assert titles(h) == ["Hello"]
    waits = [e for e in await h.store.list_events(EventFilter(limit=10)) if e.event_type == "wait"]
    assert waits[0].status == "done"
    trace = await h.store.get_trace(waits[0].id)
    assert trace is not None
    assert "after the wait, condition failed" in trace["decisions"][0]["reason"]


async def test_without_recheck_the_rest_runs_anyway(make: Any) -> None:
    h = await setup(make, FOLLOW_UP.replace("    when:", "    recheck: false\n    when:"))
    record_id = await founder(h)
    await h.dispatcher.run_ready()
    h.fake.workspace.update_record(
        "people", record_id, {"job_title": "Engineer"}, mode="replace", actor=MEMBER
    )
    h.clock.advance(7 * DAY + 1)
    await h.dispatcher.run_ready()
    assert titles(h) == ["Hello", "Follow up"]


async def test_a_pending_wait_survives_a_restart(make: Any, tmp_path: Any) -> None:
    h = await setup(make)
    await founder(h)
    await h.dispatcher.run_ready()
    assert isinstance(h.store, SQLiteStore)
    url = f"sqlite:///{h.store.path}"
    await h.store.close()
    # A new process on the same store, days later.
    reopened = open_store_url(url)
    await reopened.open()
    h.store = reopened
    h.dispatcher.store = reopened
    h.dispatcher.processor.waits = StoreWaits(reopened, h.clock)
    h.clock.advance(8 * DAY)
    assert await h.dispatcher.run_ready() == 1
    assert titles(h) == ["Hello", "Follow up"]


async def test_a_retried_event_plans_the_same_wait_once(make: Any) -> None:
    h = await setup(make)
    await founder(h)
    await h.dispatcher.run_ready()
    events = await h.store.list_events(EventFilter(limit=10))
    original = next(e for e in events if e.event_type == "record.created")
    # Replayed (a redelivery forced through, say): the same wait, not a second one.
    await h.store.requeue([original.id], now=h.clock.time(), force=True)
    await h.dispatcher.run_ready()
    waits = [e for e in await h.store.list_events(EventFilter(limit=10)) if e.event_type == "wait"]
    assert len(waits) == 1


STAGED = """
  - id: nudge
    on: [record.created, record.updated]
    object: people
    when:
      - field: record.job_title
        contains: Founder
    cancel_on:
      on: record.updated
      when:
        - field: record.job_title
          equals: Customer
    do:
      - wait: 3d
      - action: add_note
        with: {title: Nudge, content: "from {{ event.event_type }}"}
"""


async def event_about(h: Harness, record_id: str, event_type: str, key: str) -> None:
    from attio_automate.store.base import NewEvent

    payload = {
        "event_type": event_type,
        "id": {"object_id": h.fake.workspace.objects["people"].id, "record_id": record_id},
        "actor": MEMBER,
    }
    await h.store.insert_events(
        [NewEvent(key, f"record:{record_id}", event_type, payload, None, h.clock.time())]
    )


async def pending_waits(h: Harness) -> list[Any]:
    return await h.store.list_events(EventFilter(event_type="wait", status="pending"))


@pytest.mark.parametrize(
    ("policy", "pending", "nudges"), [("replace", 1, 1), ("keep", 1, 1), ("parallel", 2, 2)]
)
async def test_a_retriggered_rule_replaces_keeps_or_adds_its_wait(
    make: Any, policy: str, pending: int, nudges: int
) -> None:
    rules = STAGED.replace("    cancel_on:", f"    on_retrigger: {policy}\n    cancel_on:")
    h = await setup(make, rules)
    record_id = await founder(h)
    await h.dispatcher.run_ready()
    h.clock.advance(DAY)
    await event_about(h, record_id, "record.updated", "d-2:0")
    await h.dispatcher.run_ready()
    waits = await pending_waits(h)
    assert len(waits) == pending
    if policy != "parallel":
        kept = "record.created" if policy == "keep" else "record.updated"
        assert waits[0].payload["event_type"] == kept
    h.clock.advance(5 * DAY)
    await h.dispatcher.run_ready()
    assert titles(h).count("Nudge") == nudges


async def test_cancel_on_cancels_the_pending_wait(make: Any) -> None:
    h = await setup(make, STAGED)
    record_id = await founder(h)
    await h.dispatcher.run_ready()
    assert len(await pending_waits(h)) == 1
    h.fake.workspace.update_record(
        "people", record_id, {"job_title": "Customer"}, mode="replace", actor=MEMBER
    )
    await event_about(h, record_id, "record.updated", "d-2:0")
    await h.dispatcher.run_ready()
    assert await pending_waits(h) == []
    cancelled = await h.store.list_events(EventFilter(event_type="wait"))
    assert cancelled[0].status == "skipped"
    assert (cancelled[0].reason or "").startswith("cancelled by record.updated")
    h.clock.advance(5 * DAY)
    assert await h.dispatcher.run_ready() == 0
    assert "Nudge" not in titles(h)
