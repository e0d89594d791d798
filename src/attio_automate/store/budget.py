"""A rate-limit budget shared by every runner on one store.

The next free send slot lives in the store and is reserved atomically, by the
store's clock; a 429 seen by one runner blocks the slots for all of them.

The store keeps slots apart, but what Attio counts is when requests really
go.  Two things would let a runner send later than its slot, which crowds the
next runner's send: sleeping for a wait counted from whenever the store's
answer arrived, and a busy process waking late.  So a runner places the slot
on its own clock (the store's answer says what time the store had, and the
round trip bounds the error) and sleeps until exactly then; and a runner that
still wakes more than ``tolerance`` after its slot gives the slot up and takes
another.  Any two sends are then at most ``tolerance`` (plus the clock
estimate's error) closer than the interval, whichever runners sent them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from attio_automate.attio.budget import Budget, Sent
from attio_automate.attio.ratelimit import Budgets, RateLimits
from attio_automate.clock import Clock
from attio_automate.store.base import Slot, Store

#: A slow answer from the store must not make every later slot wait long.
_MAX_LEAD = 0.5


class StoreClock:
    """Where the store's clock stands against this process's monotonic clock.

    Each answer from the store says what time the store had somewhere within
    the round trip; its midpoint is off by at most half the round trip, so the
    answer with the shortest recent round trip gives the estimate.  Recent
    round trips also say how far ahead to ask for a slot so that the answer
    arrives before the slot starts.
    """

    def __init__(self, *, samples: int = 32) -> None:
        self._samples: deque[tuple[float, float]] = deque(maxlen=samples)

    def observe(self, store_now: float, *, asked: float, answered: float) -> None:
        """Record an answer stamped ``store_now``, asked and answered locally."""
        round_trip = max(answered - asked, 0.0)
        self._samples.append((round_trip, store_now - (asked + answered) / 2))

    def to_local(self, store_time: float) -> float:
        """``store_time`` on the local monotonic clock."""
        _, offset = min(self._samples)
        return store_time - offset

    @property
    def error(self) -> float:
        """How far :meth:`to_local` may be off: half the shortest round trip."""
        return min(self._samples)[0] / 2 if self._samples else 0.0

    @property
    def lead(self) -> float:
        """How far ahead of the store's now to take a slot (seconds): the
        median recent round trip.  Not the slowest: a runner reserves its next
        slot as its last one starts, so a lead longer than the interval would
        space its own sends by the lead; an answer that does come late costs
        one slot, given up."""
        if not self._samples:
            return 0.0
        round_trips = sorted(round_trip for round_trip, _ in self._samples)
        return min(round_trips[len(round_trips) // 2], _MAX_LEAD)


class StoreBudget:
    """A :class:`~attio_automate.attio.budget.Budget` kept in the store.

    ``tolerance`` is how late after its slot a send may still go; a runner
    later than that gives the slot up, at most ``max_give_ups`` times in a
    row (a process too busy to ever be on time still sends, and a 429 would
    then push everyone back).
    """

    def __init__(
        self,
        store: Store,
        name: str,
        rate: float,
        *,
        clock: Clock,
        tolerance: float = 0.010,
        max_give_ups: int = 3,
        on_give_up: Callable[[], None] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self._store = store
        self._name = name
        self.interval = 1.0 / rate
        self._clock = clock
        self._store_clock = StoreClock()
        self._tolerance = tolerance
        self._max_give_ups = max_give_ups
        self._on_give_up = on_give_up
        #: Slots given up because this runner woke too late for them.
        self.given_up = 0

    async def acquire(self) -> Sent | None:
        for attempt in range(self._max_give_ups + 1):
            start = await self._reserve()
            await self._clock.sleep(start - self._clock.monotonic())
            if self._clock.monotonic() - start <= self._tolerance:
                return None
            if attempt < self._max_give_ups:
                self.given_up += 1
                if self._on_give_up is not None:
                    self._on_give_up()
        return None

    async def _reserve(self) -> float:
        """Take a slot; return when it starts on the local monotonic clock."""
        asked = self._clock.monotonic()
        slot: Slot = await self._store.reserve_slot(
            self._name, interval=self.interval, lead=self._store_clock.lead
        )
        self._store_clock.observe(slot.now, asked=asked, answered=self._clock.monotonic())
        return self._store_clock.to_local(slot.at)

    @property
    def clock_error(self) -> float:
        """How far this runner's idea of the store's clock may be off (seconds)."""
        return self._store_clock.error

    async def penalize(self, seconds: float) -> None:
        await self._store.block_slots(self._name, seconds=seconds)


def shared_budgets(
    store: Store,
    limits: RateLimits,
    *,
    clock: Clock,
    workspace: str = "default",
    on_give_up: Callable[[str], None] | None = None,
) -> Budgets:
    """Read and write budgets shared through ``store`` (one pair per workspace).

    ``on_give_up`` is called with ``"reads"`` or ``"writes"`` for each slot
    given up (for metrics).
    """

    def budget(kind: str, per_second: float) -> Budget:
        return StoreBudget(
            store,
            f"{workspace}:{kind}",
            per_second * limits.fraction,
            clock=clock,
            tolerance=limits.slot_tolerance,
            on_give_up=None if on_give_up is None else lambda: on_give_up(kind),
        )

    return Budgets(
        reads=budget("reads", limits.reads_per_second),
        writes=budget("writes", limits.writes_per_second),
    )
