"""Reconcile: what the webhooks missed is repaired, counted, and told to the
rules once each; a run that dies resumes at its checkpoint."""

from __future__ import annotations

from typing import Any

import pytest

from attio_automate.errors import AttioServerError
from attio_automate.store.base import EventFilter
from attio_automate.sync.spec import MirrorSpec
from tests.processing.conftest import make  # noqa: F401  (the harness fixture)
from tests.sync.conftest import MEMBER, NOTHING, PEOPLE, Sync

pytestmark = pytest.mark.anyio


async def test_changes_made_while_the_runner_was_down_are_repaired(make_sync: Any) -> None:
    s: Sync = await make_sync(PEOPLE)
    s.h.use_rules(NOTHING)
    w = s.h.fake.workspace
    kept = w.create_record("people", {"name": "Kept", "job_title": "CEO"}, actor=MEMBER)
    changed = w.create_record("people", {"name": "Changed", "job_title": "CTO"}, actor=MEMBER)
    gone = w.create_record("people", {"name": "Gone"}, actor=MEMBER)
    await s.deliver()
    s.h.clock.advance(60)
    # The runner is down: none of this reaches it as a webhook.
    w.update_record("people", changed.id, {"job_title": "CFO"}, mode="replace", actor=MEMBER)
    w.delete_record("people", gone.id, actor=MEMBER)
    new = w.create_record("people", {"name": "New"}, actor=MEMBER)
    s.heard.clear()
    s.h.clock.advance(3600)
    counts = (await s.reconciler().run())["attio_people"]
    assert (counts.checked, counts.created, counts.updated, counts.deleted, counts.unchanged) == (
        4,
        1,
        1,
        1,
        1,
    )
    rows = await s.rows()
    assert rows[changed.id]["title"] == "CFO"
    assert rows[gone.id]["deleted"] is True
    assert rows[new.id]["name"] == "New"
    assert rows[kept.id]["title"] == "CEO"
    # Each change found goes to the rules as a synthetic event, once.
    found = sorted(
        (e.event_type, e.payload["id"]["record_id"])
        for e in await s.events()
        if e.payload.get("reconciled")
    )
    assert found == sorted(
        [
            ("record.created", new.id),
            ("record.updated", changed.id),
            ("record.deleted", gone.id),
        ]
    )
    await s.settle()
    # A second run finds nothing to do and tells nobody anything.
    again = (await s.reconciler().run())["attio_people"]
    assert (again.checked, again.unchanged, again.created, again.updated) == (3, 3, 0, 0)
    assert len([e for e in await s.events() if e.payload.get("reconciled")]) == 3


async def test_a_run_that_dies_resumes_at_its_checkpoint(make_sync: Any) -> None:
    s: Sync = await make_sync(PEOPLE)
    s.h.use_rules(NOTHING)
    w = s.h.fake.workspace
    s.h.clock.advance(1)  # made after the mirror began: missed creations, not the initial load
    people = [w.create_record("people", {"name": f"P{n}"}, actor=MEMBER).id for n in range(25)]
    s.heard.clear()
    pages: list[int] = []
    original = s.h.dispatcher.processor.attio.query_page

    failing = [True]

    async def failing_after_two(*args: Any, **kwargs: Any) -> Any:
        pages.append(kwargs["offset"])
        if failing[0] and kwargs["offset"] >= 10:
            # Attio fails the third page (and all after it).
            raise AttioServerError(
                status_code=503, type="server_error", code="unavailable", message="down"
            )
        return await original(*args, **kwargs)

    s.h.dispatcher.processor.attio.query_page = failing_after_two  # type: ignore[method-assign]
    with pytest.raises(AttioServerError):
        await s.reconciler(page_size=5).run()
    checkpoint = await s.database.get_state("reconcile:attio_people")
    assert checkpoint["phase"] == "pages"
    assert checkpoint["offset"] == 10  # two pages compared and kept
    assert len(await s.rows()) == 10
    pages.clear()
    failing[0] = False
    counts = (await s.reconciler(page_size=5).run())["attio_people"]
    # Resumed where it was: the first two pages are not read again.
    assert min(pages) == 10
    assert counts.checked == 25
    assert counts.created == 25
    assert set(await s.rows()) == set(people)
    created = [e for e in await s.events() if e.payload.get("reconciled")]
    assert len(created) == 25  # one each, though the run was two


