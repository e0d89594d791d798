"""The ledger as the processor sees it: the protocol, one in memory (tests,
dry runs, the demo) and one kept in the store."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from attio_automate.errors import StoreError
from attio_automate.store.base import LedgerEntry, Store

T = TypeVar("T")


class Ledger(Protocol):
    """Remembers actions by key so a retried event skips what already happened.

    ``intend`` is written (durably) before a non-idempotent action runs;
    ``record`` once it is done.  An intent without a record means the runner
    stopped in between: the action may or may not have happened.
    """

    async def lookup(self, keys: Sequence[str]) -> dict[str, LedgerEntry]:
        """The entries of those ``keys`` that exist, by key (one round trip)."""
        ...

    async def intend(self, key: str, action: str) -> None: ...
    async def record(self, key: str, action: str, result: Any) -> None: ...
    async def claimed(self, action: str, field: str, value: str, *, except_key: str) -> bool:
        """Whether another action's result already is this one (see the store)."""
        ...


class MemoryLedger:
    """A ledger in memory (tests, dry runs, the demo)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.entries: dict[str, LedgerEntry] = {}
        self._clock = clock

    async def lookup(self, keys: Sequence[str]) -> dict[str, LedgerEntry]:
        return {k: self.entries[k] for k in keys if k in self.entries}

    async def intend(self, key: str, action: str) -> None:
        self.entries.setdefault(key, LedgerEntry(key, "intent", action, None, self._clock()))

    async def record(self, key: str, action: str, result: Any) -> None:
        self.entries[key] = LedgerEntry(key, "done", action, result, self._clock())

    async def claimed(self, action: str, field: str, value: str, *, except_key: str) -> bool:
        return any(
            e.key != except_key
            and e.action == action
            and e.state == "done"
            and isinstance(e.result, dict)
            and e.result.get(field) == value
            for e in self.entries.values()
        )


class StoreLedger:
    """The store's ledger, for the actions of one inbox event.

    A store that fails here (a lost connection, a locked database) raises
    :class:`StoreError`: retryable, so the event is tried again later rather
    than sent to the dead letter for an outage that was not its fault.
    """

    def __init__(self, store: Store, event_id: int, clock: Callable[[], float]) -> None:
        self._store = store
        self._event_id = event_id
        self._clock = clock

    async def lookup(self, keys: Sequence[str]) -> dict[str, LedgerEntry]:
        return await _guarded(self._store.ledger_entries(keys))

    async def intend(self, key: str, action: str) -> None:
        await _guarded(
            self._store.ledger_intend(
                key, event_id=self._event_id, action=action, now=self._clock()
            )
        )

    async def claimed(self, action: str, field: str, value: str, *, except_key: str) -> bool:
        return await _guarded(
            self._store.ledger_claimed(action, field, value, except_key=except_key)
        )

    async def record(self, key: str, action: str, result: Any) -> None:
        await _guarded(
            self._store.ledger_record(
                key, event_id=self._event_id, action=action, result=result, now=self._clock()
            )
        )


async def _guarded(call: Awaitable[T]) -> T:
    try:
        return await call
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"the store's ledger failed: {type(exc).__name__}: {exc}") from exc
