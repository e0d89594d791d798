"""The store: one interface over SQLite (embedded) and PostgreSQL (several runners).

It holds the inbox (one row per received event), attempts, the action ledger,
traces and the dead letter (inbox rows whose status is ``dead``).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

# Kept importable from here, where the store's callers look for it.
from attio_automate.redact import shown_url as shown_url

JSON = dict[str, Any]
#: pending -> processing -> done | skipped | dead (pending again on retry or lease expiry)
EventStatus = Literal["pending", "processing", "done", "skipped", "dead"]
FINISHED: tuple[EventStatus, ...] = ("done", "skipped", "dead")
#: Told to subscribers when messages may have been missed (drop what they
#: cache, look for work).
RESYNC = "resync"


@dataclass(frozen=True)
class NewEvent:
    """An event to store: its unique key, ordering key and Attio's JSON."""

    key: str
    ordering_key: str
    event_type: str
    payload: Mapping[str, Any]
    webhook_id: str | None
    received_at: float
    #: When it may first be claimed (a wait's due time); on receipt by default.
    available_at: float | None = None

    @property
    def first_at(self) -> float:
        return self.received_at if self.available_at is None else self.available_at


@dataclass(frozen=True)
class StoredEvent:
    """An inbox row."""

    id: int
    key: str
    ordering_key: str
    event_type: str
    payload: Mapping[str, Any]
    webhook_id: str | None
    received_at: float
    status: EventStatus
    attempts: int
    available_at: float
    finished_at: float | None
    reason: str | None
    #: Run actions again even if the ledger has them (a forced replay).
    force: bool = False


@dataclass(frozen=True)
class Slot:
    """A send slot taken from a shared budget, in the store's clock (epoch seconds)."""

    #: When the slot starts.
    at: float
    #: The store's clock when it handed the slot out.
    now: float


@dataclass(frozen=True)
class Ending:
    """One attempt at an event ended: how, and what the event becomes."""

    event_id: int
    owner: str
    status: EventStatus
    #: When a pending event may be tried again (None leaves it as it is).
    available_at: float | None
    trace: JSON | None
    reason: str | None
    now: float
    count_attempt: bool


@dataclass(frozen=True)
class EventFilter:
    """Which events to list: every field narrows; None leaves it open."""

    status: str | None = None
    event_type: str | None = None
    ordering_key: str | None = None
    rule: str | None = None
    since: float | None = None
    until: float | None = None
    ids: Sequence[int] | None = None
    #: Only events older than this id (the next page of a listing).
    before_id: int | None = None
    limit: int = 100


@dataclass(frozen=True)
class Heartbeat:
    """A running dispatcher, as it last said so."""

    owner: str
    host: str
    pid: int
    at: float


@dataclass(frozen=True)
class JobState:
    """A periodic job as the store keeps it (times in epoch seconds)."""

    name: str
    next_at: float
    owner: str | None = None
    lease_until: float | None = None
    last_started: float | None = None
    last_finished: float | None = None
    last_outcome: str | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """A ledger row: ``intent`` (an action was about to run) or ``done``."""

    key: str
    state: Literal["intent", "done"]
    action: str
    result: Any
    #: When the row was last written (epoch seconds): for an intent, when the
    #: action was about to run.
    at: float | None = None


