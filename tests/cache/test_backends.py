"""Both cache backends keep the same promises: a copy is served within its
TTL, and never once an invalidation has overtaken its fetch."""

from __future__ import annotations

import anyio
import pytest

from attio_automate.cache.backend import CacheBackend, Copy, MemoryBackend
from attio_automate.cache.redis_backend import RedisBackend

pytestmark = pytest.mark.anyio

RECORD = {"id": {"record_id": "r1"}, "values": {"name": [{"value": "Ada"}]}}
NEWER = {"id": {"record_id": "r1"}, "values": {"name": [{"value": "Grace"}]}}


async def test_a_copy_is_served_until_its_ttl_runs_out(backend: CacheBackend) -> None:
    copy, token = await backend.lookup("record:r1")
    assert copy is None
    assert await backend.store("record:r1", Copy(RECORD, 100.0), token)
    copy, _ = await backend.lookup("record:r1")
    assert copy == Copy(RECORD, 100.0)
    await anyio.sleep(0.6)
    assert (await backend.lookup("record:r1"))[0] is None


async def test_invalidation_forgets_the_copy(backend: CacheBackend) -> None:
    _, token = await backend.lookup("record:r1")
    await backend.store("record:r1", Copy(RECORD, 1.0), token)
    await backend.store("record:r2", Copy(RECORD, 1.0), (await backend.lookup("record:r2"))[1])
    await backend.invalidate(["record:r1"])
    assert (await backend.lookup("record:r1"))[0] is None
    assert (await backend.lookup("record:r2"))[0] is not None  # others stay


async def test_a_fetch_overtaken_by_an_invalidation_is_not_kept(backend: CacheBackend) -> None:
    # A fetch begins (the token), a webhook invalidates, the fetch ends: its
    # copy predates the change and must never be served.
    _, token = await backend.lookup("record:r1")
    await backend.invalidate(["record:r1"])
    await backend.store("record:r1", Copy(RECORD, 1.0), token)
    assert (await backend.lookup("record:r1"))[0] is None
    # A fetch begun after the invalidation is kept.
    _, fresh = await backend.lookup("record:r1")
    assert await backend.store("record:r1", Copy(NEWER, 2.0), fresh)
    assert (await backend.lookup("record:r1"))[0] == Copy(NEWER, 2.0)


async def test_an_invalidation_of_another_key_does_not_spoil_a_fetch(
    backend: CacheBackend,
) -> None:
    _, token = await backend.lookup("record:r1")
    await backend.invalidate(["record:r9"])
    await backend.store("record:r1", Copy(RECORD, 1.0), token)
    assert (await backend.lookup("record:r1"))[0] == Copy(RECORD, 1.0)


async def test_the_lru_is_bounded_and_eviction_does_not_revive_stale_copies() -> None:
    lru = MemoryBackend(ttl=60, max_entries=3)
    _, token = await lru.lookup("record:a")
    await lru.invalidate(["record:a"])
    for key in ("record:b", "record:c", "record:d"):  # push a's invalidation out
        await lru.store(key, Copy(RECORD, 1.0), (await lru.lookup(key))[1])
    assert len(lru) == 3
    # The fetch of a that began before its invalidation still cannot land.
    assert not await lru.store("record:a", Copy(RECORD, 1.0), token)
    assert (await lru.lookup("record:a"))[0] is None


async def test_redis_going_away_is_a_miss_not_an_error() -> None:
    gone = RedisBackend("redis://127.0.0.1:1/0", ttl=10, prefix="nowhere", timeout=0.2)
    copy, token = await gone.lookup("record:r1")
    assert copy is None
    assert not await gone.store("record:r1", Copy(RECORD, 1.0), token)
    await gone.invalidate(["record:r1"])  # logged and counted, not raised
    assert gone.errors == 2  # the store after a failed lookup is not tried
    await gone.close()
