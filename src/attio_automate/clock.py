"""Time as a dependency: the system clock, and a virtual clock for tests.

Everything that waits (pacing, backoff, the breaker's cool-down) asks a
:class:`Clock`, so tests can run hours of retries in milliseconds with
:class:`VirtualClock` instead of sleeping for real.
"""

from __future__ import annotations

import time
from typing import Protocol

import anyio
import anyio.lowlevel


class Clock(Protocol):
    """What the client needs to know about time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for intervals)."""
        ...

    def time(self) -> float:
        """Seconds since the epoch (for HTTP dates)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; zero or less yields once."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic``, ``time.time`` and ``anyio.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(seconds, 0.0))


class VirtualClock:
    """A clock that jumps forward instead of sleeping.

    ``sleep`` records the requested duration in ``sleeps`` and advances the
    clock by it at once (then yields, so other tasks run).  ``advance`` moves
    time forward by hand.
    """

    def __init__(self, *, start: float = 1_700_000_000.0) -> None:
        # Kept apart so small steps are not lost against a large epoch value.
        self._elapsed = 0.0
        self._origin = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._elapsed

    def time(self) -> float:
        return self._origin + self._elapsed

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self._elapsed += max(seconds, 0.0)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
        await anyio.lowlevel.checkpoint()
