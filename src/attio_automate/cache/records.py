"""Reading records and entries through the cache.

A copy is served when it is live (within the TTL, no invalidation since its
fetch began) and, for what an event is about, fetched after the event was
received (``not_before``): a rule never sees a value older than the webhook
it is handling, even if the invalidation has not reached this runner yet.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from attio_automate.cache.backend import CacheBackend, Copy, MemoryBackend

if TYPE_CHECKING:
    from attio_automate.attio.client import AttioClient
    from attio_automate.metrics import Metrics

JSON = dict[str, Any]

#: What each kind of id is cached as.
RECORD, ENTRY = "record", "entry"


def invalidated_by(payload: Mapping[str, Any]) -> list[str]:
    """The cache keys a webhook event (Attio's JSON for it) makes stale: the
    record or entry it names (and, for a merge, the record merged away)."""
    event_type = str(payload.get("event_type", ""))
    ids = payload.get("id")
    if not isinstance(ids, Mapping):
        return []
    family = event_type.partition(".")[0]
    keys = []
    if family == "record":
        for name in ("record_id", "duplicate_record_id"):
            if isinstance(ids.get(name), str):
                keys.append(f"{RECORD}:{ids[name]}")
    elif family == "list-entry" and isinstance(ids.get("entry_id"), str):
        keys.append(f"{ENTRY}:{ids['entry_id']}")
    return keys


class RecordCache:
    """Copies of records and entries in a backend, counted in ``metrics``."""

    def __init__(
        self,
        backend: CacheBackend,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self._metrics = metrics
        self._clock = clock

    async def get(
        self,
        kind: str,
        identifier: str,
        fetch: Callable[[], Awaitable[JSON]],
        *,
        not_before: float | None = None,
    ) -> JSON:
        """The cached copy, or ``fetch()``'s answer (then cached)."""
        key = f"{kind}:{identifier}"
        copy, token = await self.backend.lookup(key)
        if copy is not None and (not_before is None or copy.fetched_at >= not_before):
            self._count("hit", kind)
            return copy.data
        self._count("miss", kind)
        started = self._clock()
        data = await fetch()
        await self.backend.store(key, Copy(data, started), token)
        return data

    async def invalidate(self, keys: list[str]) -> None:
        """Forget ``keys`` (see :func:`invalidated_by`)."""
        if not keys:
            return
        await self.backend.invalidate(keys)
        if self._metrics is not None:
            self._metrics.cache_invalidations.inc(len(keys))

    @property
    def shared(self) -> bool:
        """Whether other runners see this cache's invalidations themselves."""
        return not isinstance(self.backend, MemoryBackend)

    def heard(self, keys: list[str]) -> None:
        """Another runner received a webhook naming ``keys``: forget them
        here (a shared cache has already)."""
        if isinstance(self.backend, MemoryBackend):
            self.backend.drop(keys)
            if self._metrics is not None:
                self._metrics.cache_invalidations.inc(len(keys))

    async def close(self) -> None:
        await self.backend.close()

    def _count(self, outcome: str, kind: str) -> None:
        if self._metrics is not None:
            self._metrics.cache_lookups.labels(outcome=outcome, kind=kind).inc()


class RecordReader:
    """Records and entries from Attio, through ``cache`` when there is one."""

    def __init__(self, attio: AttioClient, cache: RecordCache | None = None) -> None:
        self.attio = attio
        self.cache = cache

    async def record(self, object: str, record_id: str, *, not_before: float | None = None) -> JSON:
        """Attio's record object (404 raises :class:`~attio_automate.errors.AttioAPIError`)."""
        if self.cache is None:
            return await self.attio.get_record(object, record_id)
        return await self.cache.get(
            RECORD,
            record_id,
            lambda: self.attio.get_record(object, record_id),
            not_before=not_before,
        )

    async def entry(self, list: str, entry_id: str, *, not_before: float | None = None) -> JSON:
        """Attio's list entry object."""
        if self.cache is None:
            return await self.attio.get_entry(list, entry_id)
        return await self.cache.get(
            ENTRY, entry_id, lambda: self.attio.get_entry(list, entry_id), not_before=not_before
        )

    async def forget(self, kind: str, identifier: str) -> None:
        """Drop one copy: after our own write to it, for instance."""
        if self.cache is not None:
            await self.cache.invalidate([f"{kind}:{identifier}"])


def open_cache(
    url: str | None,
    *,
    ttl: float,
    max_entries: int = 10_000,
    prefix: str = "attio-automate",
    metrics: Metrics | None = None,
) -> RecordCache | None:
    """A record cache in Redis at ``url``, or in this process when None;
    no cache at all when ``ttl`` is 0."""
    if ttl <= 0:
        return None
    if url is None:
        return RecordCache(MemoryBackend(ttl=ttl, max_entries=max_entries), metrics=metrics)
    # Imported here: only runners configured for Redis need the client loaded.
    from attio_automate.cache.redis_backend import RedisBackend

    return RecordCache(RedisBackend(url, ttl=ttl, prefix=prefix), metrics=metrics)
