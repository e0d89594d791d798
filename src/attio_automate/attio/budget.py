"""Request budgets: when the next request of a kind may be sent.

A budget paces requests evenly with GCRA at burst 1: every caller reserves the
next free send slot (one interval after the previous one) and sleeps until it.
Slots are handed out in the order callers ask, so nobody starves, and no two
requests are ever closer together than the interval, which is what keeps a
per-second limit from ever being hit.

The :class:`Budget` protocol is what the rate-limit transport needs; this
module has the in-process implementation.  Budgets shared by several
processes implement the same protocol on top of the store.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from attio_automate.clock import Clock


class Sent:
    """When a request went: first when its slot was given, then (if the
    transport can tell) when its first byte was written."""

    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at


class Budget(Protocol):
    """One rate-limited kind of request (reads or writes)."""

    async def acquire(self) -> Sent | None:
        """Wait until this caller may send one request, and take that slot;
        the :class:`Sent` to move to when the request really went, if the
        budget keeps track of it."""
        ...

    async def penalize(self, seconds: float) -> None:
        """Send nothing for ``seconds`` from now (Attio answered 429)."""
        ...


class GcraBudget:
    """An in-process budget of ``rate`` requests per second, burst 1.

    ``rate`` is the pace actually kept: pass the published limit multiplied by
    the fraction of it the runner may use.

    Pacing alone keeps *planned* sends apart, but a send that goes out late
    (a busy event loop) brings it closer to the next one.  So the budget also
    remembers when its last ``window_limit`` sends really went and never lets
    ``window_limit + 1`` of them fall within ``window`` seconds: that is the
    per-second limit itself, checked against what happened.  ``window`` is a
    second plus a little slack for the way to Attio.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Clock,
        window_limit: int | None = None,
        window: float = 1.01,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.interval = 1.0 / rate
        self._clock = clock
        # Theoretical arrival time of the next request: the next free slot.
        self._next_slot = clock.monotonic()
        # Slots reserved before a 429 must not be used before the penalty ends.
        self._blocked_until = float("-inf")
        self._window = window
        self._sent: deque[Sent] = deque(maxlen=window_limit) if window_limit else deque()
        self._window_limit = window_limit

    async def acquire(self) -> Sent | None:
        while True:
            now = self._clock.monotonic()
            slot = max(self._next_slot, now, self._blocked_until)
            if self._window_limit and len(self._sent) == self._window_limit:
                # The transport moves a send's time to when it really went
                # (later, never earlier), so this only ever errs on the safe side.
                slot = max(slot, self._sent[0].at + self._window)
            self._next_slot = slot + self.interval
            await self._clock.sleep(slot - now)
            woke = self._clock.monotonic()
            # A 429 seen while we slept pushes everyone back, us included.
            if woke >= self._blocked_until:
                if not self._window_limit:
                    return None
                sent = Sent(woke)
                self._sent.append(sent)
                return sent

    async def penalize(self, seconds: float) -> None:
        until = self._clock.monotonic() + max(seconds, 0.0)
        self._blocked_until = max(self._blocked_until, until)
        self._next_slot = max(self._next_slot, until)
