"""The PostgreSQL store: several runners on several hosts share one database.

Claims use ``FOR UPDATE SKIP LOCKED`` so runners never take the same event,
and keep per-key order across runners (an event is claimable only when it is
the oldest unfinished one of its key).  Leases and rate-limit slots use the
database's clock, so hosts need not agree on theirs.  ``LISTEN/NOTIFY``
wakes every runner when events arrive and carries cache invalidations;
polling remains the fallback.  Driver: asyncpg (asyncio-native, fast, with
first-class LISTEN support).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import asyncpg

from attio_automate.errors import StoreUnavailable
from attio_automate.store.base import (
    JSON,
    RESYNC,
    EndsAttempts,
    EventFilter,
    EventStatus,
    LedgerEntry,
    NewEvent,
    Slot,
    StoredEvent,
    shown_url,
)
from attio_automate.store.batching import GroupCommit, Pending
from attio_automate.store.migrations import POSTGRES_MIGRATIONS
from attio_automate.store.pg_writes import Ending, end_attempts, insert_events

log = logging.getLogger("attio_automate.store.postgres")

CHANNEL = "attio_automate"
#: Inserted events after which claims have the inbox analyzed, at most every
#: ANALYZE_EVERY seconds.
ANALYZE_AFTER = 1_000
ANALYZE_EVERY = 10.0
#: Seconds to wait for a connection to the database.
CONNECT_TIMEOUT = 10.0
#: Seconds between tries to win back a lost LISTEN connection.
LISTEN_RETRY = 2.0
# The database's clock (the statement's start: stable, so the planner can use indexes).
_NOW = "EXTRACT(EPOCH FROM statement_timestamp())"
_CLOCK = "EXTRACT(EPOCH FROM clock_timestamp())"
_COLUMNS = (
    "id, key, ordering_key, event_type, payload, webhook_id, received_at, status, "
    "attempts, available_at, finished_at, reason, force"
)


class PostgresStore(EndsAttempts):
    """The store in PostgreSQL (``postgresql://user@host:5432/db[?search_path=schema]``)."""

    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 10) -> None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.search_path = query.pop("search_path", None)
        self.url = urlunsplit(parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())))
        self._min = min_size
        self._max = max_size
        self._pool: Any = None
        self._listener: Any = None
        self._subscribers: list[Callable[[str], None]] = []
        self._inserts: GroupCommit[list[NewEvent]] = GroupCommit(self._insert_batch)
        self._endings: GroupCommit[Ending] = GroupCommit(self._end_batch)
        #: Events this store inserted since it last had the inbox analyzed.
        self._unanalyzed = 0
        self._analyzed_at = float("-inf")
        self._listener_settings: dict[str, str] = {}
        self._listen_tried_at = float("-inf")

    async def open(self) -> None:
        try:
            await self._open()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            await self.close()
            raise StoreUnavailable(shown_url(self.url), exc) from exc

    async def _open(self) -> None:
        settings = {"search_path": self.search_path} if self.search_path else {}
        # Plan each statement for the table as it is now: a plan cached while
        # the inbox was nearly empty turned claims quadratic once a burst
        # filled it (before autoanalyze gets to it).
        pool_settings = {**settings, "plan_cache_mode": "force_custom_plan"}
        if self.search_path:
            bootstrap = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT)
            try:
                await bootstrap.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.search_path}"')
            finally:
                await bootstrap.close()
        self._pool = await asyncpg.create_pool(
            self.url,
            timeout=CONNECT_TIMEOUT,
            min_size=self._min,
            max_size=self._max,
            server_settings=pool_settings,
            init=_init_connection,
        )
        async with self._pool.acquire() as connection:
            await _migrate(connection)
        self._listener_settings = settings
        self._listener = await self._listen()

    async def _listen(self) -> Any:
        connection = await asyncpg.connect(
            self.url, server_settings=self._listener_settings, timeout=CONNECT_TIMEOUT
        )
        await connection.add_listener(CHANNEL, self._on_notify)
        return connection

    async def _keep_listening(self) -> None:
        """Win the channel back if its connection was lost (a restart of the
        database, a network cut): without it, this runner would miss other
        runners' schema changes for good.  Tried at most every few seconds."""
        if self._listener is not None and not self._listener.is_closed():
            return
        started = time.monotonic()
        if started - self._listen_tried_at < LISTEN_RETRY:
            return
        self._listen_tried_at = started
        try:
            self._listener = await self._listen()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("cannot listen for other runners' messages yet: %s", exc)
            return
        log.info("listening for other runners' messages again")
        self._tell(RESYNC)

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self._tell(payload)

    def _tell(self, payload: str) -> None:
        for callback in list(self._subscribers):
            try:
                callback(payload)
            except Exception:
                log.exception("a store subscriber failed")

    async def ping(self) -> None:
        await self._pool.fetchval("SELECT 1")

    # -- inbox --------------------------------------------------------------------------

    async def insert_events(self, events: Sequence[NewEvent]) -> list[bool]:
        inserted: list[bool] = await self._inserts.submit(list(events))
        return inserted

    async def _insert_batch(self, batch: Sequence[Pending[list[NewEvent]]]) -> None:
        """Concurrent deliveries share one transaction and one commit."""
        events = [event for waiter in batch for event in waiter.item]
        async with self._pool.acquire() as connection, connection.transaction():
            new = await insert_events(connection, events)
            self._unanalyzed += len(new)
            if new:
                # Delivered at commit: every runner looks for work now.
                await connection.execute("SELECT pg_notify($1, 'events')", CHANNEL)
        for waiter in batch:
            # A key twice in one batch: the first is new, the second a duplicate.
            flags = []
            for event in waiter.item:
                flags.append(event.key in new)
                new.discard(event.key)
            waiter.result = flags

    async def claim(self, owner: str, *, limit: int, lease: float, now: float) -> list[StoredEvent]:
        await self._keep_statistics()
        await self._keep_listening()
        rows = await self._pool.fetch(
            f"""WITH candidates AS (
                SELECT i.id FROM inbox AS i
                WHERE i.status IN ('pending', 'processing')
                  AND (i.status = 'pending' OR i.lease_until < {_NOW})
                  AND i.available_at <= {_NOW}
                  AND NOT EXISTS (SELECT 1 FROM inbox AS j WHERE j.ordering_key = i.ordering_key
                                  AND j.status IN ('pending', 'processing') AND j.id < i.id)
                ORDER BY i.id LIMIT $2
                FOR UPDATE SKIP LOCKED)
            UPDATE inbox SET status = 'processing', lease_owner = $1,
                lease_until = {_NOW} + $3
            FROM candidates WHERE inbox.id = candidates.id
            RETURNING {", ".join("inbox." + c.strip() for c in _COLUMNS.split(","))}""",
            owner,
            limit,
            lease,
        )
        return sorted((_event(row) for row in rows), key=lambda e: e.id)

    async def _keep_statistics(self) -> None:
        """Have the inbox analyzed after a burst of inserts.

        Claims walk the open events in id order and stop early, but only if
        the planner knows there are many of them.  Autovacuum analyzes a busy
        table only about once a minute; until then a burst into a new (or
        long quiet) inbox is planned as if it were nearly empty, and every
        claim reads the whole backlog.
        """
        if self._unanalyzed < ANALYZE_AFTER:
            return
        started = time.monotonic()
        if started - self._analyzed_at < ANALYZE_EVERY:
            return
        self._unanalyzed = 0
        self._analyzed_at = started
        await self._pool.execute("ANALYZE inbox")

    async def renew(self, owner: str, ids: Sequence[int], *, lease: float, now: float) -> None:
        await self._pool.execute(
            f"UPDATE inbox SET lease_until = {_NOW} + $1 WHERE id = ANY($2::bigint[]) "
            "AND lease_owner = $3 AND status = 'processing'",
            lease,
            list(ids),
            owner,
        )

    async def _end(
        self,
        event_id: int,
        owner: str,
        status: EventStatus,
        available_at: float | None,
        trace: JSON | None,
        reason: str | None,
        now: float,
        count_attempt: bool,
    ) -> None:
        await self._endings.submit(
            Ending(event_id, owner, status, available_at, trace, reason, now, count_attempt)
        )

    async def _end_batch(self, batch: Sequence[Pending[Ending]]) -> None:
        """Attempts that end together share one transaction and one commit."""
        async with self._pool.acquire() as connection, connection.transaction():
            await end_attempts(connection, [waiter.item for waiter in batch])

    async def release(self, owner: str) -> int:
        result = await self._pool.execute(
            "UPDATE inbox SET status = 'pending', lease_owner = NULL, lease_until = NULL "
            "WHERE lease_owner = $1 AND status = 'processing'",
            owner,
        )
        return int(result.split()[-1])

    # -- ledger -------------------------------------------------------------------------

    async def ledger_lookup(self, key: str) -> LedgerEntry | None:
        row = await self._pool.fetchrow(
            "SELECT key, state, action, result FROM ledger WHERE key = $1", key
        )
        if row is None:
            return None
        return LedgerEntry(row["key"], row["state"], row["action"], row["result"])

    async def ledger_intend(
        self, key: str, *, event_id: int | None, action: str, now: float
    ) -> None:
        await self._pool.execute(
            "INSERT INTO ledger (key, event_id, state, action, updated_at) "
            "VALUES ($1, $2, 'intent', $3, $4) ON CONFLICT (key) DO NOTHING",
            key,
            event_id,
            action,
            now,
        )

    async def ledger_record(
        self, key: str, *, event_id: int | None, action: str, result: Any, now: float
    ) -> None:
        await self._pool.execute(
            "INSERT INTO ledger (key, event_id, state, action, result, updated_at) "
            "VALUES ($1, $2, 'done', $3, $4, $5) ON CONFLICT (key) DO UPDATE SET "
            "state = 'done', result = excluded.result, updated_at = excluded.updated_at",
            key,
            event_id,
            action,
            _jsonable(result),
            now,
        )

    # -- reading ------------------------------------------------------------------------

    async def status_counts(self) -> dict[str, int]:
        rows = await self._pool.fetch("SELECT status, COUNT(*) AS n FROM inbox GROUP BY status")
        return {row["status"]: int(row["n"]) for row in rows}

    async def get_event(self, event_id: int) -> StoredEvent | None:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM inbox WHERE id = $1", event_id)
        return _event(row) if row else None

    async def get_trace(self, event_id: int) -> JSON | None:
        value = await self._pool.fetchval("SELECT trace FROM traces WHERE event_id = $1", event_id)
        return cast(JSON | None, value)

    async def list_events(self, where: EventFilter) -> list[StoredEvent]:
        clauses, params = _where(where)
        sql = (
            f"SELECT {_COLUMNS} FROM inbox AS i"
            + (" WHERE " + " AND ".join(clauses) if clauses else "")
            + f" ORDER BY i.id DESC LIMIT ${len(params) + 1}"
        )
        rows = await self._pool.fetch(sql, *params, where.limit)
        return [_event(row) for row in rows]

    async def attempts(self, event_id: int) -> list[JSON]:
        rows = await self._pool.fetch(
            "SELECT owner, finished_at, status, reason FROM attempts WHERE event_id = $1 "
            "ORDER BY id",
            event_id,
        )
        return [dict(row) for row in rows]

    async def take(
        self, ids: Sequence[int], owner: str, *, lease: float, now: float, force: bool
    ) -> tuple[list[StoredEvent], list[int]]:
        taken: list[StoredEvent] = []
        busy: list[int] = []
        async with self._pool.acquire() as connection, connection.transaction():
            for event_id in ids:
                row = await connection.fetchrow(
                    f"SELECT {_COLUMNS}, lease_until >= {_NOW} AS leased FROM inbox "
                    "WHERE id = $1 FOR UPDATE",
                    event_id,
                )
                if row is None:
                    continue
                if row["status"] == "processing" and row["leased"]:
                    busy.append(event_id)
                    continue
                await connection.execute(
                    f"UPDATE inbox SET status = 'processing', lease_owner = $1, "
                    f"lease_until = {_NOW} + $2, finished_at = NULL, force = $3 WHERE id = $4",
                    owner,
                    lease,
                    force,
                    event_id,
                )
                taken.append(replace(_event(row), status="processing", force=force))
        return taken, busy

    async def requeue(self, ids: Sequence[int], *, now: float, force: bool) -> int:
        result = await self._pool.execute(
            f"UPDATE inbox SET status = 'pending', available_at = {_NOW}, lease_owner = NULL, "
            "lease_until = NULL, finished_at = NULL, force = $1 WHERE id = ANY($2::bigint[]) "
            f"AND NOT (status = 'processing' AND lease_until >= {_NOW})",
            force,
            list(ids),
        )
        await self._pool.execute("SELECT pg_notify($1, 'events')", CHANNEL)
        return int(result.split()[-1])

    # -- the shared rate-limit budget -----------------------------------------------------

    async def reserve_slot(self, budget: str, *, interval: float, lead: float = 0.0) -> Slot:
        # clock_timestamp(), not the statement's start: a runner that waited
        # for another's row lock must not be handed a slot that already passed.
        row = await self._pool.fetchrow(
            f"""INSERT INTO rate_slots AS s (budget, next_slot, blocked_until)
                VALUES ($1, {_CLOCK} + $3 + $2, 0)
                ON CONFLICT (budget) DO UPDATE SET next_slot =
                    GREATEST(s.next_slot, {_CLOCK} + $3, s.blocked_until) + $2
                RETURNING s.next_slot - $2 AS at, {_CLOCK} AS now""",
            budget,
            interval,
            lead,
        )
        return Slot(at=float(row["at"]), now=float(row["now"]))

    async def block_slots(self, budget: str, *, seconds: float) -> None:
        await self._pool.execute(
            f"""INSERT INTO rate_slots AS s (budget, next_slot, blocked_until)
                VALUES ($1, {_CLOCK} + $2, {_CLOCK} + $2)
                ON CONFLICT (budget) DO UPDATE SET
                    blocked_until = GREATEST(s.blocked_until, {_CLOCK} + $2),
                    next_slot = GREATEST(s.next_slot, {_CLOCK} + $2)""",
            budget,
            seconds,
        )

    async def publish(self, message: str) -> None:
        await self._pool.execute("SELECT pg_notify($1, $2)", CHANNEL, message)

    def subscribe(self, callback: Callable[[str], None]) -> None:
        self._subscribers.append(callback)

    async def sweep(self, *, finished_before: float) -> int:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "DELETE FROM ledger WHERE event_id IN (SELECT id FROM inbox WHERE "
                "status IN ('done', 'skipped') AND finished_at < $1)",
                finished_before,
            )
            result = await connection.execute(
                "DELETE FROM inbox WHERE status IN ('done', 'skipped') AND finished_at < $1",
                finished_before,
            )
        return int(result.split()[-1])


async def _init_connection(connection: Any) -> None:
    # JSONB in and out as Python values.
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _event(row: Any) -> StoredEvent:
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


def _where(where: EventFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []

    def add(sql: str, value: Any) -> None:
        params.append(value)
        clauses.append(sql.replace("?", f"${len(params)}"))

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


async def _migrate(connection: Any) -> None:
    async with connection.transaction():
        # One runner migrates at a time; the others wait here, then find it done.
        await connection.execute("SELECT pg_advisory_xact_lock(727217)")
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
        )
        current = await connection.fetchval("SELECT MAX(version) FROM schema_version") or 0
        for version, statements in POSTGRES_MIGRATIONS:
            if version <= current:
                continue
            for statement in statements:
                await connection.execute(statement)
            await connection.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
