"""The store's semantics, the same on SQLite and PostgreSQL: durable inserts,
ordered claims, leases, the ledger, retention, the shared rate-limit slots."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import anyio
import pytest

from attio_automate.store import open_store_url
from attio_automate.store.base import EventFilter, EventStatus, NewEvent, Store

pytestmark = pytest.mark.anyio


def new(key: str, ordering: str, at: float | None = None) -> NewEvent:
    return NewEvent(
        key=key,
        ordering_key=ordering,
        event_type="record.updated",
        payload={"event_type": "record.updated", "id": {"record_id": ordering}},
        webhook_id="w",
        received_at=time.time() if at is None else at,
    )


async def test_inserts_report_duplicates_and_survive_reopening(
    make_store: Callable[[], Store],
) -> None:
    store = make_store()
    await store.open()
    assert await store.insert_events([new("d:0", "r1"), new("d:1", "r2")]) == [True, True]
    assert await store.insert_events([new("d:1", "r2"), new("d:2", "r1")]) == [False, True]
    again = make_store()
    await again.open()  # migrations run once; a second runner opening is fine
    assert await again.status_counts() == {"pending": 3}


async def test_concurrent_inserts(store: Store) -> None:
    results: list[list[bool]] = []

    async def deliver(n: int) -> None:
        results.append(await store.insert_events([new(f"k{n}:0", f"r{n}")]))

    async with anyio.create_task_group() as tasks:
        for n in range(50):
            tasks.start_soon(deliver, n)
    assert sorted(results) == [[True]] * 50
    assert (await store.status_counts())["pending"] == 50


async def test_claims_keep_per_key_order_and_one_in_flight_per_key(store: Store) -> None:
    await store.insert_events(
        [new("a:0", "r1"), new("a:1", "r2"), new("a:2", "r1"), new("a:3", "r3")]
    )
    now = time.time()
    first = await store.claim("one", limit=10, lease=30, now=now)
    assert [e.key for e in first] == ["a:0", "a:1", "a:3"]  # r1's second waits
    assert await store.claim("two", limit=10, lease=30, now=now) == []
    await store.finish(first[0].id, "one", status="done", trace={"t": 1}, reason=None, now=now)
    second = await store.claim("two", limit=10, lease=30, now=time.time())
    assert [e.key for e in second] == ["a:2"]
    assert await store.get_trace(first[0].id) == {"t": 1}


async def test_concurrent_claimers_never_share_an_event(store: Store) -> None:
    await store.insert_events([new(f"c:{n}", f"r{n % 7}") for n in range(60)])
    seen: list[str] = []

    async def runner(name: str) -> None:
        while True:
            claimed = await store.claim(name, limit=3, lease=30, now=time.time())
            if not claimed:
                counts = await store.status_counts()
                if counts.get("pending", 0) == 0 and counts.get("processing", 0) == 0:
                    return
                await anyio.sleep(0.01)
                continue
            for event in claimed:
                seen.append(event.key)
                await store.finish(
                    event.id, name, status="done", trace=None, reason=None, now=time.time()
                )

    async with anyio.create_task_group() as tasks:
        for n in range(3):
            tasks.start_soon(runner, f"runner-{n}")
    assert sorted(seen) == sorted(f"c:{n}" for n in range(60))
    for key in range(7):  # each record's events in arrival order
        order = [int(k.split(":")[1]) for k in seen if int(k.split(":")[1]) % 7 == key]
        assert order == sorted(order)


async def test_expired_leases_come_back(store: Store) -> None:
    await store.insert_events([new("b:0", "r1"), new("b:1", "r1")])
    claimed = await store.claim("crashed", limit=10, lease=0.3, now=time.time())
    assert [e.key for e in claimed] == ["b:0"]
    assert await store.claim("other", limit=10, lease=5, now=time.time()) == []
    await anyio.sleep(0.4)
    back = await store.claim("other", limit=10, lease=0.5, now=time.time())
    assert [e.key for e in back] == ["b:0"]  # the same event, still first
    await store.renew("other", [back[0].id], lease=30, now=time.time())
    await anyio.sleep(0.6)
    assert await store.claim("third", limit=10, lease=5, now=time.time()) == []


async def test_retry_later_waits_and_counts_attempts(store: Store) -> None:
    await store.insert_events([new("c:0", "r1")])
    now = time.time()
    claimed = await store.claim("o", limit=1, lease=30, now=now)
    await store.retry_later(
        claimed[0].id,
        "o",
        available_at=now + 0.3,
        trace=None,
        reason="503",
        now=now,
        count_attempt=True,
    )
    assert await store.claim("o", limit=1, lease=30, now=time.time()) == []
    await anyio.sleep(0.35)
    again = await store.claim("o", limit=1, lease=30, now=time.time())
    assert again[0].attempts == 1
    await store.retry_later(
        again[0].id,
        "o",
        available_at=time.time(),
        trace=None,
        reason="breaker open",
        now=time.time(),
        count_attempt=False,
    )
    event = await store.get_event(again[0].id)
    assert event is not None
    assert (event.status, event.attempts, event.reason) == ("pending", 1, "breaker open")
    assert [a["status"] for a in await store.attempts(event.id)] == ["pending", "pending"]


async def test_release_gives_back_what_an_owner_holds(store: Store) -> None:
    await store.insert_events([new("d:0", "r1"), new("d:1", "r2")])
    await store.claim("leaving", limit=10, lease=300, now=time.time())
    assert await store.release("leaving") == 2
    assert len(await store.claim("next", limit=10, lease=300, now=time.time())) == 2


async def test_ledger_intent_then_done(store: Store) -> None:
    assert await store.ledger_lookup("k") is None
    await store.ledger_intend("k", event_id=None, action="add_note", now=1)
    entry = await store.ledger_lookup("k")
    assert entry is not None
    assert (entry.state, entry.action) == ("intent", "add_note")
    await store.ledger_record("k", event_id=None, action="add_note", result={"note_id": "n"}, now=2)
    entry = await store.ledger_lookup("k")
    assert entry is not None
    assert (entry.state, entry.result) == ("done", {"note_id": "n"})


async def test_listing_taking_and_requeueing(store: Store) -> None:
    await store.insert_events([new("e:0", "r1", at=100), new("e:1", "r2", at=200)])
    claimed = await store.claim("o", limit=10, lease=30, now=time.time())
    await store.finish(
        claimed[0].id,
        "o",
        status="dead",
        reason="bad",
        now=time.time(),
        trace={"decisions": [{"rule": "x", "matched": True}]},
    )
    assert [e.key for e in await store.list_events(EventFilter(status="dead"))] == ["e:0"]
    assert [e.key for e in await store.list_events(EventFilter(rule="x"))] == ["e:0"]
    assert await store.list_events(EventFilter(rule="y")) == []
    assert [e.key for e in await store.list_events(EventFilter(since=150))] == ["e:1"]
    assert [e.key for e in await store.list_events(EventFilter(event_type="record.*"))] == [
        "e:1",
        "e:0",
    ]
    taken, busy = await store.take(
        [claimed[0].id, claimed[1].id], "cli", lease=30, now=time.time(), force=True
    )
    assert [e.key for e in taken] == ["e:0"]
    assert taken[0].force
    assert busy == [claimed[1].id]  # still leased by "o"
    assert await store.requeue([claimed[0].id], now=time.time(), force=False) == 0  # leased
    await store.finish(
        claimed[0].id, "cli", status="done", trace=None, reason=None, now=time.time()
    )
    assert await store.requeue([claimed[0].id], now=time.time(), force=False) == 1
    assert (await store.get_event(claimed[0].id)).status == "pending"  # type: ignore[union-attr]


async def test_endings_at_the_same_moment_all_count_in_order(store: Store) -> None:
    await store.insert_events([new(f"f:{n}", f"r{n}") for n in range(4)])
    claimed = await store.claim("o", limit=4, lease=30, now=time.time())
    first, second = claimed[0].id, claimed[1].id
    now = time.time()

    async def ending(event_id: int, status: EventStatus, n: int) -> None:
        trace = {"n": n}
        if status == "pending":
            await store.retry_later(
                event_id,
                "o",
                available_at=now,
                trace=trace,
                reason="later",
                now=now + n,
                count_attempt=True,
            )
        else:
            await store.finish(event_id, "o", status=status, trace=trace, reason=None, now=now + n)

    # Written together (one batch where the store batches), one event twice.
    async with anyio.create_task_group() as group:
        group.start_soon(ending, claimed[2].id, "done", 0)
        group.start_soon(ending, first, "pending", 1)
        group.start_soon(ending, first, "done", 2)
        group.start_soon(ending, second, "skipped", 3)
    event = await store.get_event(first)
    assert event is not None
    assert (event.status, event.attempts, event.finished_at) == ("done", 2, now + 2)
    assert [a["status"] for a in await store.attempts(first)] == ["pending", "done"]
    assert await store.get_trace(first) == {"n": 2}
    statuses = {e.id: e.status for e in await store.list_events(EventFilter())}
    assert (statuses[second], statuses[claimed[3].id]) == ("skipped", "processing")


async def test_sweep_removes_old_finished_events_and_keeps_dead_letters(store: Store) -> None:
    await store.insert_events([new("e:0", "r1"), new("e:1", "r2"), new("e:2", "r3")])
    claimed = await store.claim("o", limit=10, lease=30, now=time.time())
    await store.finish(claimed[0].id, "o", status="done", trace={}, reason=None, now=100)
    await store.finish(claimed[1].id, "o", status="dead", trace={}, reason="bad", now=100)
    await store.finish(claimed[2].id, "o", status="done", trace={}, reason=None, now=500)
    await store.ledger_record("e:0:r:0", event_id=claimed[0].id, action="a", result=1, now=100)
    assert await store.sweep(finished_before=200) == 1
    assert await store.get_event(claimed[0].id) is None
    assert await store.get_trace(claimed[0].id) is None
    assert await store.ledger_lookup("e:0:r:0") is None
    assert (await store.get_event(claimed[1].id)) is not None  # dead letters stay
    assert (await store.get_event(claimed[2].id)) is not None  # too recent


async def test_shared_slots_space_every_taker(make_store: Callable[[], Store]) -> None:
    first, second = make_store(), make_store()
    await first.open()
    await second.open()
    slots = [
        await store.reserve_slot("writes", interval=0.1) for store in (first, second, first, second)
    ]
    # One budget, two runners: each slot 0.1 s after the one before, whoever took it.
    assert slots[0].at == pytest.approx(slots[0].now, abs=0.02)
    for earlier, later in itertools.pairwise(slots):
        assert later.at - earlier.at == pytest.approx(0.1, abs=1e-6)
        assert later.now >= earlier.now
    await second.block_slots("writes", seconds=2.0)
    blocked = await first.reserve_slot("writes", interval=0.1)
    assert blocked.at - blocked.now >= 1.9


async def test_shared_slots_start_no_sooner_than_the_lead(
    make_store: Callable[[], Store],
) -> None:
    store = make_store()
    await store.open()
    slot = await store.reserve_slot("reads", interval=0.01, lead=0.3)
    assert slot.at - slot.now == pytest.approx(0.3, abs=0.02)
    # Busy already: the next free slot is what counts, not the lead.
    after = await store.reserve_slot("reads", interval=0.01, lead=0.0)
    assert after.at == pytest.approx(slot.at + 0.01, abs=1e-6)


async def test_published_messages_reach_subscribers(make_store: Callable[[], Store]) -> None:
    store = make_store()
    await store.open()
    got: list[str] = []
    store.subscribe(got.append)
    await store.publish("schema:objects:abc")
    with anyio.fail_after(5):
        while "schema:objects:abc" not in got:  # noqa: ASYNC110 - a notification, polled
            await anyio.sleep(0.01)


def test_store_urls() -> None:
    from attio_automate.errors import ConfigError
    from attio_automate.store import SQLiteStore
    from attio_automate.store.postgres import PostgresStore

    assert isinstance(open_store_url("sqlite:///data/x.db"), SQLiteStore)
    assert open_store_url("sqlite:////abs/x.db").path == "/abs/x.db"  # type: ignore[attr-defined]
    pg = open_store_url("postgresql://u@h:5432/db?search_path=s1")
    assert isinstance(pg, PostgresStore)
    assert (pg.url, pg.search_path) == ("postgresql://u@h:5432/db", "s1")
    with pytest.raises(ConfigError, match="unsupported scheme"):
        open_store_url("mysql://x")
    with pytest.raises(ConfigError, match="names no file"):
        open_store_url("sqlite:///")


def test_store_urls_are_shown_without_their_password() -> None:
    from attio_automate.store import shown_url

    assert shown_url("postgresql://u:p%40ss@db:5432/x?search_path=s") == (
        "postgresql://u:***@db:5432/x?search_path=s"
    )
    assert shown_url("postgresql://u@db/x") == "postgresql://u@db/x"
    assert shown_url("sqlite:///data/x.db") == "sqlite:///data/x.db"


async def test_a_burst_of_inserts_gets_the_inbox_analyzed(
    postgres_url: str, make_postgres_store: Callable[[], Store]
) -> None:
    # Only PostgreSQL plans claims from table statistics.
    import asyncpg

    from attio_automate.store.postgres import ANALYZE_AFTER

    store = make_postgres_store()
    await store.open()
    schema = postgres_url.rsplit("search_path=", 1)[1]
    connection = await asyncpg.connect(postgres_url.split("?", 1)[0])

    async def analyzed() -> bool:
        # What the planner will use: statistics for the inbox's status column.
        count = await connection.fetchval(
            "SELECT count(*) FROM pg_stats WHERE schemaname = $1 AND tablename = 'inbox' "
            "AND attname = 'status'",
            schema,
        )
        return bool(count)

    try:
        await store.insert_events([new(f"g:{n}", f"r{n}") for n in range(ANALYZE_AFTER // 2)])
        await store.claim("o", limit=1, lease=30, now=time.time())
        assert not await analyzed()
        await store.insert_events([new(f"h:{n}", f"s{n}") for n in range(ANALYZE_AFTER // 2 + 1)])
        claimed = await store.claim("o", limit=16, lease=30, now=time.time())
        assert await analyzed()
        assert [e.key for e in claimed] == [f"g:{n}" for n in range(1, 17)]
    finally:
        await connection.close()


async def test_a_lost_channel_is_won_back(
    postgres_url: str, make_postgres_store: Callable[[], Store]
) -> None:
    # Only PostgreSQL has a channel to lose.
    import asyncpg

    from attio_automate.store.base import RESYNC

    admin = await asyncpg.connect(postgres_url.split("?", 1)[0])
    listeners = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND query LIKE 'LISTEN %'"
    )
    try:
        other = make_postgres_store()
        await other.open()
        before = {row["pid"] for row in await admin.fetch(listeners)}
        store = make_postgres_store()
        await store.open()
        got: list[str] = []
        store.subscribe(got.append)
        mine = [row["pid"] for row in await admin.fetch(listeners) if row["pid"] not in before]
        assert len(mine) == 1
        # The database drops this runner's channel (a restart, a network cut).
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", mine)
        with anyio.fail_after(10):
            while RESYNC not in got:
                await store.claim("o", limit=1, lease=30, now=time.time())
                await anyio.sleep(0.05)
        await other.publish("schema:objects:heard")
        with anyio.fail_after(5):
            while "schema:objects:heard" not in got:  # noqa: ASYNC110 - a notification, polled
                await anyio.sleep(0.01)
    finally:
        await admin.close()


async def test_depths_count_unfinished_and_dead_events(store: Store) -> None:
    await store.insert_events([new(f"q:{n}", f"r{n}") for n in range(4)])
    claimed = await store.claim("me", limit=10, lease=30, now=time.time())
    assert len(claimed) == 4
    done, dead, _, _ = claimed
    await store.finish(done.id, "me", status="done", trace=None, reason=None, now=time.time())
    await store.finish(dead.id, "me", status="dead", trace=None, reason="x", now=time.time())
    assert await store.depths() == (2, 1)
    counts = await store.status_counts()
    assert (counts.get("processing"), counts.get("done"), counts.get("dead")) == (2, 1, 1)


async def test_the_ledger_says_whose_result_something_is(store: Store) -> None:
    await store.ledger_record(
        "a:note", event_id=None, action="add_note", result={"note_id": "n1"}, now=1.0
    )
    await store.ledger_intend("b:note", event_id=None, action="add_note", now=2.0)
    entry = await store.ledger_lookup("b:note")
    assert entry is not None
    assert (entry.state, entry.at) == ("intent", 2.0)
    assert await store.ledger_claimed("add_note", "note_id", "n1", except_key="b:note")
    assert not await store.ledger_claimed("add_note", "note_id", "n1", except_key="a:note")
    assert not await store.ledger_claimed("add_note", "note_id", "n2", except_key="b:note")
    assert not await store.ledger_claimed("create_task", "note_id", "n1", except_key="b:note")


async def test_heartbeats_are_kept_and_forgotten(store: Store) -> None:
    await store.beat("r1", host="h", pid=10, now=1.0)
    await store.beat("r2", host="h", pid=11, now=1.5)
    await store.beat("r1", host="h", pid=10, now=2.0)
    beats = {b.owner: (b.host, b.pid, b.at) for b in await store.heartbeats()}
    assert beats == {"r1": ("h", 10, 2.0), "r2": ("h", 11, 1.5)}
    await store.forget("r1")
    assert [b.owner for b in await store.heartbeats()] == ["r2"]


async def test_bodies_remember_the_key_they_first_came_with(store: Store) -> None:
    # New: the key itself.  The same body under another key within the window:
    # the first key.  After the window: the new key takes over.
    assert await store.remember_body("d1", "k1", now=100.0, window=60) == "k1"
    assert await store.remember_body("d1", "k1", now=110.0, window=60) == "k1"
    assert await store.remember_body("d1", "k2", now=120.0, window=60) == "k1"
    assert await store.remember_body("d1", "k3", now=200.0, window=60) == "k3"
    assert await store.remember_body("d2", "k2", now=200.0, window=60) == "k2"
