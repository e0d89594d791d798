"""How processing one event ended: the outcome the dispatcher settles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from attio_automate.bus.context import ActionOutcome, EventContext
from attio_automate.processing.failures import Failure

JSON = dict[str, Any]
Status = Literal["done", "retry", "failed", "skipped"]


@dataclass
class EventResult:
    """How processing one event ended.

    ``status``: ``done``; ``retry`` (a retryable failure: try later);
    ``failed`` (permanent: dead letter, ``reason`` says why); ``skipped``
    (the loop guard dropped it).  ``outage`` marks a retry caused by the
    circuit breaker: no attempt of the event's own.
    """

    status: Status
    context: EventContext | None
    outcomes: list[ActionOutcome] = field(default_factory=list)
    reason: str = ""
    error: JSON | None = None
    outage: bool = False

    @classmethod
    def failure(cls, failure: Failure, where: str) -> EventResult:
        """An event that failed before it had a context (enriching it, or a bug)."""
        return cls("done", None).ended(failure, where, permanent_elsewhere=False)

    def ended(self, failure: Failure, where: str, *, permanent_elsewhere: bool) -> EventResult:
        """End with ``failure`` (at ``where``); a permanent failure elsewhere in
        the event makes a retryable one permanent: retrying cannot help."""
        permanent = not failure.retryable or permanent_elsewhere
        self.status = "failed" if permanent else "retry"
        self.reason = f"{where}: {failure.text()}"
        self.error = failure.to_json()
        self.outage = failure.outage and not permanent
        return self

    def trace(self) -> JSON:
        data: JSON = {"status": self.status, "reason": self.reason}
        if self.context is not None:
            data.update(self.context.trace.to_json())
            data["object"] = self.context.object
            data["list"] = self.context.list
            data["changed"] = self.context.changed
            data["gone"] = self.context.gone
        if self.error:
            data["error"] = self.error
        return data