async def test_the_initial_load_tells_no_rule(
    make: Any,  # noqa: F811
    sync_url: str,
) -> None:
    h = await make()
    w = h.fake.workspace
    before = [w.create_record("people", {"name": f"Old {n}"}, actor=MEMBER).id for n in range(5)]
    from attio_automate.sync.database import SyncDatabase
    from attio_automate.sync.reconcile import Reconciler
    from attio_automate.sync.spec import SyncSpec

    h.clock.advance(60)
    database = SyncDatabase(SyncSpec(database=sync_url, mirrors=(PEOPLE,)), clock=h.clock)
    await database.open(h.dispatcher.processor.schema)
    try:
        h.clock.advance(60)
        later = w.create_record("people", {"name": "New"}, actor=MEMBER).id
        reconciler = Reconciler(
            database,
            attio=h.dispatcher.processor.attio,
            schema=h.dispatcher.processor.schema,
            store=h.store,
            clock=h.clock,
        )
        counts = (await reconciler.run())["attio_people"]
        assert counts.created == 6  # all mirrored...
        told = [e.payload["id"]["record_id"] for e in await h.store.list_events(EventFilter())]
        assert told == [later]  # ...but only the one made since the mirror began is news
        assert set(before).isdisjoint(told)
    finally:
        await database.close()


async def test_a_webhook_during_a_reconcile_is_not_undone(make_sync: Any) -> None:
    s: Sync = await make_sync(PEOPLE)
    s.h.use_rules(NOTHING)
    w = s.h.fake.workspace
    ada = w.create_record("people", {"name": "Ada", "job_title": "CEO"}, actor=MEMBER)
    await s.deliver()
    original = s.h.dispatcher.processor.attio.query_page

    async def page_then_change(*args: Any, **kwargs: Any) -> Any:
        page = await original(*args, **kwargs)
        if kwargs["offset"] == 0:
            # After the page was read, before it is compared: a change, and
            # its webhook, reach the mirror first.
            w.update_record("people", ada.id, {"job_title": "Chair"}, mode="replace", actor=MEMBER)
            s.h.clock.advance(1)
            await s.deliver()
        return page

    s.h.dispatcher.processor.attio.query_page = page_then_change  # type: ignore[method-assign]
    await s.reconciler().run()
    assert (await s.rows())[ada.id]["title"] == "Chair"


async def test_reconcile_streams_a_list_too(make_sync: Any) -> None:
    from attio_automate.testing.fake import entries

    sales = MirrorSpec(list="sales", table="attio_sales", columns={"stage": "stage"})
    s: Sync = await make_sync(sales)
    w = s.h.fake.workspace
    ada = w.create_record("people", {"name": "Ada"}, actor=MEMBER)
    entry = entries.create_entry(
        w,
        "sales",
        {"parent_object": "people", "parent_record_id": ada.id, "entry_values": {"stage": "Lead"}},
        actor=MEMBER,
    )
    s.heard.clear()
    counts = (await s.reconciler().run())["attio_sales"]
    assert counts.created == 1
    row = (await s.rows(sales))[entry.id]
    assert (row["stage"], row["parent_record_id"]) == ("Lead", ada.id)


