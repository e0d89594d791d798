"""The SQLite store: one file, no server, the embedded default.

All access goes through one connection on a worker thread, one call at a
time.  Inserts from concurrent webhook requests are gathered and committed
together (group commit) with ``synchronous=FULL``, so an acknowledged event
is on disk.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from attio_automate.errors import StoreUnavailable
from attio_automate.store import jobs_sql, sqlite_reads
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
)
from attio_automate.store.batching import GroupCommit, Pending
from attio_automate.store.migrations import migrate_sqlite
from attio_automate.store.sqlite_reads import COLUMNS, event_from_row

T = TypeVar("T")


WriteFn = Callable[[sqlite3.Connection], Any]


class SQLiteStore(EndsAttempts):
    """The store in one SQLite file (``path``; ``:memory:`` for tests)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._connection: sqlite3.Connection | None = None
        self._limiter = anyio.CapacityLimiter(1)
        self._batches: GroupCommit[WriteFn] = GroupCommit(self._flush)
        self._subscribers: list[Callable[[str], None]] = []

    # -- plumbing -----------------------------------------------------------------------

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        connection = self._connection
        if connection is None:
            raise RuntimeError("the store is not open")
        return await anyio.to_thread.run_sync(fn, connection, limiter=self._limiter)

    async def open(self) -> None:
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"sqlite:///{self.path}", exc) from exc

        def connect() -> sqlite3.Connection:
            connection = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30.0
            )
            connection.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before we acknowledge the webhook.
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA busy_timeout=30000")
            migrate_sqlite(connection)
            return connection

        try:
            self._connection = await anyio.to_thread.run_sync(connect, limiter=self._limiter)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite:///{self.path}", exc) from exc

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await anyio.to_thread.run_sync(connection.close, limiter=self._limiter)

    async def ping(self) -> None:
        await self._run(lambda c: c.execute("SELECT 1").fetchone())

    # -- inbox --------------------------------------------------------------------------

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a write transaction shared with every other write
        waiting at the time: one commit (one fsync) for all of them.

        Each write runs under its own savepoint, so one failing rolls back only
        itself; the commit is durable (synchronous=FULL) before anyone returns.
        """
        result: T = await self._batches.submit(fn)
        return result

    async def _flush(self, batch: Sequence[Pending[WriteFn]]) -> None:
        def run(connection: sqlite3.Connection) -> None:
            connection.execute("BEGIN IMMEDIATE")
            try:
                for write in batch:
                    connection.execute("SAVEPOINT one")
                    try:
                        write.result = write.item(connection)
                    except Exception as exc:
                        connection.execute("ROLLBACK TO one")
                        write.error = exc
                    connection.execute("RELEASE one")
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

        await self._run(run)

    async def insert_events(self, events: Sequence[NewEvent]) -> list[bool]:
        return await self._write(lambda c: [_insert(c, event) for event in events])

    async def claim(self, owner: str, *, limit: int, lease: float, now: float) -> list[StoredEvent]:
        def claim(connection: sqlite3.Connection) -> list[StoredEvent]:
            rows = connection.execute(
                f"SELECT {COLUMNS} FROM inbox AS i "
                "WHERE i.status IN ('pending', 'processing') "
                "AND (i.status = 'pending' OR i.lease_until < :now) "
                "AND i.available_at <= :now "
                # the oldest unfinished event of its key, and no other of the key in flight
                "AND NOT EXISTS (SELECT 1 FROM inbox AS j "
                "  WHERE j.ordering_key = i.ordering_key "
                "  AND j.status IN ('pending', 'processing') AND j.id < i.id) "
                "ORDER BY i.id LIMIT :limit",
                {"now": now, "limit": limit},
            ).fetchall()
            ids = [row[0] for row in rows]
            connection.executemany(
                "UPDATE inbox SET status = 'processing', lease_owner = ?, lease_until = ? "
                "WHERE id = ?",
                [(owner, now + lease, i) for i in ids],
            )
            return [event_from_row(row, status="processing") for row in rows]

        return await self._write(claim)

    async def renew(self, owner: str, ids: Sequence[int], *, lease: float, now: float) -> None:
        def renew(connection: sqlite3.Connection) -> None:
            connection.executemany(
                "UPDATE inbox SET lease_until = ? WHERE id = ? AND lease_owner = ? "
                "AND status = 'processing'",
                [(now + lease, i, owner) for i in ids],
            )

        await self._write(renew)

    async def _end(self, ending: Ending) -> None:
        e = ending
        finished = None if e.status == "pending" else e.now

        def end(connection: sqlite3.Connection) -> None:
            connection.execute(
                "UPDATE inbox SET status = ?, attempts = attempts + ?, "
                "available_at = COALESCE(?, available_at), lease_owner = NULL, "
                "lease_until = NULL, finished_at = ?, reason = ?, force = 0 WHERE id = ?",
                (e.status, int(e.count_attempt), e.available_at, finished, e.reason, e.event_id),
            )
            connection.execute(
                "INSERT INTO attempts (event_id, owner, finished_at, status, reason) "
                "VALUES (?, ?, ?, ?, ?)",
                (e.event_id, e.owner, e.now, e.status, e.reason),
            )
            if e.trace is not None:
                connection.execute(
                    "INSERT INTO traces (event_id, trace, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (event_id) DO UPDATE SET trace = excluded.trace, "
                    "updated_at = excluded.updated_at",
                    (e.event_id, json.dumps(e.trace, default=str), e.now),
                )

        await self._write(end)

    async def release(self, owner: str) -> int:
        def release(connection: sqlite3.Connection) -> int:
            cursor = connection.execute(
                "UPDATE inbox SET status = 'pending', lease_owner = NULL, lease_until = NULL "
                "WHERE lease_owner = ? AND status = 'processing'",
                (owner,),
            )
            return cursor.rowcount

        return await self._write(release)

    # -- replayed bodies --------------------------------------------------------------

    async def remember_body(self, digest: str, key: str, *, now: float, window: float) -> str:
        def remember(connection: sqlite3.Connection) -> str:
            connection.execute(
                "INSERT INTO delivery_bodies (digest, idempotency_key, seen_at) VALUES (?, ?, ?) "
                "ON CONFLICT (digest) DO UPDATE SET idempotency_key = excluded.idempotency_key, "
                "seen_at = excluded.seen_at WHERE delivery_bodies.seen_at < ?",
                (digest, key, now, now - window),
            )
            row = connection.execute(
                "SELECT idempotency_key FROM delivery_bodies WHERE digest = ?", (digest,)
            ).fetchone()
            return str(row[0])

        return await self._write(remember)

    # -- heartbeats -----------------------------------------------------------------

    async def insert_wait(self, wait: NewEvent, *, group: str, policy: str, now: float) -> bool:
        others = (
            "SELECT id FROM inbox WHERE event_type = 'wait' AND status = 'pending' "
            "AND json_extract(payload, '$.wait.group') = ? AND key != ?"
        )

        def insert(c: sqlite3.Connection) -> bool:
            if policy == "keep" and c.execute(others, (group, wait.key)).fetchone():
                return False
            if policy == "replace":
                c.execute(
                    "UPDATE inbox SET status = 'skipped', finished_at = ?, reason = ? "
                    f"WHERE id IN ({others})",
                    (now, f"replaced by {wait.key}", group, wait.key),
                )
            return _insert(c, wait)

        return await self._write(insert)

    async def cancel_waits(
        self,
        group: str | None = None,
        *,
        ids: Sequence[int] | None = None,
        now: float,
        reason: str,
    ) -> int:
        args: list[object]
        if ids is not None:
            which, args = f"id IN ({', '.join('?' for _ in ids)})", list(ids)
        else:
            which, args = "json_extract(payload, '$.wait.group') = ?", [group]
        return await self._write(
            lambda c: (
                c.execute(
                    "UPDATE inbox SET status = 'skipped', finished_at = ?, reason = ? "
                    f"WHERE event_type = 'wait' AND status = 'pending' AND {which}",
                    (now, reason, *args),
                ).rowcount
            )
        )

    async def waits_summary(self) -> tuple[int, float | None]:
        row = await self._run(
            lambda c: c.execute(
                "SELECT COUNT(*), MIN(available_at) FROM inbox "
                "WHERE event_type = 'wait' AND status = 'pending'"
            ).fetchone()
        )
        return int(row[0]), row[1]

    async def claim_job(
        self, name: str, *, owner: str, now: float, lease: float, first_at: float
    ) -> float | None:
        def claim(c: sqlite3.Connection) -> float | None:
            c.execute(jobs_sql.ADD, (name, first_at))
            row = c.execute(jobs_sql.CLAIM, jobs_sql.claim_args(name, owner, now, lease)).fetchone()
            return float(row[0]) if row else None

        return await self._write(claim)

    async def finish_job(
        self, name: str, *, owner: str, next_at: float, outcome: str, now: float
    ) -> None:
        await self._write(
            lambda c: c.execute(jobs_sql.FINISH, (next_at, now, outcome, name, owner))
        )

    async def jobs(self) -> list[JobState]:
        rows = await self._run(lambda c: c.execute(jobs_sql.ALL).fetchall())
        return [jobs_sql.state(row) for row in rows]

    async def beat(self, owner: str, *, host: str, pid: int, now: float) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO runners (owner, host, pid, heartbeat_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                (owner, host, pid, now),
            )
        )

    async def heartbeats(self) -> list[Heartbeat]:
        rows = await self._run(
            lambda c: c.execute("SELECT owner, host, pid, heartbeat_at FROM runners").fetchall()
        )
        return [Heartbeat(str(r[0]), str(r[1]), int(r[2]), float(r[3])) for r in rows]

    async def forget(self, owner: str) -> None:
        await self._write(lambda c: c.execute("DELETE FROM runners WHERE owner = ?", (owner,)))

    # -- ledger -------------------------------------------------------------------------

    async def ledger_lookup(self, key: str) -> LedgerEntry | None:
        return (await self.ledger_entries([key])).get(key)

    async def ledger_entries(self, keys: Sequence[str]) -> dict[str, LedgerEntry]:
        marks = ", ".join("?" for _ in keys)
        rows = await self._run(
            lambda c: c.execute(
                f"SELECT key, state, action, result, updated_at FROM ledger WHERE key IN ({marks})",
                list(keys),
            ).fetchall()
        )
        return {
            row[0]: LedgerEntry(
                row[0], row[1], row[2], json.loads(row[3]) if row[3] else None, row[4]
            )
            for row in rows
        }

    async def ledger_claimed(self, action: str, field: str, value: str, *, except_key: str) -> bool:
        row = await self._run(
            lambda c: c.execute(
                "SELECT 1 FROM ledger WHERE action = ? AND key != ? AND state = 'done' "
                "AND json_extract(result, ?) = ? LIMIT 1",
                (action, except_key, f"$.{field}", value),
            ).fetchone()
        )
        return row is not None

    async def ledger_intend(
        self, key: str, *, event_id: int | None, action: str, now: float
    ) -> None:
        # The intent is committed before the action runs: after a crash, its
        # presence says "this may have happened".
        await self._write(
            lambda c: c.execute(
                "INSERT INTO ledger (key, event_id, state, action, updated_at) "
                "VALUES (?, ?, 'intent', ?, ?) ON CONFLICT (key) DO NOTHING",
                (key, event_id, action, now),
            )
        )

    async def ledger_record(
        self, key: str, *, event_id: int | None, action: str, result: Any, now: float
    ) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO ledger (key, event_id, state, action, result, updated_at) "
                "VALUES (?, ?, 'done', ?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = 'done', "
                "result = excluded.result, updated_at = excluded.updated_at",
                (key, event_id, action, json.dumps(result, default=str), now),
            )
        )

    # -- the loop guard's tokens ------------------------------------------------------

    async def own_tokens(self, key_digest: str) -> list[str]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT token_id FROM own_tokens WHERE key_digest = ? ORDER BY token_id",
                (key_digest,),
            ).fetchall()
        )
        return [str(row[0]) for row in rows]

    async def remember_token(self, token_id: str, *, key_digest: str, now: float) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO own_tokens (key_digest, token_id, first_seen) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (key_digest, token_id, now),
            )
        )

    # -- reading ------------------------------------------------------------------------

    async def status_counts(self) -> dict[str, int]:
        return await self._run(sqlite_reads.status_counts)

    async def depths(self) -> tuple[int, int]:
        return await self._run(sqlite_reads.depths)

    async def get_event(self, event_id: int) -> StoredEvent | None:
        return await self._run(lambda c: sqlite_reads.get_event(c, event_id))

    async def get_trace(self, event_id: int) -> JSON | None:
        return await self._run(lambda c: sqlite_reads.get_trace(c, event_id))

    async def list_events(self, where: EventFilter) -> list[StoredEvent]:
        return await self._run(lambda c: sqlite_reads.list_events(c, where))

    async def attempts(self, event_id: int) -> list[JSON]:
        return await self._run(lambda c: sqlite_reads.attempts(c, event_id))

    async def take(
        self, ids: Sequence[int], owner: str, *, lease: float, now: float, force: bool
    ) -> tuple[list[StoredEvent], list[int]]:
        def take(connection: sqlite3.Connection) -> tuple[list[StoredEvent], list[int]]:
            taken, busy = [], []
            for event_id in ids:
                row = connection.execute(
                    f"SELECT {COLUMNS}, lease_until FROM inbox WHERE id = ?", (event_id,)
                ).fetchone()
                if row is None:
                    continue
                if row[7] == "processing" and row[13] is not None and row[13] >= now:
                    busy.append(event_id)
                    continue
                connection.execute(
                    "UPDATE inbox SET status = 'processing', lease_owner = ?, lease_until = ?, "
                    "finished_at = NULL, force = ? WHERE id = ?",
                    (owner, now + lease, int(force), event_id),
                )
                taken.append(replace(event_from_row(row[:13], status="processing"), force=force))
            return taken, busy

        return await self._write(take)

    async def requeue(self, ids: Sequence[int], *, now: float, force: bool) -> int:
        def requeue(connection: sqlite3.Connection) -> int:
            changed = 0
            for event_id in ids:
                cursor = connection.execute(
                    "UPDATE inbox SET status = 'pending', available_at = ?, lease_owner = NULL, "
                    "lease_until = NULL, finished_at = NULL, force = ? WHERE id = ? AND NOT "
                    "(status = 'processing' AND lease_until >= ?)",
                    (now, int(force), event_id, now),
                )
                changed += cursor.rowcount
            return changed

        return await self._write(requeue)

    async def reserve_slot(self, budget: str, *, interval: float, lead: float = 0.0) -> Slot:
        def reserve(connection: sqlite3.Connection) -> Slot:
            now = time.time()
            connection.execute(
                "INSERT INTO rate_slots (budget, next_slot, blocked_until) VALUES (?, ?, 0) "
                "ON CONFLICT (budget) DO NOTHING",
                (budget, now),
            )
            row = connection.execute(
                "UPDATE rate_slots SET next_slot = MAX(next_slot, ?, blocked_until) + ? "
                "WHERE budget = ? RETURNING next_slot",
                (now + lead, interval, budget),
            ).fetchone()
            return Slot(at=float(row[0]) - interval, now=now)

        return await self._write(reserve)

    async def block_slots(self, budget: str, *, seconds: float) -> None:
        def block(connection: sqlite3.Connection) -> None:
            until = time.time() + seconds
            connection.execute(
                "INSERT INTO rate_slots (budget, next_slot, blocked_until) VALUES (?, ?, ?) "
                "ON CONFLICT (budget) DO UPDATE SET blocked_until = MAX(blocked_until, ?), "
                "next_slot = MAX(next_slot, ?)",
                (budget, until, until, until, until),
            )

        await self._write(block)

    async def publish(self, message: str) -> None:
        # One file, usually one process: tell this process's own subscribers.
        for callback in list(self._subscribers):
            callback(message)

    def subscribe(self, callback: Callable[[str], None]) -> None:
        self._subscribers.append(callback)

    async def sweep(self, *, finished_before: float) -> int:
        def sweep(connection: sqlite3.Connection) -> int:
            connection.execute("DELETE FROM delivery_bodies WHERE seen_at < ?", (finished_before,))
            connection.execute(
                "DELETE FROM ledger WHERE event_id IN (SELECT id FROM inbox WHERE "
                "status IN ('done', 'skipped') AND finished_at < ?)",
                (finished_before,),
            )
            cursor = connection.execute(
                "DELETE FROM inbox WHERE status IN ('done', 'skipped') AND finished_at < ?",
                (finished_before,),
            )
            return cursor.rowcount

        return await self._write(sweep)


def _insert(connection: sqlite3.Connection, event: NewEvent) -> bool:
    """Put ``event`` in the inbox unless its key is there; whether it was new."""
    cursor = connection.execute(
        "INSERT INTO inbox (key, ordering_key, event_type, payload, webhook_id, "
        "received_at, available_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (key) DO NOTHING",
        (
            event.key,
            event.ordering_key,
            event.event_type,
            json.dumps(event.payload),
            event.webhook_id,
            event.received_at,
            event.first_at,
        ),
    )
    return cursor.rowcount == 1
