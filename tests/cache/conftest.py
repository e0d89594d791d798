"""A real Redis on loopback for the shared cache's tests (skipped where there
is none, failed in CI, which must run them)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator

import pytest

from attio_automate.cache.backend import CacheBackend, MemoryBackend
from attio_automate.cache.redis_backend import RedisBackend
from tests.store.conftest import _skip_or_fail

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_available() -> str | None:
    """None if Redis answers, else why not."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1.0):
            return None
    except OSError as exc:
        return f"Redis at 127.0.0.1:6379 is not reachable ({exc})"


def redis_backend(ttl: float = 0.5) -> RedisBackend:
    """A backend on the local Redis, its keys apart from every other test's."""
    reason = redis_available()
    if reason:
        _skip_or_fail(reason)
    return RedisBackend(REDIS_URL, ttl=ttl, prefix=f"test-{uuid.uuid4().hex[:10]}")


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[CacheBackend]:
    """Each backend in turn, with a TTL of half a second."""
    chosen: CacheBackend = MemoryBackend(ttl=0.5) if request.param == "memory" else redis_backend()
    yield chosen
    await chosen.close()
