"""What the SQLite store reads for operators: events, traces, attempts,
counts, and the filters ``events list`` narrows them with.  Each function
runs on the store's connection, on its thread."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any, cast

from attio_automate.store.base import JSON, EventFilter, EventStatus, StoredEvent

#: An inbox row's columns, in the order :func:`event_from_row` reads them.
COLUMNS = (
    "id, key, ordering_key, event_type, payload, webhook_id, received_at, "
    "status, attempts, available_at, finished_at, reason, force"
)


def event_from_row(row: Sequence[Any], *, status: str | None = None) -> StoredEvent:
    """The event an inbox row (with :data:`COLUMNS`) holds; ``status`` overrides."""
    return StoredEvent(
        id=row[0],
        key=row[1],
        ordering_key=row[2],
        event_type=row[3],
        payload=json.loads(row[4]),
        webhook_id=row[5],
        received_at=row[6],
        status=cast(EventStatus, status or row[7]),
        attempts=row[8],
        available_at=row[9],
        finished_at=row[10],
        reason=row[11],
        force=bool(row[12]),
    )


def status_counts(connection: sqlite3.Connection) -> dict[str, int]:
    rows = connection.execute("SELECT status, COUNT(*) FROM inbox GROUP BY status").fetchall()
    return {status: count for status, count in rows}


def depths(connection: sqlite3.Connection) -> tuple[int, int]:
    unfinished = connection.execute(
        "SELECT COUNT(*) FROM inbox INDEXED BY inbox_ready "
        "WHERE status IN ('pending', 'processing') AND available_at > -1e300"
    ).fetchone()[0]
    dead = connection.execute(
        "SELECT COUNT(*) FROM inbox INDEXED BY inbox_status WHERE status = 'dead'"
    ).fetchone()[0]
    return int(unfinished), int(dead)


def get_event(connection: sqlite3.Connection, event_id: int) -> StoredEvent | None:
    row = connection.execute(f"SELECT {COLUMNS} FROM inbox WHERE id = ?", (event_id,)).fetchone()
    return event_from_row(row) if row else None


def get_trace(connection: sqlite3.Connection, event_id: int) -> JSON | None:
    row = connection.execute("SELECT trace FROM traces WHERE event_id = ?", (event_id,)).fetchone()
    return cast(JSON, json.loads(row[0])) if row else None


def list_events(connection: sqlite3.Connection, where: EventFilter) -> list[StoredEvent]:
    """The newest events that pass ``where``, at most ``where.limit``."""
    clauses, params = _where(where)
    sql = (
        f"SELECT {COLUMNS} FROM inbox AS i"
        + (" WHERE " + " AND ".join(clauses) if clauses else "")
        + " ORDER BY i.id DESC LIMIT ?"
    )
    return [event_from_row(row) for row in connection.execute(sql, [*params, where.limit])]


def attempts(connection: sqlite3.Connection, event_id: int) -> list[JSON]:
    rows = connection.execute(
        "SELECT owner, finished_at, status, reason FROM attempts WHERE event_id = ? ORDER BY id",
        (event_id,),
    ).fetchall()
    return [{"owner": r[0], "finished_at": r[1], "status": r[2], "reason": r[3]} for r in rows]


def _where(where: EventFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.before_id is not None:
        clauses.append("i.id < ?")
        params.append(where.before_id)
    if where.status:
        clauses.append("i.status = ?")
        params.append(where.status)
    if where.event_type:
        # Globs like record.* as in rules.
        clauses.append("i.event_type GLOB ?")
        params.append(where.event_type)
    if where.ordering_key:
        clauses.append("i.ordering_key = ?")
        params.append(where.ordering_key)
    if where.since is not None:
        clauses.append("i.received_at >= ?")
        params.append(where.since)
    if where.until is not None:
        clauses.append("i.received_at < ?")
        params.append(where.until)
    if where.ids is not None:
        clauses.append(f"i.id IN ({', '.join('?' for _ in where.ids) or 'NULL'})")
        params.extend(where.ids)
    if where.rule:
        # Events whose trace shows this rule matched.
        clauses.append(
            "EXISTS (SELECT 1 FROM traces AS t, json_each(t.trace, '$.decisions') AS d "
            "WHERE t.event_id = i.id AND json_extract(d.value, '$.rule') = ? "
            "AND json_extract(d.value, '$.matched') = 1)"
        )
        params.append(where.rule)
    return clauses, params
