"""What operators see of events: summaries, traces, filters, re-running."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from attio_automate.errors import ConfigError
from attio_automate.processing.dispatcher import Dispatcher
from attio_automate.processing.results import EventResult
from attio_automate.store.base import EventFilter, Store, StoredEvent

__all__ = ["EventFilter", "detail", "event_filter", "parse_when", "rerun", "select_ids", "summary"]

JSON = dict[str, Any]
STATUSES = ("pending", "processing", "done", "skipped", "dead")
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(text: str, *, now: float | None = None) -> float:
    """A point in time: ISO 8601 (``2026-11-26``, ``2026-11-26T10:00Z``) or an age
    (``30m``, ``2h``, ``7d`` ago)."""
    now = time.time() if now is None else now
    match = _RELATIVE.match(text.strip())
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            [f"{text!r} is not a time: use ISO 8601 (2026-11-26T10:00Z) or an age like 30m, 2h, 7d"]
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def event_filter(
    *,
    status: str | None = None,
    event_type: str | None = None,
    record: str | None = None,
    rule: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 100,
) -> EventFilter:
    """Filters from what a person typed; bad values raise ConfigError."""
    if status is not None and status not in STATUSES:
        raise ConfigError([f"unknown status {status!r} (one of: {', '.join(STATUSES)})"])
    if limit < 1:
        raise ConfigError(["limit must be at least 1"])
    ordering_key = None
    if record:
        ordering_key = record if ":" in record else f"record:{record}"
    return EventFilter(
        status=status,
        event_type=event_type,
        ordering_key=ordering_key,
        rule=rule,
        since=parse_when(since) if since else None,
        until=parse_when(until) if until else None,
        limit=limit,
    )


def iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, tz=UTC).isoformat(timespec="seconds")


def summary(event: StoredEvent) -> JSON:
    """One line's worth of an event."""
    return {
        "id": event.id,
        "key": event.key,
        "event_type": event.event_type,
        "subject": event.ordering_key,
        "status": event.status,
        "attempts": event.attempts,
        "received_at": iso(event.received_at),
        "finished_at": iso(event.finished_at),
        "reason": event.reason,
    }


async def detail(store: Store, event_id: int) -> JSON | None:
    """An event with its payload, trace and attempt history (``history``;
    ``attempts`` stays the count of attempts that counted)."""
    event = await store.get_event(event_id)
    if event is None:
        return None
    attempts = await store.attempts(event_id)
    for attempt in attempts:
        attempt["finished_at"] = iso(attempt["finished_at"])
    return {
        **summary(event),
        "payload": dict(event.payload),
        "trace": await store.get_trace(event_id),
        "history": attempts,
    }


async def select_ids(
    store: Store, ids: Sequence[int], where: EventFilter | None, *, limit: int | None = None
) -> list[int]:
    """The ids asked for (all must exist) or those a filter selects, oldest
    first: every one of them, or the newest ``limit``."""
    if ids:
        missing = [i for i in ids if await store.get_event(i) is None]
        if missing:
            raise ConfigError([f"no event with id {', '.join(map(str, missing))}"])
        return sorted(set(ids))
    if where is None:
        raise ConfigError(["give event ids or a filter (--since, --rule, --status...)"])
    if limit is not None:
        return sorted(e.id for e in await store.list_events(replace(where, limit=limit)))
    return sorted(await matching_ids(store, where))


async def matching_ids(store: Store, where: EventFilter, *, page: int = 1000) -> list[int]:
    """The ids of every event ``where`` selects, page by page (``where.limit``
    is the page size of one listing; here it bounds nothing)."""
    found: list[int] = []
    before: int | None = None
    while True:
        batch = await store.list_events(replace(where, before_id=before, limit=page))
        found.extend(e.id for e in batch)
        if len(batch) < page:
            return found
        before = batch[-1].id


async def rerun(
    store: Store,
    dispatcher: Dispatcher,
    ids: Sequence[int],
    *,
    force: bool,
    progress: Callable[[int, EventResult | None], None] = lambda i, r: None,
) -> tuple[list[tuple[int, EventResult]], list[int]]:
    """Run these events again now, here, with the current rules; actions the
    ledger has are skipped unless ``force``.  Returns the results and the ids
    left alone because a runner holds them."""
    taken, busy = await store.take(
        ids,
        dispatcher.owner,
        lease=dispatcher.policy.lease_seconds,
        now=dispatcher.processor.wall_clock(),
        force=force,
    )
    results = []
    for event in taken:
        result = await dispatcher.run_one(event)
        results.append((event.id, result))
        progress(event.id, result)
    return results, busy
