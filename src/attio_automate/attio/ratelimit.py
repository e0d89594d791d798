"""The rate-limit transport: every request to Attio waits for its budget.

It wraps the real transport, so every caller of the shared client is limited
without knowing it.  Attio publishes two per-workspace limits: reads (GET, and
the POST endpoints that only read: ``.../query`` and ``.../search``) and
writes (everything else).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpx

from attio_automate.attio.budget import Budget, GcraBudget, Sent
from attio_automate.clock import Clock

#: Attio's published limits, requests per second per workspace.
ATTIO_READS_PER_SECOND = 100.0
ATTIO_WRITES_PER_SECOND = 25.0


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    """The limits to keep and how much of them to use.

    ``fraction`` below 1 leaves headroom for clocks that disagree about where
    a second starts and for other clients of the same workspace.
    """

    reads_per_second: float = ATTIO_READS_PER_SECOND
    writes_per_second: float = ATTIO_WRITES_PER_SECOND
    fraction: float = 0.99
    #: Beyond pacing, never more than the limit's count of sends within a
    #: second plus this slack, by when they really went: room for requests
    #: that take longer than others on their way to Attio.  It also caps
    #: use at 1 / (1 + slack) of the limit, so it is kept small.
    window_slack: float = 0.015
    #: With a budget shared by several runners: how late after its slot a
    #: runner may still send; later than that, it gives the slot up.
    slot_tolerance: float = 0.010

    def __post_init__(self) -> None:
        if not 0 < self.fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")
        if self.reads_per_second <= 0 or self.writes_per_second <= 0:
            raise ValueError("limits must be positive")
        if self.window_slack < 0 or self.slot_tolerance < 0:
            raise ValueError("window_slack and slot_tolerance must not be negative")


@dataclass(frozen=True)
class Budgets:
    """The pair of budgets one workspace has."""

    reads: Budget
    writes: Budget

    @classmethod
    def in_process(cls, limits: RateLimits, *, clock: Clock) -> Budgets:
        """Budgets kept in this process's memory."""
        return cls(
            reads=GcraBudget(
                limits.reads_per_second * limits.fraction,
                clock=clock,
                window_limit=int(limits.reads_per_second),
                window=1.0 + limits.window_slack,
            ),
            writes=GcraBudget(
                limits.writes_per_second * limits.fraction,
                clock=clock,
                window_limit=int(limits.writes_per_second),
                window=1.0 + limits.window_slack,
            ),
        )


def is_read_request(method: str, path: str) -> bool:
    """Whether Attio counts a request with this method and path as a read."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return True
    path = path.rstrip("/")
    return method == "POST" and (path.endswith("/query") or path.endswith("/search"))


def is_read(request: httpx.Request) -> bool:
    """Whether Attio counts ``request`` against the read limit."""
    return is_read_request(request.method, request.url.path)


def retry_after_seconds(response: httpx.Response, *, now: float) -> float | None:
    """How long a 429 asks us to wait: ``Retry-After`` minus the response's ``Date``.

    Attio sends ``Retry-After`` as an HTTP date; measuring it against the
    ``Date`` of the same response makes the wait independent of our own clock.
    Delta-seconds are accepted too.  ``now`` (epoch seconds) stands in for a
    missing ``Date``.  Returns ``None`` when there is no usable header.
    """
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        until = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    reference = now
    date = response.headers.get("date")
    if date is not None:
        try:
            reference = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError):
            reference = now
    return max(until - reference, 0.0)


class RateLimitTransport(httpx.AsyncBaseTransport):
    """Paces requests through ``budgets`` before handing them to ``inner``.

    ``max_in_flight`` must match the connection pool size.  A send slot is
    taken only once a connection is free, so a slot never expires while its
    request queues for a connection (which would bunch requests up later).
    Callers of one budget take turns reserving: only the caller whose turn it
    is holds a connection while it sleeps until its slot, so a queue of
    writes never holds every connection while reads could go.  Responses are
    read in full here so the connection is free again when this returns.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        budgets: Budgets,
        clock: Clock,
        max_in_flight: int,
        default_penalty: float = 1.0,
        on_response: Callable[[int], None] | None = None,
    ) -> None:
        self._inner = inner
        self._on_response = on_response
        self._budgets = budgets
        self._clock = clock
        self._connections = anyio.Semaphore(max_in_flight)
        self._turns = {True: anyio.Lock(), False: anyio.Lock()}
        self._default_penalty = default_penalty
        #: 429 answers seen, for metrics.
        self.rate_limited = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        read = is_read(request)
        budget = self._budgets.reads if read else self._budgets.writes
        async with self._turns[read]:
            await self._connections.acquire()
            try:
                sent = await budget.acquire()
            except BaseException:
                self._connections.release()
                raise
        if sent is not None:
            self._note_when_sent(request, sent)
        try:
            response = await self._inner.handle_async_request(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
        finally:
            self._connections.release()
        if self._on_response is not None:
            self._on_response(response.status_code)
        if response.status_code == 429:
            self.rate_limited += 1
            wait = retry_after_seconds(response, now=self._clock.time())
            await budget.penalize(self._default_penalty if wait is None else wait)
        return response

    def _note_when_sent(self, request: httpx.Request, sent: Sent) -> None:
        """Have the connection say when the request's last byte is written:
        the budget's window then counts the send when it really happened,
        however late a busy event loop made it.

        Not the first byte: a large body, a full socket or a process that
        loses the CPU halfway can hold the write up, and a send counted from
        its start would look earlier to the window than it was.  Counted
        from the end of the write, a delay only ever makes the count err
        late, which is the safe side."""
        outer = request.extensions.get("trace")
        clock = self._clock

        async def trace(name: str, info: dict[str, Any]) -> None:
            if name.endswith("send_request_body.complete"):
                sent.at = max(sent.at, clock.monotonic())
            if outer is not None:
                await outer(name, info)

        request.extensions["trace"] = trace

    async def aclose(self) -> None:
        await self._inner.aclose()
