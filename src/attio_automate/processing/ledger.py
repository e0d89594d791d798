"""The ledger as the processor sees it, kept in the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attio_automate.store.base import LedgerEntry, Store


class StoreLedger:
    """The store's ledger, for the actions of one inbox event."""

    def __init__(self, store: Store, event_id: int, clock: Callable[[], float]) -> None:
        self._store = store
        self._event_id = event_id
        self._clock = clock

    async def lookup(self, key: str) -> LedgerEntry | None:
        return await self._store.ledger_lookup(key)

    async def intend(self, key: str, action: str) -> None:
        await self._store.ledger_intend(
            key, event_id=self._event_id, action=action, now=self._clock()
        )

    async def record(self, key: str, action: str, result: Any) -> None:
        await self._store.ledger_record(
            key, event_id=self._event_id, action=action, result=result, now=self._clock()
        )