async def test_a_column_added_to_the_configuration_is_added_and_filled(
    make_sync: Any, sync_url: str
) -> None:
    from attio_automate.sync.database import SyncDatabase
    from attio_automate.sync.reconcile import Reconciler
    from attio_automate.sync.spec import SyncSpec

    narrow = MirrorSpec(object="people", table="attio_people", columns={"email": "email_addresses"})
    s: Sync = await make_sync(narrow)
    s.h.use_rules(NOTHING)
    ada = s.h.fake.workspace.create_record(
        "people", {"name": "Ada", "job_title": "CEO"}, actor=MEMBER
    )
    await s.deliver()
    assert "title" not in (await s.rows(narrow))[ada.id]
    # The configuration gains a column; the runner restarts.
    wider = SyncDatabase(SyncSpec(database=sync_url, mirrors=(PEOPLE,)), clock=s.h.clock)
    await wider.open(s.h.dispatcher.processor.schema)
    try:
        s.database = wider
        row = (await s.rows(PEOPLE))[ada.id]
        assert row["title"] is None  # added, not yet filled
        assert row["name"] is None
        reconciler = Reconciler(
            wider,
            attio=s.h.dispatcher.processor.attio,
            schema=s.h.dispatcher.processor.schema,
            store=s.h.store,
            clock=s.h.clock,
        )
        counts = (await reconciler.run())["attio_people"]
        assert (counts.unchanged, counts.updated) == (1, 0)  # no change in Attio: no news
        row = (await s.rows(PEOPLE))[ada.id]
        assert (row["title"], row["name"]) == ("CEO", "Ada")
        assert not [e for e in await s.events() if e.payload.get("reconciled")]
        assert await wider.get_state("refill:attio_people") is False
    finally:
        await wider.close()


async def test_tables_of_an_earlier_version_get_the_sweeps_index(
    make_sync: Any, sync_url: str
) -> None:
    from sqlalchemy import inspect, text

    from attio_automate.sync.database import SyncDatabase
    from attio_automate.sync.spec import SyncSpec

    s: Sync = await make_sync(PEOPLE)

    def names(connection: Any) -> set[str]:
        return {i["name"] for i in inspect(connection).get_indexes("attio_people")}

    # As an earlier version left it: its index on reconciled_in, no sweep index.
    async with s.database.connect() as connection:
        await connection.execute(text("DROP INDEX attio_people_sweep"))
        await connection.execute(
            text("CREATE INDEX attio_people_reconciled ON attio_people (reconciled_in)")
        )
        assert await connection.run_sync(names) == {"attio_people_reconciled"}
    again = SyncDatabase(SyncSpec(database=sync_url, mirrors=(PEOPLE,)), clock=s.h.clock)
    await again.open(s.h.dispatcher.processor.schema)
    try:
        async with again.connect() as connection:
            assert await connection.run_sync(names) == {"attio_people_sweep"}
    finally:
        await again.close()


async def test_pages_waiting_are_compared_together_and_a_failure_after_them() -> None:
    from datetime import UTC, datetime

    import anyio

    from attio_automate.sync import paging

    now = datetime.now(UTC)

    def page(offset: int, size: int) -> paging.Page:
        return (offset, [{"id": {"record_id": f"r{offset + n}"}} for n in range(size)], now)

    send, receive = anyio.create_memory_object_stream[paging.Page | Exception](10)
    # Closed even when an assertion fails: an open stream warns in a later test.
    with send, receive:
        down = AttioServerError(status_code=503, type="server_error", code="x", message="down")
        for item in (page(100, 100), page(200, 100), down, page(600, 200)):
            send.send_nowait(item)
        pages, failure = paging.arrived(page(0, 100), receive)
        # The pages before the failure are kept; the failure comes after them.
        assert [offset for offset, _, _ in pages] == [0, 100, 200]
        assert failure is down
        # At most BATCH_RECORDS records in one transaction; nothing waiting is no wait.
        send.send_nowait(page(800, 300))
        send.send_nowait(page(1100, 300))
        pages, failure = paging.arrived(receive.receive_nowait(), receive)
        assert [offset for offset, _, _ in pages] == [600, 800]
        assert failure is None
        pages, failure = paging.arrived(receive.receive_nowait(), receive)
        assert [offset for offset, _, _ in pages] == [1100]
        assert failure is None
        send.close()  # the sender done: nothing more will come
        pages, _ = paging.arrived(page(1400, 1), receive)
        assert [offset for offset, _, _ in pages] == [1400]
