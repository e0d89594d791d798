"""Waits in both stores: kept by policy within their group, cancelled by group."""

from __future__ import annotations

import time

import pytest

from attio_automate.store.base import EventFilter, NewEvent, Store

pytestmark = pytest.mark.anyio


#: An hour from now (PostgreSQL claims by its own clock).
DUE = time.time() + 3600


def wait(key: str, group: str, due: float = DUE) -> NewEvent:
    payload = {"event_type": "record.created", "id": {}, "wait": {"group": group, "rule": "r"}}
    return NewEvent(key, key, "wait", payload, None, due, due)


async def pending(store: Store) -> list[str]:
    found = await store.list_events(EventFilter(event_type="wait", status="pending"))
    return sorted(e.key for e in found)


async def test_policies_and_cancelling(store: Store) -> None:
    assert await store.insert_wait(
        wait("w1", "r|record:a"), group="r|record:a", policy="replace", now=1
    )
    assert await store.insert_wait(
        wait("b1", "r|record:b"), group="r|record:b", policy="replace", now=1
    )
    # keep: another is pending in the group, so this one is not stored.
    assert not await store.insert_wait(
        wait("w2", "r|record:a"), group="r|record:a", policy="keep", now=2
    )
    assert await pending(store) == ["b1", "w1"]
    # parallel: both.
    assert await store.insert_wait(
        wait("w3", "r|record:a"), group="r|record:a", policy="parallel", now=3
    )
    assert await pending(store) == ["b1", "w1", "w3"]
    # replace: the others of the group end, other groups stay.
    assert await store.insert_wait(
        wait("w4", "r|record:a"), group="r|record:a", policy="replace", now=4
    )
    assert await pending(store) == ["b1", "w4"]
    # the same wait again (a retry) is not a second one.
    assert not await store.insert_wait(
        wait("w4", "r|record:a"), group="r|record:a", policy="replace", now=5
    )
    assert await store.cancel_waits("r|record:a", now=6, reason="cancelled by test") == 1
    assert await pending(store) == ["b1"]
    replaced = await store.list_events(EventFilter(event_type="wait", status="skipped"))
    reasons = {e.key: e.reason for e in replaced}
    assert reasons["w1"] == "replaced by w4"
    assert reasons["w4"] == "cancelled by test"
    # Not due yet: nobody claims it.
    assert await store.claim("o", limit=10, lease=30, now=time.time()) == []
