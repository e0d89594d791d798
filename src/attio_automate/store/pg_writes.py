"""Batched writes to the PostgreSQL inbox: a statement per table for many rows.

Runners receive and finish events concurrently; writing each alone costs a
transaction, several round trips and a WAL flush apiece, which made the
database the busiest process on the machine.  The store gathers concurrent
writes (:class:`~attio_automate.store.batching.GroupCommit`) and these
functions write a batch with arrays unnested server-side.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from attio_automate.store.base import Ending, NewEvent


async def insert_events(connection: Any, events: Sequence[NewEvent]) -> set[str]:
    """Insert ``events`` (new keys only); return the keys that were new."""
    rows = await connection.fetch(
        "INSERT INTO inbox (key, ordering_key, event_type, payload, webhook_id, "
        "received_at, available_at) "
        "SELECT k, o, t, p::jsonb, w, r, a FROM unnest($1::text[], $2::text[], "
        "$3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[]) "
        "AS x(k, o, t, p, w, r, a) "
        "ON CONFLICT (key) DO NOTHING RETURNING key",
        [e.key for e in events],
        [e.ordering_key for e in events],
        [e.event_type for e in events],
        [json.dumps(e.payload) for e in events],
        [e.webhook_id for e in events],
        [e.received_at for e in events],
        [e.first_at for e in events],
    )
    return {row["key"] for row in rows}


async def end_attempts(connection: Any, endings: Sequence[Ending]) -> None:
    """Record ``endings`` in order, inside the caller's transaction."""
    for endings_round in _rounds(endings):
        await _end_round(connection, endings_round)


def _rounds(endings: Sequence[Ending]) -> list[list[Ending]]:
    """Split so no event is twice in one round (one UPDATE would apply only one
    of its rows); an event's endings keep their order across rounds."""
    rounds: list[list[Ending]] = []
    seen: dict[int, int] = {}
    for ending in endings:
        index = seen.get(ending.event_id, 0)
        seen[ending.event_id] = index + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(ending)
    return rounds


async def _end_round(connection: Any, endings: Sequence[Ending]) -> None:
    ids = [e.event_id for e in endings]
    statuses = [e.status for e in endings]
    reasons = [e.reason for e in endings]
    nows = [e.now for e in endings]
    await connection.execute(
        "UPDATE inbox AS i SET status = x.status, attempts = i.attempts + x.counted, "
        "available_at = COALESCE(x.available_at, i.available_at), lease_owner = NULL, "
        "lease_until = NULL, finished_at = x.finished_at, reason = x.reason, force = FALSE "
        "FROM unnest($1::bigint[], $2::text[], $3::int[], $4::float8[], $5::float8[], "
        "$6::text[]) AS x(id, status, counted, available_at, finished_at, reason) "
        "WHERE i.id = x.id",
        ids,
        statuses,
        [1 if e.count_attempt else 0 for e in endings],
        [e.available_at for e in endings],
        [None if e.status == "pending" else e.now for e in endings],
        reasons,
    )
    await connection.execute(
        "INSERT INTO attempts (event_id, owner, finished_at, status, reason) "
        "SELECT * FROM unnest($1::bigint[], $2::text[], $3::float8[], $4::text[], $5::text[])",
        ids,
        [e.owner for e in endings],
        nows,
        statuses,
        reasons,
    )
    traced = [e for e in endings if e.trace is not None]
    if traced:
        await connection.execute(
            "INSERT INTO traces (event_id, trace, updated_at) "
            "SELECT i, t::jsonb, u FROM unnest($1::bigint[], $2::text[], $3::float8[]) "
            "AS x(i, t, u) ON CONFLICT (event_id) DO UPDATE SET trace = excluded.trace, "
            "updated_at = excluded.updated_at",
            [e.event_id for e in traced],
            [json.dumps(e.trace, default=str) for e in traced],
            [e.now for e in traced],
        )
