"""Retries as a transport: 429, 5xx and lost connections are tried again.

What is safe to repeat depends on the request.  Reads and idempotent writes
(PUT, PATCH, DELETE) are repeated on any retryable failure.  A POST that
creates something is repeated only when Attio certainly did not act on it: a
429, a 502/503/504 from in front of Attio, or a connection that failed before
the request was sent.  When the request may have been applied (a read
timeout, a dropped connection, a 500) the transport raises
:class:`AttioOutcomeUnknown` so the caller can check before repeating it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import httpx

from attio_automate.attio.ratelimit import is_read
from attio_automate.clock import Clock
from attio_automate.errors import AttioOutcomeUnknown, AttioTransportError

#: Failures that happen before any byte of the request reaches Attio.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: Statuses meaning "not applied" (rate limited, or refused in front of Attio).
_NOT_APPLIED = frozenset({429, 502, 503, 504})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry; data, not code.

    The n-th retry waits ``min(backoff_max, backoff_initial * multiplier**n)``
    seconds, less a random part of up to ``jitter`` of it so that clients that
    failed together do not come back together.  A 429 waits for the budget
    instead (the rate-limit transport holds every request back until
    ``Retry-After``).
    """

    attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    retry_statuses: frozenset[int] = field(default=frozenset({429, 500, 502, 503, 504}))

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be in [0, 1]")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        base = min(self.backoff_max, self.backoff_initial * self.multiplier**retry)
        return base * (1.0 - self.jitter * rng.random())


def is_idempotent(request: httpx.Request) -> bool:
    """Whether sending ``request`` twice has the same effect as once."""
    return request.method in _IDEMPOTENT_METHODS or is_read(request)


class RetryTransport(httpx.AsyncBaseTransport):
    """Retries ``inner`` according to ``policy``.

    Returns the last response when retries run out (the client turns it into
    an :class:`~attio_automate.errors.AttioAPIError`); raises
    :class:`AttioTransportError` or :class:`AttioOutcomeUnknown` when no
    answer came at all.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        policy: RetryPolicy,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._clock = clock
        self._rng = rng or random.Random()
        #: Retries made, for metrics.
        self.retries = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        idempotent = is_idempotent(request)
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self._policy.attempts
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.TransportError as exc:
                sent = not isinstance(exc, _NOT_SENT)
                if sent and not idempotent:
                    raise AttioOutcomeUnknown(
                        f"{request.method} {request.url.path}: no answer ({_name(exc)}); "
                        "Attio may have applied it",
                        method=request.method,
                        url=str(request.url),
                    ) from exc
                if last:
                    raise AttioTransportError(
                        f"{request.method} {request.url.path}: no answer after "
                        f"{attempt} attempts ({_name(exc)})",
                        method=request.method,
                        url=str(request.url),
                    ) from exc
                await self._wait(attempt)
                self.retries += 1
                continue
            status = response.status_code
            if last or status not in self._policy.retry_statuses:
                return response
            if not idempotent and status not in _NOT_APPLIED:
                # A 500 to a create: Attio may have applied it. Let the caller see it.
                return response
            await response.aclose()
            if status != 429:
                await self._wait(attempt)
            self.retries += 1

    async def _wait(self, attempt: int) -> None:
        await self._clock.sleep(self._policy.backoff(attempt - 1, self._rng))

    async def aclose(self) -> None:
        await self._inner.aclose()


def _name(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
