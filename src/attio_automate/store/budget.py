"""A rate-limit budget shared by every runner on one store.

The next free send slot lives in the store and is reserved atomically, by the
store's clock; a 429 seen by one runner blocks the slots for all of them.
"""

from __future__ import annotations

from attio_automate.attio.budget import Budget
from attio_automate.attio.ratelimit import Budgets, RateLimits
from attio_automate.clock import Clock
from attio_automate.store.base import Store


class StoreBudget:
    """A :class:`~attio_automate.attio.budget.Budget` kept in the store."""

    def __init__(self, store: Store, name: str, rate: float, *, clock: Clock) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self._store = store
        self._name = name
        self.interval = 1.0 / rate
        self._clock = clock

    async def acquire(self) -> None:
        wait = await self._store.reserve_slot(self._name, interval=self.interval)
        await self._clock.sleep(wait)

    async def penalize(self, seconds: float) -> None:
        await self._store.block_slots(self._name, seconds=seconds)


def shared_budgets(
    store: Store, limits: RateLimits, *, clock: Clock, workspace: str = "default"
) -> Budgets:
    """Read and write budgets shared through ``store`` (one pair per workspace)."""
    reads: Budget = StoreBudget(
        store, f"{workspace}:reads", limits.reads_per_second * limits.fraction, clock=clock
    )
    writes: Budget = StoreBudget(
        store, f"{workspace}:writes", limits.writes_per_second * limits.fraction, clock=clock
    )
    return Budgets(reads=reads, writes=writes)
