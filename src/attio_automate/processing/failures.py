"""What an exception means for the event it happened in: try later, or never.

Every exception raised while an event is enriched, decided or acted on is
classified here, in one place, so that no path ends an event as ``done``
by accident:

- **retryable**: the same event may succeed later with nothing changed:
  Attio unavailable, rate limited, a 5xx, a timeout, a lost connection (to
  Attio, to the store, to anything a plugin talks to).  The event is tried
  again after a backoff, and the attempt counts (except while the circuit
  breaker is open, which is an outage, not the event's fault).
- **permanent**: trying again cannot help until someone changes something:
  a 4xx from Attio, a template error of any kind, bad parameters, an
  unknown action, a plugin bug.  The event goes to the dead letter with the
  reason.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any

import httpx

from attio_automate.errors import (
    AttioAutomateError,
    AttioError,
    AttioOutcomeUnknown,
    AttioUnavailable,
)
from attio_automate.store.base import is_transient

JSON = dict[str, Any]

#: Exceptions from outside the package that say "not now" rather than "never".
_TRANSIENT: tuple[type[BaseException], ...] = (
    TimeoutError,
    ConnectionError,
    httpx.TransportError,
)


@dataclass(frozen=True)
class Failure:
    """A classified exception: its type's name, a message and whether to retry."""

    kind: str
    message: str
    retryable: bool
    #: Attio's error body, when Attio refused.
    attio: JSON | None = None
    #: The circuit breaker was open: no attempt should be counted.
    outage: bool = False

    def to_json(self) -> JSON:
        data: JSON = {"kind": self.kind, "message": self.message, "retryable": self.retryable}
        if self.attio is not None:
            data["attio"] = self.attio
        if self.outage:
            data["outage"] = True
        return data

    @classmethod
    def from_json(cls, data: JSON) -> Failure:
        """The failure :meth:`to_json` described (an action outcome's ``error``)."""
        attio = data.get("attio")
        return cls(
            str(data.get("kind")),
            str(data.get("message")),
            bool(data.get("retryable")),
            attio=attio if isinstance(attio, dict) else None,
            outage=bool(data.get("outage")),
        )

    def text(self) -> str:
        """Attio's status and code with its message when Attio refused, else the message."""
        if self.attio is not None:
            return (
                f"Attio {self.attio.get('status_code')} {self.attio.get('code')}: "
                f"{self.attio.get('message')}"
            )
        return self.message


def classify(exc: BaseException) -> Failure:
    """The :class:`Failure` ``exc`` amounts to."""
    kind = type(exc).__name__
    if isinstance(exc, AttioError):
        # An unknown outcome is retried: the ledger's intent makes the retry
        # ask Attio before it repeats the write.
        retryable = exc.retryable or isinstance(exc, AttioOutcomeUnknown)
        as_dict = getattr(exc, "as_dict", None)
        if callable(as_dict):
            return Failure(kind, str(getattr(exc, "message", exc)), retryable, attio=as_dict())
        return Failure(kind, str(exc), retryable, outage=isinstance(exc, AttioUnavailable))
    if isinstance(exc, AttioAutomateError):
        return Failure(kind, str(exc), bool(getattr(exc, "retryable", False)))
    if isinstance(exc, _TRANSIENT) or is_transient(exc):
        return Failure(kind, f"{kind}: {exc}" if str(exc) else kind, True)
    # A bug (in a plugin, an action, a filter): the same input fails again.
    # Where it happened helps whoever has to fix it.
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return Failure(kind, f"{kind}: {exc}{where}", False)
