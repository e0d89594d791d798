"""Push: rows applications write to the outbox reach Attio once each, their
outcome on the row; the runner's own writes coming back update the mirror
and are never pushed again; conflicts under both policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from attio_automate.sync.outbox import CONFLICT, DONE, FAILED
from tests.sync.conftest import MEMBER, NOTHING, PEOPLE, Sync

pytestmark = pytest.mark.anyio


async def write(s: Sync, values: dict[str, Any], *, at: datetime | None = None) -> int:
    """What an application does: one row into the outbox."""
    row: dict[str, Any] = {
        "object": "people",
        "matching_attribute": "email_addresses",
        "values": values,
    }
    if at is not None:
        row["changed_at"] = at
    async with s.database.connect() as connection:
        result = await connection.execute(insert(s.database.outbox).values(**row))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


async def push(s: Sync) -> None:
    """The feeder's turn, then the dispatcher's, then the webhooks Attio sends back."""
    await s.outbox.feed(s.h.store)
    await s.settle()
    await s.deliver()


def asserts(s: Sync) -> list[dict[str, Any]]:
    return [
        r
        for r in s.h.fake.requests
        if r["method"] == "PUT" and r["path"] == "/v2/objects/people/records"
    ]


async def setup(make_sync: Any, **kwargs: Any) -> Sync:
    s: Sync = await make_sync(PEOPLE, **kwargs)
    s.h.use_rules(NOTHING)
    return s


async def test_a_row_reaches_attio_once_and_comes_back_into_the_mirror(make_sync: Any) -> None:
    s = await setup(make_sync)
    row_id = await write(s, {"email_addresses": ["ada@example.com"], "job_title": "CEO"})
    await push(s)
    row = await s.outbox.row(row_id)
    assert row is not None
    assert row["status"] == DONE
    (person,) = s.h.fake.workspace.records["people"].values()
    assert row["record_id"] == person.id
    # Attio's webhook for our own write updated the mirror...
    assert (await s.rows())[person.id]["title"] == "CEO"
    # ...and nothing was pushed again, however often the feeder looks.
    await push(s)
    await push(s)
    assert len(asserts(s)) == 1
    assert await s.outbox.counts() == {DONE: 1}


async def test_two_changes_to_one_record_are_pushed_in_order(make_sync: Any) -> None:
    s = await setup(make_sync)
    await write(s, {"email_addresses": ["ada@example.com"], "job_title": "CTO"})
    await write(s, {"email_addresses": ["ada@example.com"], "job_title": "CEO"})
    await push(s)
    (person,) = s.h.fake.workspace.records["people"].values()
    assert (await s.rows())[person.id]["title"] == "CEO"
    titles = [r["body"]["data"]["values"]["job_title"][0]["value"] for r in asserts(s)]
    assert titles == ["CTO", "CEO"]


async def test_a_row_attio_refuses_fails_with_attios_reason_and_can_be_retried(
    make_sync: Any,
) -> None:
    s = await setup(make_sync)
    row_id = await write(s, {"email_addresses": ["not an email"]})
    await push(s)
    row = await s.outbox.row(row_id)
    assert row is not None
    assert row["status"] == FAILED
    assert row["error_code"]
    assert row["error_message"]
    (event,) = await s.events(event_type="outbox.push")
    assert event.status == "dead"  # the dead letter says why too
    # The application fixes the row; retried from the CLI, it goes through.
    async with s.database.connect() as connection:
        await connection.execute(
            s.database.outbox.update()
            .where(s.database.outbox.c.id == row_id)
            .values(values={"email_addresses": ["ada@example.com"]})
        )
    assert await s.outbox.retry([row_id]) == 1
    await push(s)
    row = await s.outbox.row(row_id)
    assert row is not None
    assert row["status"] == DONE


async def test_a_crash_between_attios_answer_and_the_ledger_writes_once(
    make_sync: Any,
) -> None:
    s = await setup(make_sync)
    row_id = await write(s, {"email_addresses": ["ada@example.com"], "job_title": "CEO"})
    real_set = s.outbox.set
    crashes = [1]

    async def crash_once(row_id: int, **values: Any) -> None:
        if values.get("status") == DONE and crashes:
            crashes.pop()
            raise ConnectionResetError("the sync database went away mid-write")
        await real_set(row_id, **values)

    s.outbox.set = crash_once  # type: ignore[method-assign]
    await s.outbox.feed(s.h.store)
    await s.settle()
    (event,) = await s.events(event_type="outbox.push")
    assert event.status == "pending"  # to be tried again, not done
    assert len(asserts(s)) == 1  # Attio had answered
    s.h.clock.advance(3600)
    await s.settle()
    row = await s.outbox.row(row_id)
    assert row is not None
    assert row["status"] == DONE
    assert len(asserts(s)) == 1  # written once: the retry found it there
    assert len(s.h.fake.workspace.records["people"]) == 1


async def person_changed_in_attio_later(s: Sync, local_at: datetime) -> str:
    person = s.h.fake.workspace.create_record(
        "people", {"email_addresses": ["ada@example.com"], "job_title": "CTO"}, actor=MEMBER
    )
    s.h.clock.advance(60)
    s.h.fake.workspace.update_record(
        "people", person.id, {"job_title": "Chair"}, mode="replace", actor=MEMBER
    )
    await s.deliver()
    return person.id


async def test_last_write_wins_keeps_attios_later_change_and_says_so(make_sync: Any) -> None:
    s = await setup(make_sync)
    local_at = datetime.fromtimestamp(s.h.clock.time(), UTC) + timedelta(seconds=1)
    person_id = await person_changed_in_attio_later(s, local_at)
    row_id = await write(
        s,
        {"email_addresses": ["ada@example.com"], "job_title": "CEO", "description": "VIP"},
        at=local_at,
    )
    await push(s)
    row = await s.outbox.row(row_id)
    assert row is not None
    assert row["status"] == DONE
    rows = await s.rows()
    assert rows[person_id]["title"] == "Chair"  # Attio's change was later
    assert rows[person_id]["attio_values"]["description"][0]["value"] == "VIP"
    (event,) = await s.events(event_type="outbox.push")
    trace = await s.h.store.get_trace(event.id)
    assert trace is not None
    assert "job_title" in trace["actions"][0]["result"]["kept_attio"]


async def test_queue_leaves_the_conflict_for_a_person_to_resolve(make_sync: Any) -> None:
    s = await setup(make_sync, conflicts="queue")
    local_at = datetime.fromtimestamp(s.h.clock.time(), UTC) + timedelta(seconds=1)
    person_id = await person_changed_in_attio_later(s, local_at)
    row_id = await write(
        s, {"email_addresses": ["ada@example.com"], "job_title": "CEO"}, at=local_at
    )
    await push(s)
    row = await s.outbox.row(row_id)
    assert row is not None
    assert row["status"] == CONFLICT
    assert row["conflict"]["attributes"]["job_title"]["attio"] == "Chair"
    assert (await s.rows())[person_id]["title"] == "Chair"
    assert await s.outbox.resolve(row_id, keep="local") is True
    await push(s)
    row = await s.outbox.row(row_id)
    assert row is not None
    assert row["status"] == DONE
    assert (await s.rows())[person_id]["title"] == "CEO"
