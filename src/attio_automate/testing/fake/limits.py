"""What the fake enforces besides Attio's semantics: rate limits and faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import formatdate


@dataclass
class WindowLimiter:
    """Attio's limits as a count per clock second, per kind of request.

    ``None`` means unlimited.  A request over the limit is refused with 429
    and told to come back at the start of the next second.
    """

    reads_per_second: int | None = None
    writes_per_second: int | None = None
    _windows: dict[str, tuple[int, int]] = field(default_factory=dict)

    def admit(self, kind: str, now: float) -> bool:
        """Count one request of ``kind`` ("read"/"write") at ``now``; False if over."""
        limit = self.reads_per_second if kind == "read" else self.writes_per_second
        if limit is None:
            return True
        second = int(now)
        window, count = self._windows.get(kind, (second, 0))
        if window != second:
            window, count = second, 0
        if count >= limit:
            self._windows[kind] = (window, count)
            return False
        self._windows[kind] = (window, count + 1)
        return True

    @staticmethod
    def headers_429(now: float) -> dict[str, str]:
        """``Date`` and ``Retry-After`` (the next second) as HTTP dates."""
        return {
            "Date": formatdate(int(now), usegmt=True),
            "Retry-After": formatdate(int(now) + 1, usegmt=True),
        }


@dataclass
class Fault:
    """An injected failure: until ``until`` (epoch seconds), requests whose path
    contains ``path`` (all when empty) wait ``latency`` seconds, then fail with
    ``status`` (when set)."""

    until: float
    status: int | None = None
    latency: float = 0.0
    path: str = ""

    def applies(self, path: str, now: float) -> bool:
        return now < self.until and self.path in path
