"""Group commit: callers who arrive while a batch is being written wait and
go together in the next one, so many concurrent writes cost one commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio

Item = TypeVar("Item")


@dataclass
class Pending(Generic[Item]):
    """One caller's item, and what became of it."""

    item: Item
    done: anyio.Event = field(default_factory=anyio.Event)
    result: Any = None
    error: BaseException | None = None


class GroupCommit(Generic[Item]):
    """Batches submitted items for ``flush``.

    ``flush`` receives every pending item at once and must set each one's
    ``result`` or ``error``; if it raises, every item of the batch gets that
    error.  The first caller of a batch runs the flushes, shielded from
    cancellation because the others depend on it.
    """

    def __init__(self, flush: Callable[[Sequence[Pending[Item]]], Awaitable[None]]) -> None:
        self._flush = flush
        self._pending: list[Pending[Item]] = []
        self._flushing = False

    async def submit(self, item: Item) -> Any:
        """Queue ``item``, wait until its batch is committed, return its result."""
        pending = Pending(item)
        self._pending.append(pending)
        if not self._flushing:
            self._flushing = True
            with anyio.CancelScope(shield=True):
                try:
                    while self._pending:
                        batch, self._pending = self._pending, []
                        try:
                            await self._flush(batch)
                        except Exception as exc:
                            for one in batch:
                                one.error = exc
                        for one in batch:
                            one.done.set()
                finally:
                    self._flushing = False
        await pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.result