class Store(Protocol):
    """What the receiver, the dispatcher and the operators' tools need."""

    async def open(self) -> None:
        """Connect and migrate the schema to the current version."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the store cannot be used."""
        ...

    async def insert_events(self, events: Sequence[NewEvent]) -> list[bool]:
        """Insert durably (committed before returning); True per new event,
        False per duplicate key.  Concurrent callers share one commit."""
        ...

    async def claim(self, owner: str, *, limit: int, lease: float, now: float) -> list[StoredEvent]:
        """Lease up to ``limit`` ready events, at most one per ordering key, each
        the oldest unfinished event of its key."""
        ...

    async def renew(self, owner: str, ids: Sequence[int], *, lease: float, now: float) -> None: ...

    async def finish(
        self,
        event_id: int,
        owner: str,
        *,
        status: EventStatus,
        trace: JSON | None,
        reason: str | None,
        now: float,
        count_attempt: bool = True,
    ) -> None:
        """End an attempt: ``done``/``skipped``/``dead``, or ``pending`` again
        (see :meth:`retry_later`)."""
        ...

    async def retry_later(
        self,
        event_id: int,
        owner: str,
        *,
        available_at: float,
        trace: JSON | None,
        reason: str | None,
        now: float,
        count_attempt: bool,
    ) -> None: ...

    async def release(self, owner: str) -> int:
        """Give back every lease ``owner`` holds (a clean shutdown)."""
        ...

    async def remember_body(self, digest: str, key: str, *, now: float, window: float) -> str:
        """Note a delivery body (its ``digest``) arriving with Idempotency-Key
        ``key``; return the key it first came with within the last ``window``
        seconds (``key`` itself when it is new, or seen longer ago)."""
        ...

    async def insert_wait(self, wait: NewEvent, *, group: str, policy: str, now: float) -> bool:
        """Store a rule's wait (an event due at its ``available_at``) among the
        pending waits of its ``group`` (a rule and a record), as ``policy``
        says: ``replace`` cancels the others, ``keep`` stores nothing when
        there is another, ``parallel`` lets them be.  Whether it was stored."""
        ...

    async def cancel_waits(
        self,
        group: str | None = None,
        *,
        ids: Sequence[int] | None = None,
        now: float,
        reason: str,
    ) -> int:
        """Cancel the pending waits of ``group``, or those of ``ids`` (they end
        ``skipped`` with ``reason``); how many."""
        ...

    async def waits_summary(self) -> tuple[int, float | None]:
        """How many waits are pending, and the earliest due time among them."""
        ...

    async def claim_job(
        self, name: str, *, owner: str, now: float, lease: float, first_at: float
    ) -> float | None:
        """Take job ``name`` for ``lease`` seconds if it is due (``first_at``
        is when it is first due, for a job the store has never seen) and
        nobody holds it; when it was due if this ``owner`` got it, else None."""
        ...

    async def finish_job(
        self, name: str, *, owner: str, next_at: float, outcome: str, now: float
    ) -> None:
        """Give job ``name`` back, next due at ``next_at``, with how it went."""
        ...

    async def jobs(self) -> list[JobState]:
        """Every periodic job the store knows."""
        ...

    async def beat(self, owner: str, *, host: str, pid: int, now: float) -> None:
        """``owner`` (a dispatcher on ``host``, process ``pid``) is alive at ``now``."""
        ...

    async def heartbeats(self) -> list[Heartbeat]:
        """Every dispatcher's last heartbeat."""
        ...

    async def forget(self, owner: str) -> None:
        """``owner`` is gone (stopped, or found dead): drop its heartbeat."""
        ...

    async def ledger_lookup(self, key: str) -> LedgerEntry | None: ...

    async def ledger_entries(self, keys: Sequence[str]) -> dict[str, LedgerEntry]:
        """The ledger rows of ``keys`` that exist, by key, in one round trip."""
        ...

    async def ledger_intend(
        self, key: str, *, event_id: int | None, action: str, now: float
    ) -> None: ...

    async def ledger_record(
        self, key: str, *, event_id: int | None, action: str, result: Any, now: float
    ) -> None: ...

    async def ledger_claimed(self, action: str, field: str, value: str, *, except_key: str) -> bool:
        """Whether another ledger entry of ``action`` (not ``except_key``) has a
        result whose ``field`` is ``value``: what it made is not ours to adopt."""
        ...

    async def own_tokens(self, key_digest: str) -> list[str]:
        """The API token ids learnt to be the runner's own under the API key
        with this digest (the loop guard, across restarts)."""
        ...

    async def remember_token(self, token_id: str, *, key_digest: str, now: float) -> None:
        """Remember ``token_id`` as the runner's own under that API key."""
        ...

    async def status_counts(self) -> dict[str, int]:
        """Events by status: a scan of the whole inbox (doctor, not metrics)."""
        ...

    async def depths(self) -> tuple[int, int]:
        """Unfinished (pending or processing) and dead events, counted through
        indexes of those rows only: cheap enough for every metrics scrape."""
        ...

    async def get_event(self, event_id: int) -> StoredEvent | None: ...

    async def get_trace(self, event_id: int) -> JSON | None: ...

    async def list_events(self, where: EventFilter) -> list[StoredEvent]:
        """Events matching ``where``, newest first."""
        ...

    async def attempts(self, event_id: int) -> list[JSON]:
        """An event's attempts, oldest first."""
        ...

    async def take(
        self, ids: Sequence[int], owner: str, *, lease: float, now: float, force: bool
    ) -> tuple[list[StoredEvent], list[int]]:
        """Lease these events to run again (replay, retry), whatever their status;
        return them and the ids a live lease holds (left alone)."""
        ...

    async def requeue(self, ids: Sequence[int], *, now: float, force: bool) -> int:
        """Make these events pending now, for the dispatcher; not those under a
        live lease.  Returns how many."""
        ...

    async def reserve_slot(self, budget: str, *, interval: float, lead: float = 0.0) -> Slot:
        """Take the next free send slot of ``budget``: one ``interval`` after the
        last one handed out (to any runner), and no sooner than ``lead`` seconds
        from now, so the answer reaches the runner before its slot starts.
        Times are the store's clock, so hosts need not agree on theirs."""
        ...

    async def block_slots(self, budget: str, *, seconds: float) -> None:
        """No slot of ``budget`` before ``seconds`` from now (a 429, for everyone)."""
        ...

    async def publish(self, message: str) -> None:
        """Tell every runner on this store (cache invalidation, new events)."""
        ...

    def subscribe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback`` with each message published by any runner (from
        when the store is open); stores without a channel call it only for
        this process's own messages.  After the channel was lost and won back,
        ``callback`` gets :data:`RESYNC`: messages may have been missed."""
        ...

    async def sweep(self, *, finished_before: float) -> int:
        """Delete finished events (and their traces and ledger rows) older than
        ``finished_before``; dead letters are kept.  Returns rows deleted."""
        ...


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a store that is unavailable for now (a lost or
    refused connection, a database restarting, locked or out of disk) rather
    than a mistake: what happened can succeed on a later try."""
    if isinstance(exc, sqlite3.OperationalError):
        return True
    # Only a process that loaded the PostgreSQL driver can meet its errors.
    pg = sys.modules.get("asyncpg.exceptions")
    if pg is not None:
        names = (
            "PostgresConnectionError",
            "InterfaceError",
            "OperatorInterventionError",
            "TooManyConnectionsError",
            "InsufficientResourcesError",
        )
        kinds = tuple(k for name in names if isinstance(k := getattr(pg, name, None), type))
        if isinstance(exc, kinds):
            return True
    return isinstance(exc, ConnectionError | TimeoutError)


class EndsAttempts:
    """``finish`` and ``retry_later`` for stores that implement ``_end`` (both
    are one update of the event plus an attempt row and the trace)."""

    async def _end(self, ending: Ending) -> None:
        raise NotImplementedError

    async def finish(
        self,
        event_id: int,
        owner: str,
        *,
        status: EventStatus,
        trace: JSON | None,
        reason: str | None,
        now: float,
        count_attempt: bool = True,
    ) -> None:
        await self._end(Ending(event_id, owner, status, None, trace, reason, now, count_attempt))

    async def retry_later(
        self,
        event_id: int,
        owner: str,
        *,
        available_at: float,
        trace: JSON | None,
        reason: str | None,
        now: float,
        count_attempt: bool,
    ) -> None:
        await self._end(
            Ending(event_id, owner, "pending", available_at, trace, reason, now, count_attempt)
        )
