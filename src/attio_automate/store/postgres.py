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
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import asyncpg

from attio_automate.errors import StoreUnavailable
from attio_automate.store import jobs_sql, pg_reads
from attio_automate.store.base import (
    JSON,
    Ending,
    EndsAttempts,
    EventFilter,
    Heartbeat,
    JobState,
    LedgerEntry,
    NewEvent,
    Slot,
    StoredEvent,
    shown_url,
)
from attio_automate.store.batching import GroupCommit, Pending
from attio_automate.store.migrations import migrate_postgres
from attio_automate.store.pg_channel import CHANNEL, PgChannel
from attio_automate.store.pg_reads import COLUMNS, event_from_row
from attio_automate.store.pg_writes import end_attempts, insert_events

log = logging.getLogger("attio_automate.store.postgres")

#: Inserted events after which claims have the inbox analyzed, at most every
#: ANALYZE_EVERY seconds.
ANALYZE_AFTER = 1_000
ANALYZE_EVERY = 10.0
#: Seconds to wait for a connection to the database.
CONNECT_TIMEOUT = 10.0
# The database's clock (the statement's start: stable, so the planner can use indexes).
_NOW = "EXTRACT(EPOCH FROM statement_timestamp())"
_CLOCK = "EXTRACT(EPOCH FROM clock_timestamp())"


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
        # Connects when the store opens; subscribers may come before that.
        self._channel = PgChannel(
            self.url, server_settings=self._settings(), connect_timeout=CONNECT_TIMEOUT
        )
        self._inserts: GroupCommit[list[NewEvent]] = GroupCommit(self._insert_batch)
        self._endings: GroupCommit[Ending] = GroupCommit(self._end_batch)
        #: Events this store inserted since it last had the inbox analyzed.
        self._unanalyzed = 0
        self._analyzed_at = float("-inf")

    async def open(self) -> None:
        try:
            await self._open()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            await self.close()
            raise StoreUnavailable(shown_url(self.url), exc) from exc

    def _settings(self) -> dict[str, str]:
        return {"search_path": self.search_path} if self.search_path else {}

    async def _open(self) -> None:
        settings = self._settings()
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
            await migrate_postgres(connection)
        await self._channel.open()

    async def close(self) -> None:
        await self._channel.close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

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
        await self._channel.keep_listening()
        rows = await self._pool.fetch(
            f"""WITH candidates AS (
                SELECT i.id FROM inbox AS i
                WHERE i.status IN ('pending', 'processing')
                  AND (i.status = 'pending' OR i.lease_until < {_NOW})
                  AND i.available_at <= $4
                  AND NOT EXISTS (SELECT 1 FROM inbox AS j WHERE j.ordering_key = i.ordering_key
                                  AND j.status IN ('pending', 'processing') AND j.id < i.id)
                ORDER BY i.id LIMIT $2
                FOR UPDATE SKIP LOCKED)
            UPDATE inbox SET status = 'processing', lease_owner = $1,
                lease_until = {_NOW} + $3
            FROM candidates WHERE inbox.id = candidates.id
            RETURNING {", ".join("inbox." + c.strip() for c in COLUMNS.split(","))}""",
            owner,
            limit,
            lease,
            # Due times (retries, waits) are stamped from the runners' clock, so
            # they are compared with it: a runner on a virtual clock sees a wait
            # fall due when its clock says so.  Leases, which runners must agree
            # on among themselves, keep to the database's clock.
            now,
        )
        return sorted((event_from_row(row) for row in rows), key=lambda e: e.id)

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

    async def _end(self, ending: Ending) -> None:
        await self._endings.submit(ending)

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

    # -- replayed bodies --------------------------------------------------------------

    async def remember_body(self, digest: str, key: str, *, now: float, window: float) -> str:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO delivery_bodies (digest, idempotency_key, seen_at) "
                "VALUES ($1, $2, $3) ON CONFLICT (digest) DO UPDATE SET "
                "idempotency_key = excluded.idempotency_key, seen_at = excluded.seen_at "
                "WHERE delivery_bodies.seen_at < $4",
                digest,
                key,
                now,
                now - window,
            )
            first: str = await connection.fetchval(
                "SELECT idempotency_key FROM delivery_bodies WHERE digest = $1", digest
            )
        return first

    # -- heartbeats -----------------------------------------------------------------

    async def insert_wait(self, wait: NewEvent, *, group: str, policy: str, now: float) -> bool:
        others = (
            "SELECT id FROM inbox WHERE event_type = 'wait' AND status = 'pending' "
            "AND payload->'wait'->>'group' = $1 AND key != $2"
        )
        async with self._pool.acquire() as connection, connection.transaction():
            if policy == "keep" and await connection.fetchval(others, group, wait.key):
                return False
            if policy == "replace":
                await connection.execute(
                    "UPDATE inbox SET status = 'skipped', finished_at = $3, reason = $4 "
                    f"WHERE id IN ({others})",
                    group,
                    wait.key,
                    now,
                    f"replaced by {wait.key}",
                )
            inserted = await insert_events(connection, [wait])
        return bool(inserted)

    async def cancel_waits(
        self,
        group: str | None = None,
        *,
        ids: Sequence[int] | None = None,
        now: float,
        reason: str,
    ) -> int:
        arg: object
        if ids is not None:
            which, arg = "id = ANY($3::bigint[])", list(ids)
        else:
            which, arg = "payload->'wait'->>'group' = $3", group
        done = await self._pool.execute(
            "UPDATE inbox SET status = 'skipped', finished_at = $1, reason = $2 "
            f"WHERE event_type = 'wait' AND status = 'pending' AND {which}",
            now,
            reason,
            arg,
        )
        return int(done.split()[-1])

    async def waits_summary(self) -> tuple[int, float | None]:
        row = await self._pool.fetchrow(
            "SELECT COUNT(*) AS n, MIN(available_at) AS due FROM inbox "
            "WHERE event_type = 'wait' AND status = 'pending'"
        )
        return int(row["n"]), row["due"]

    async def claim_job(
        self, name: str, *, owner: str, now: float, lease: float, first_at: float
    ) -> float | None:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(jobs_sql.numbered(jobs_sql.ADD), name, first_at)
            due = await connection.fetchval(
                jobs_sql.numbered(jobs_sql.CLAIM), *jobs_sql.claim_args(name, owner, now, lease)
            )
        return float(due) if due is not None else None

    async def finish_job(
        self, name: str, *, owner: str, next_at: float, outcome: str, now: float
    ) -> None:
        await self._pool.execute(
            jobs_sql.numbered(jobs_sql.FINISH), next_at, now, outcome, name, owner
        )

    async def jobs(self) -> list[JobState]:
        return [jobs_sql.state(row) for row in await self._pool.fetch(jobs_sql.ALL)]

    async def beat(self, owner: str, *, host: str, pid: int, now: float) -> None:
        await self._pool.execute(
            "INSERT INTO runners (owner, host, pid, heartbeat_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
            owner,
            host,
            pid,
            now,
        )

    async def heartbeats(self) -> list[Heartbeat]:
        rows = await self._pool.fetch("SELECT owner, host, pid, heartbeat_at FROM runners")
        return [Heartbeat(r["owner"], r["host"], r["pid"], r["heartbeat_at"]) for r in rows]

    async def forget(self, owner: str) -> None:
        await self._pool.execute("DELETE FROM runners WHERE owner = $1", owner)

    # -- ledger -------------------------------------------------------------------------

    async def ledger_lookup(self, key: str) -> LedgerEntry | None:
        return (await self.ledger_entries([key])).get(key)

    async def ledger_entries(self, keys: Sequence[str]) -> dict[str, LedgerEntry]:
        rows = await self._pool.fetch(
            "SELECT key, state, action, result, updated_at FROM ledger WHERE key = ANY($1)",
            list(keys),
        )
        return {
            row["key"]: LedgerEntry(
                row["key"], row["state"], row["action"], row["result"], row["updated_at"]
            )
            for row in rows
        }

    async def ledger_claimed(self, action: str, field: str, value: str, *, except_key: str) -> bool:
        found = await self._pool.fetchval(
            "SELECT 1 FROM ledger WHERE action = $1 AND key != $2 AND state = 'done' "
            "AND result ->> $3 = $4 LIMIT 1",
            action,
            except_key,
            field,
            value,
        )
        return found is not None

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

    # -- the loop guard's tokens ------------------------------------------------------

    async def own_tokens(self, key_digest: str) -> list[str]:
        rows = await self._pool.fetch(
            "SELECT token_id FROM own_tokens WHERE key_digest = $1 ORDER BY token_id", key_digest
        )
        return [str(row["token_id"]) for row in rows]

    async def remember_token(self, token_id: str, *, key_digest: str, now: float) -> None:
        await self._pool.execute(
            "INSERT INTO own_tokens (key_digest, token_id, first_seen) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            key_digest,
            token_id,
            now,
        )

    # -- reading ------------------------------------------------------------------------

    async def status_counts(self) -> dict[str, int]:
        return await pg_reads.status_counts(self._pool)

    async def depths(self) -> tuple[int, int]:
        return await pg_reads.depths(self._pool)

    async def get_event(self, event_id: int) -> StoredEvent | None:
        return await pg_reads.get_event(self._pool, event_id)

    async def get_trace(self, event_id: int) -> JSON | None:
        return await pg_reads.get_trace(self._pool, event_id)

    async def list_events(self, where: EventFilter) -> list[StoredEvent]:
        return await pg_reads.list_events(self._pool, where)

    async def attempts(self, event_id: int) -> list[JSON]:
        return await pg_reads.attempts(self._pool, event_id)

    async def take(
        self, ids: Sequence[int], owner: str, *, lease: float, now: float, force: bool
    ) -> tuple[list[StoredEvent], list[int]]:
        taken: list[StoredEvent] = []
        busy: list[int] = []
        async with self._pool.acquire() as connection, connection.transaction():
            for event_id in ids:
                row = await connection.fetchrow(
                    f"SELECT {COLUMNS}, lease_until >= {_NOW} AS leased FROM inbox "
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
                taken.append(replace(event_from_row(row), status="processing", force=force))
        return taken, busy

    async def requeue(self, ids: Sequence[int], *, now: float, force: bool) -> int:
        result = await self._pool.execute(
            "UPDATE inbox SET status = 'pending', available_at = $3, lease_owner = NULL, "
            "lease_until = NULL, finished_at = NULL, force = $1 WHERE id = ANY($2::bigint[]) "
            f"AND NOT (status = 'processing' AND lease_until >= {_NOW})",
            force,
            list(ids),
            now,
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
        self._channel.subscribe(callback)

    async def sweep(self, *, finished_before: float) -> int:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "DELETE FROM delivery_bodies WHERE seen_at < $1", finished_before
            )
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
