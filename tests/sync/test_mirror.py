"""The mirror kept by webhooks: created, updated, deleted, merged records and
list entries reach their tables through the inbox, in order, whoever made
the change (the runner's own writes too)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sync.conftest import MEMBER, PEOPLE, SALES, Sync

pytestmark = pytest.mark.anyio


async def test_a_burst_of_changes_leaves_the_mirror_as_attio_is(make_sync: Any) -> None:
    s: Sync = await make_sync()
    w = s.h.fake.workspace
    ada = w.create_record(
        "people",
        {"name": "Ada Lovelace", "email_addresses": ["ada@example.com"], "job_title": "CEO"},
        actor=MEMBER,
    )
    bob = w.create_record("people", {"name": "Bob", "job_title": "CTO"}, actor=MEMBER)
    w.update_record("people", ada.id, {"job_title": "Founder"}, mode="replace", actor=MEMBER)
    w.update_record(
        "people", ada.id, {"email_addresses": ["ada@two.example"]}, mode="append", actor=MEMBER
    )
    await s.deliver()
    rows = await s.rows()
    assert set(rows) == {ada.id, bob.id}
    assert rows[ada.id]["name"] == "Ada Lovelace"
    assert rows[ada.id]["title"] == "Founder"
    assert sorted(rows[ada.id]["email"]) == ["ada@example.com", "ada@two.example"]
    assert rows[ada.id]["deleted"] is False
    assert rows[ada.id]["attio_updated_at"] is not None
    # All of Attio's values are kept besides the chosen columns.
    assert "job_title" in rows[ada.id]["attio_values"]
    w.delete_record("people", bob.id, actor=MEMBER)
    await s.deliver()
    rows = await s.rows()
    assert rows[bob.id]["deleted"] is True
    assert rows[ada.id]["deleted"] is False
    # Exactly as Attio has it: every value of every live record.
    attio = s.h.dispatcher.processor.attio
    async for record in attio.query_records("people"):
        assert rows[record["id"]["record_id"]]["attio_values"] == record["values"]
    assert {k for k, r in rows.items() if not r["deleted"]} == set(w.records["people"])


async def test_a_merge_moves_the_duplicate_to_the_record_kept(make_sync: Any) -> None:
    s: Sync = await make_sync()
    w = s.h.fake.workspace
    keep = w.create_record("people", {"name": "Ada Lovelace"}, actor=MEMBER)
    dup = w.create_record(
        "people", {"name": "Ada L.", "email_addresses": ["ada@example.com"]}, actor=MEMBER
    )
    await s.deliver()
    w.merge_records("people", keep.id, dup.id, actor=MEMBER)
    await s.deliver()
    rows = await s.rows()
    assert rows[dup.id]["deleted"] is True
    assert rows[dup.id]["merged_into"] == keep.id
    assert rows[keep.id]["email"] == ["ada@example.com"]  # gained in the merge
    assert rows[keep.id]["deleted"] is False


async def test_list_entries_are_mirrored_with_their_parent(make_sync: Any) -> None:
    from attio_automate.testing.fake import entries

    s: Sync = await make_sync()
    w = s.h.fake.workspace
    ada = w.create_record("people", {"name": "Ada Lovelace"}, actor=MEMBER)
    entry = entries.create_entry(
        w,
        "sales",
        {"parent_object": "people", "parent_record_id": ada.id, "entry_values": {"stage": "Lead"}},
        actor=MEMBER,
    )
    await s.deliver()
    entries.update_entry(w, "sales", entry.id, {"stage": "Customer"}, mode="replace", actor=MEMBER)
    await s.deliver()
    (row,) = (await s.rows(SALES)).values()
    assert (row["entry_id"], row["parent_record_id"], row["stage"]) == (
        entry.id,
        ada.id,
        "Customer",
    )
    w.delete_record("people", ada.id, actor=MEMBER)  # its entries go with it
    await s.deliver()
    assert (await s.rows(SALES))[entry.id]["deleted"] is True
    assert (await s.rows(PEOPLE))[ada.id]["deleted"] is True


async def test_the_mirror_sees_the_runners_own_writes_and_nothing_else_does(
    make_sync: Any,
) -> None:
    s: Sync = await make_sync()
    w = s.h.fake.workspace
    # A write through the runner's own client (what a rule or a push does):
    # the greeting rule must not answer it, the mirror must see it.
    made = await s.h.dispatcher.processor.attio.create_record(
        "people",
        {"name": [{"first_name": "Made", "last_name": "By Us", "full_name": "Made By Us"}]},
    )
    person_id = made["id"]["record_id"]
    await s.deliver()
    assert (await s.rows())[person_id]["name"] == "Made By Us"
    assert not w.notes
    (event,) = await s.events(event_type="record.created")
    trace = await s.h.store.get_trace(event.id)
    assert trace is not None
    assert [a["action"] for a in trace["actions"]] == ["sync.mirror"]


async def test_a_sync_database_outage_retries_and_loses_nothing(make_sync: Any) -> None:
    s: Sync = await make_sync()
    w = s.h.fake.workspace
    person = w.create_record("people", {"name": "Ada"}, actor=MEMBER)
    await s.database.engine.dispose()
    real = s.database.engine
    from sqlalchemy.ext.asyncio import create_async_engine

    # The database is away: a URL that leads nowhere.
    s.database.engine = create_async_engine("sqlite+aiosqlite:////nonexistent/dir/crm.db")
    await s.deliver()
    (event,) = await s.events(event_type="record.created")
    assert event.status == "pending"  # to be retried, not done, not dead
    assert "sync database" in (event.reason or "")
    s.database.engine = real
    s.h.clock.advance(3600)
    await s.settle()
    assert (await s.rows())[person.id]["name"] == "Ada"
