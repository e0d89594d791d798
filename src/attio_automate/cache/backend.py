"""Where cached records live: in this process (an LRU) or in Redis.

A backend never hands back a copy that an invalidation has overtaken, and
that without comparing clocks: :meth:`CacheBackend.lookup` returns, with
what is cached, a *token* taken before the caller fetches from Attio;
:meth:`CacheBackend.store` keeps the fetched copy only if no invalidation of
that key came after the token.  So a fetch that started before a webhook
arrived, and finishes after, cannot put its older copy back.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

JSON = dict[str, Any]


@dataclass(frozen=True)
class Copy:
    """A cached record or entry: Attio's object and when its fetch began."""

    data: JSON
    fetched_at: float


class CacheBackend(Protocol):
    """Keys to copies, with invalidation that wins every race."""

    async def lookup(self, key: str) -> tuple[Copy | None, int]:
        """The live copy under ``key`` (or None) and a token for :meth:`store`."""
        ...

    async def store(self, key: str, copy: Copy, token: int) -> bool:
        """Keep ``copy`` unless ``key`` was invalidated since ``token``; say whether kept."""
        ...

    async def invalidate(self, keys: Sequence[str]) -> None:
        """Forget ``keys``, and refuse copies fetched before now."""
        ...

    async def close(self) -> None: ...


@dataclass
class _Slot:
    copy: Copy | None
    expires: float
    invalidated: int  # the sequence number of the last invalidation


class MemoryBackend:
    """An LRU of at most ``max_entries`` keys in this process.

    Tokens are a sequence number counted up by each invalidation.  A key that
    was invalidated and then pushed out of the LRU leaves its number in
    ``_floor``, so a copy fetched before it still cannot come back.
    """

    def __init__(
        self,
        *,
        ttl: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._slots: OrderedDict[str, _Slot] = OrderedDict()
        self._sequence = 0
        self._floor = 0

    def __len__(self) -> int:
        return len(self._slots)

    async def lookup(self, key: str) -> tuple[Copy | None, int]:
        slot = self._slots.get(key)
        if slot is None or slot.copy is None:
            return None, self._sequence
        if slot.expires <= self._clock():
            slot.copy = None
            return None, self._sequence
        self._slots.move_to_end(key)
        return slot.copy, self._sequence

    async def store(self, key: str, copy: Copy, token: int) -> bool:
        slot = self._slots.get(key)
        invalidated = slot.invalidated if slot is not None else self._floor
        if token < invalidated:
            return False
        self._put(key, _Slot(copy, self._clock() + self.ttl, invalidated))
        return True

    async def invalidate(self, keys: Sequence[str]) -> None:
        self.drop(keys)

    def drop(self, keys: Sequence[str]) -> None:
        """:meth:`invalidate`, callable where nothing can be awaited."""
        for key in keys:
            self._sequence += 1
            self._put(key, _Slot(None, 0.0, self._sequence))

    async def close(self) -> None:
        self._slots.clear()

    def _put(self, key: str, slot: _Slot) -> None:
        self._slots[key] = slot
        self._slots.move_to_end(key)
        while len(self._slots) > self.max_entries:
            _, evicted = self._slots.popitem(last=False)
            self._floor = max(self._floor, evicted.invalidated)
