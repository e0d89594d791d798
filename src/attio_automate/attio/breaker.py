"""A circuit breaker in front of Attio.

During an outage, calling Attio only burns retries and attempts.  After
``failure_threshold`` consecutive failures (5xx or no answer) the breaker
opens and calls fail at once with :class:`AttioUnavailable`; after
``cool_down`` seconds it half-opens and lets one trial call through, whose
outcome closes or re-opens it.  Rate limiting (429) is not an outage and does
not count.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import httpx

from attio_automate.clock import Clock
from attio_automate.errors import AttioUnavailable


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True, kw_only=True)
class BreakerPolicy:
    """When the breaker opens and how long it stays open."""

    failure_threshold: int = 5
    cool_down: float = 10.0


class CircuitBreaker:
    """State of the breaker, shared by every request of one client."""

    def __init__(self, policy: BreakerPolicy, *, clock: Clock) -> None:
        self.policy = policy
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker past its cool-down reads half-open)."""
        if self._state is BreakerState.OPEN and self._remaining() <= 0:
            return BreakerState.HALF_OPEN
        return self._state

    def before_call(self) -> None:
        """Raise :class:`AttioUnavailable` unless a call may go through now."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.OPEN:
            raise AttioUnavailable(self._remaining())
        if self._trial_in_flight:
            # One trial at a time: the others wait for its verdict.
            raise AttioUnavailable(self.policy.cool_down)
        self._state = BreakerState.HALF_OPEN
        self._trial_in_flight = True

    def record_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._trial_in_flight or self._failures >= self.policy.failure_threshold:
            self._state = BreakerState.OPEN
            self._opened_at = self._clock.monotonic()
        self._trial_in_flight = False

    def abandon(self) -> None:
        """A call ended with no verdict about Attio's health (429, cancelled)."""
        self._trial_in_flight = False

    def _remaining(self) -> float:
        return self._opened_at + self.policy.cool_down - self._clock.monotonic()


class BreakerTransport(httpx.AsyncBaseTransport):
    """Consults the breaker before each request and reports each outcome."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self._breaker = breaker

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._breaker.before_call()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError:
            self._breaker.record_failure()
            raise
        except BaseException:
            # Cancelled or a bug: no verdict about Attio, but free the trial.
            self._breaker.abandon()
            raise
        if response.status_code >= 500:
            self._breaker.record_failure()
        elif response.status_code == 429:
            self._breaker.abandon()
        else:
            self._breaker.record_success()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
