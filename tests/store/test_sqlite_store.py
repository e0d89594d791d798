"""The store's semantics: durable inserts, ordered claims, leases, ledger, retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from attio_automate.store import SQLiteStore, open_store_url
from attio_automate.store.base import NewEvent, Store

pytestmark = pytest.mark.anyio


def new(key: str, ordering: str, at: float = 100.0) -> NewEvent:
    return NewEvent(
        key=key,
        ordering_key=ordering,
        event_type="record.updated",
        payload={"event_type": "record.updated", "id": {"record_id": ordering}},
        webhook_id="w",
        received_at=at,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = SQLiteStore(tmp_path / "store.db")
    await store.open()
    yield store
    await store.close()


async def test_inserts_report_duplicates_and_survive_reopening(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    await store.open()
    assert await store.insert_events([new("d:0", "r1"), new("d:1", "r2")]) == [True, True]
    assert await store.insert_events([new("d:1", "r2"), new("d:2", "r1")]) == [False, True]
    await store.close()
    again = SQLiteStore(tmp_path / "s.db")
    await again.open()  # migrations run once; reopening is fine
    assert await again.status_counts() == {"pending": 3}
    await again.close()


async def test_concurrent_inserts_share_commits(store: SQLiteStore) -> None:
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
    first = await store.claim("one", limit=10, lease=30, now=200)
    assert [e.key for e in first] == ["a:0", "a:1", "a:3"]  # r1's second waits
    assert await store.claim("two", limit=10, lease=30, now=201) == []
    await store.finish(first[0].id, "one", status="done", trace={"t": 1}, reason=None, now=202)
    second = await store.claim("two", limit=10, lease=30, now=203)
    assert [e.key for e in second] == ["a:2"]
    assert await store.get_trace(first[0].id) == {"t": 1}


async def test_expired_leases_come_back(store: Store) -> None:
    await store.insert_events([new("b:0", "r1"), new("b:1", "r1")])
    claimed = await store.claim("crashed", limit=10, lease=5, now=100)
    assert [e.key for e in claimed] == ["b:0"]
    assert await store.claim("other", limit=10, lease=5, now=104) == []
    back = await store.claim("other", limit=10, lease=5, now=106)
    assert [e.key for e in back] == ["b:0"]  # the same event, still first
    await store.renew("other", [back[0].id], lease=5, now=110)
    assert await store.claim("third", limit=10, lease=5, now=112) == []


async def test_retry_later_waits_and_counts_attempts(store: Store) -> None:
    await store.insert_events([new("c:0", "r1")])
    claimed = await store.claim("o", limit=1, lease=30, now=100)
    await store.retry_later(
        claimed[0].id, "o", available_at=150, trace=None, reason="503", now=101, count_attempt=True
    )
    assert await store.claim("o", limit=1, lease=30, now=149) == []
    again = await store.claim("o", limit=1, lease=30, now=150)
    assert again[0].attempts == 1
    await store.retry_later(
        again[0].id,
        "o",
        available_at=151,
        trace=None,
        reason="breaker open",
        now=150,
        count_attempt=False,
    )
    event = await store.get_event(again[0].id)
    assert event is not None
    assert (event.status, event.attempts, event.reason) == ("pending", 1, "breaker open")


async def test_release_gives_back_what_an_owner_holds(store: Store) -> None:
    await store.insert_events([new("d:0", "r1"), new("d:1", "r2")])
    await store.claim("leaving", limit=10, lease=300, now=100)
    assert await store.release("leaving") == 2
    assert len(await store.claim("next", limit=10, lease=300, now=101)) == 2


async def test_ledger_intent_then_done(store: Store) -> None:
    assert await store.ledger_lookup("k") is None
    await store.ledger_intend("k", event_id=1, action="add_note", now=1)
    entry = await store.ledger_lookup("k")
    assert entry is not None
    assert (entry.state, entry.action) == ("intent", "add_note")
    await store.ledger_record("k", event_id=1, action="add_note", result={"note_id": "n"}, now=2)
    entry = await store.ledger_lookup("k")
    assert entry is not None
    assert (entry.state, entry.result) == ("done", {"note_id": "n"})


async def test_sweep_removes_old_finished_events_and_keeps_dead_letters(store: Store) -> None:
    await store.insert_events([new("e:0", "r1"), new("e:1", "r2"), new("e:2", "r3")])
    claimed = await store.claim("o", limit=10, lease=30, now=100)
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


def test_store_urls() -> None:
    from attio_automate.errors import ConfigError

    assert isinstance(open_store_url("sqlite:///data/x.db"), SQLiteStore)
    assert open_store_url("sqlite:////abs/x.db").path == "/abs/x.db"  # type: ignore[attr-defined]
    assert open_store_url("sqlite:///data/x.db").path == "data/x.db"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="unsupported scheme"):
        open_store_url("mysql://x")
    with pytest.raises(ConfigError, match="names no file"):
        open_store_url("sqlite:///")
