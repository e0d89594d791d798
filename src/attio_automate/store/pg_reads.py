"""What the PostgreSQL store reads for operators: events, traces, attempts,
counts, and the filters ``events list`` narrows them with."""

from __future__ import annotations

from typing import Any, cast

from attio_automate.store.base import JSON, EventFilter, StoredEvent

#: An inbox row's columns, in the order :func:`event_from_row` reads them.
COLUMNS = (
    "id, key, ordering_key, event_type, payload, webhook_id, received_at, status, "
    "attempts, available_at, finished_at, reason, force"
)


def event_from_row(row: Any) -> StoredEvent:
    """The event an inbox row (with :data:`COLUMNS`) holds."""
    return StoredEvent(
        id=row["id"],
        key=row["key"],
        ordering_key=row["ordering_key"],
        event_type=row["event_type"],
        payload=row["payload"],
        webhook_id=row["webhook_id"],
        received_at=row["received_at"],
        status=row["status"],
        attempts=row["attempts"],
        available_at=row["available_at"],
        finished_at=row["finished_at"],
        reason=row["reason"],
        force=bool(row["force"]),
    )


async def status_counts(pool: Any) -> dict[str, int]:
    rows = await pool.fetch("SELECT status, COUNT(*) AS n FROM inbox GROUP BY status")
    return {row["status"]: int(row["n"]) for row in rows}


async def get_event(pool: Any, event_id: int) -> StoredEvent | None:
    row = await pool.fetchrow(f"SELECT {COLUMNS} FROM inbox WHERE id = $1", event_id)
    return event_from_row(row) if row else None


async def depths(pool: Any) -> tuple[int, int]:
    row = await pool.fetchrow(
        "SELECT (SELECT COUNT(*) FROM inbox WHERE status IN ('pending', 'processing')) AS open, "
        "(SELECT COUNT(*) FROM inbox WHERE status = 'dead') AS dead"
    )
    return int(row["open"]), int(row["dead"])


async def get_trace(pool: Any, event_id: int) -> JSON | None:
    value = await pool.fetchval("SELECT trace FROM traces WHERE event_id = $1", event_id)
    return cast(JSON | None, value)


async def list_events(pool: Any, where: EventFilter) -> list[StoredEvent]:
    """The newest events that pass ``where``, at most ``where.limit``."""
    clauses, params = _where(where)
    sql = (
        f"SELECT {COLUMNS} FROM inbox AS i"
        + (" WHERE " + " AND ".join(clauses) if clauses else "")
        + f" ORDER BY i.id DESC LIMIT ${len(params) + 1}"
    )
    rows = await pool.fetch(sql, *params, where.limit)
    return [event_from_row(row) for row in rows]


async def attempts(pool: Any, event_id: int) -> list[JSON]:
    rows = await pool.fetch(
        "SELECT owner, finished_at, status, reason FROM attempts WHERE event_id = $1 ORDER BY id",
        event_id,
    )
    return [dict(row) for row in rows]


def _where(where: EventFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []

    def add(sql: str, value: Any) -> None:
        params.append(value)
        clauses.append(sql.replace("?", f"${len(params)}"))

    if where.before_id is not None:
        add("i.id < ?", where.before_id)
    if where.status:
        add("i.status = ?", where.status)
    if where.event_type:
        # Globs like record.* as in rules: * and ? to LIKE's % and _.
        pattern = where.event_type.replace("%", r"\%").replace("_", r"\_")
        add("i.event_type LIKE ?", pattern.replace("*", "%").replace("?", "_"))
    if where.ordering_key:
        add("i.ordering_key = ?", where.ordering_key)
    if where.since is not None:
        add("i.received_at >= ?", where.since)
    if where.until is not None:
        add("i.received_at < ?", where.until)
    if where.ids is not None:
        add("i.id = ANY(?::bigint[])", list(where.ids))
    if where.rule:
        add(
            "EXISTS (SELECT 1 FROM traces AS t, jsonb_array_elements(t.trace -> 'decisions') "
            "AS d WHERE t.event_id = i.id AND d ->> 'rule' = ? "
            "AND (d ->> 'matched')::boolean)",
            where.rule,
        )
    return clauses, params
