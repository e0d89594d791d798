"""The record cache in Redis, shared by every runner that uses the same one.

Each key has a version, counted up by every invalidation; a copy is stored
with the version read before its fetch began and served only while that is
still the key's version.  Copies and versions expire (versions a minute
after copies could), so Redis holds only what was touched lately.

Redis failing is a miss, never an error: the cache only saves reads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from attio_automate.cache.backend import Copy

log = logging.getLogger(__name__)

#: How much longer than a copy a version outlives it.
_VERSION_MARGIN = 60.0


class RedisBackend:
    """A :class:`~attio_automate.cache.backend.CacheBackend` on a Redis server.

    ``prefix`` keeps workspaces (API keys) apart on a shared server.
    """

    def __init__(self, url: str, *, ttl: float, prefix: str, timeout: float = 1.0) -> None:
        self.ttl = ttl
        self._prefix = prefix
        self._redis: Redis = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self.errors = 0

    def _keys(self, key: str) -> tuple[str, str]:
        return f"{self._prefix}:copy:{key}", f"{self._prefix}:version:{key}"

    async def lookup(self, key: str) -> tuple[Copy | None, int]:
        try:
            raw, version = await self._redis.mget(self._keys(key))
        except (RedisError, OSError) as exc:
            self._failed("lookup", exc)
            return None, -1  # never stored: -1 is no version
        current = int(version) if version is not None else 0
        if raw is None:
            return None, current
        try:
            held: dict[str, Any] = json.loads(raw)
        except ValueError:
            return None, current
        if held.get("version") != current:
            return None, current
        return Copy(held["data"], float(held["fetched_at"])), current

    async def store(self, key: str, copy: Copy, token: int) -> bool:
        if token < 0:
            return False
        held = {"data": copy.data, "fetched_at": copy.fetched_at, "version": token}
        try:
            # Unconditional: a copy stored after an invalidation carries the
            # old version, and lookup serves only the current one.
            await self._redis.set(self._keys(key)[0], json.dumps(held), px=int(self.ttl * 1000))
        except (RedisError, OSError) as exc:
            self._failed("store", exc)
            return False
        return True

    async def invalidate(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        keep = int((self.ttl + _VERSION_MARGIN) * 1000)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    copy_key, version_key = self._keys(key)
                    pipe.incr(version_key)
                    pipe.pexpire(version_key, keep)
                    pipe.delete(copy_key)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            # Copies of these keys may be served until they expire; an
            # event's own record is still checked against its receipt time.
            self._failed("invalidate", exc)

    async def close(self) -> None:
        await self._redis.aclose()

    def _failed(self, what: str, exc: BaseException) -> None:
        self.errors += 1
        if self.errors == 1 or self.errors % 1000 == 0:
            log.warning("record cache: Redis %s failed (%d so far): %s", what, self.errors, exc)
