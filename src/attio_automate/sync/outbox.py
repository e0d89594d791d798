"""The outbox: rows applications write to the sync database, to be upserted
into Attio, and the feeder that moves each into the runner's inbox.

An application inserts ``(object, matching_attribute, values, changed_at)``
into ``attio_outbox``.  The feeder notices (PostgreSQL notifies it; on SQLite
it polls), and turns each pending row into an ``outbox.push`` event in the
inbox, keyed by the row (so a row fed twice is one event), ordered by the
record it matches (so two changes to one record are pushed in order).  From
there the push has every promise of the event path: once (the ledger), in
order, retried, traced.  The outcome goes back on the row.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import anyio
from anyio.abc import TaskStatus
from sqlalchemy import func, select, update

from attio_automate.clock import Clock, SystemClock
from attio_automate.store.base import NewEvent, Store
from attio_automate.sync.database import SyncDatabase
from attio_automate.sync.migrate import CHANNEL

log = logging.getLogger("attio_automate.sync")

#: Rows moved into the inbox per step.
BATCH = 500
#: Seconds between safety-net polls where the database notifies.
NOTIFIED_POLL = 30.0

PENDING, QUEUED, DONE, FAILED, CONFLICT = "pending", "queued", "done", "failed", "conflict"


def database_tag(url: str) -> str:
    """A short name for one sync database, in inbox keys."""
    return hashlib.sha256(url.encode()).hexdigest()[:10]


def match_value(values: Mapping[str, Any], attribute: str) -> str:
    """The value a row is matched on, as one string (the first of a list)."""
    value = values.get(attribute)
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, Mapping):
        value = json.dumps(value, sort_keys=True)
    return "" if value is None else str(value).strip().lower()


class Outbox:
    """The outbox rows of one sync database."""

    def __init__(self, database: SyncDatabase, clock: Clock | None = None) -> None:
        self.database = database
        self.table = database.outbox
        self.clock = clock or SystemClock()
        self.tag = database_tag(database.spec.database)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), UTC)

    async def row(self, row_id: int) -> dict[str, Any] | None:
        async with self.database.connect() as connection:
            result = await connection.execute(select(self.table).where(self.table.c.id == row_id))
            found = result.mappings().first()
        return dict(found) if found is not None else None

    async def rows(self, status: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        statement = select(self.table).order_by(self.table.c.id).limit(limit)
        if status is not None:
            statement = statement.where(self.table.c.status == status)
        async with self.database.connect() as connection:
            result = await connection.execute(statement)
            return [dict(row) for row in result.mappings()]

    async def set(self, row_id: int, **values: Any) -> None:
        if values.get("status") in (DONE, FAILED, CONFLICT):
            values.setdefault("finished_at", self._now())
        async with self.database.connect() as connection:
            await connection.execute(
                update(self.table).where(self.table.c.id == row_id).values(**values)
            )

    async def retry(self, row_ids: list[int], *, statuses: tuple[str, ...] = (FAILED,)) -> int:
        """Send these rows again (a new inbox event each); how many were."""
        async with self.database.connect() as connection:
            result = await connection.execute(
                update(self.table)
                .where(self.table.c.id.in_(row_ids))
                .where(self.table.c.status.in_(statuses))
                .values(
                    status=PENDING,
                    attempts=self.table.c.attempts + 1,
                    error_code=None,
                    error_message=None,
                    finished_at=None,
                )
            )
        return int(result.rowcount)

    async def resolve(self, row_id: int, *, keep: str) -> bool:
        """Settle a conflict: ``local`` pushes the row as written, ``attio``
        leaves Attio as it is.  False when the row is not a conflict."""
        if keep not in ("local", "attio"):
            raise ValueError("keep is local or attio")
        row = await self.row(row_id)
        if row is None or row["status"] != CONFLICT:
            return False
        conflict = {**(row.get("conflict") or {}), "resolved": keep}
        if keep == "local":
            await self.set(
                row_id, status=PENDING, attempts=int(row["attempts"]) + 1, conflict=conflict
            )
        else:
            await self.set(row_id, status=DONE, conflict=conflict)
        return True

    async def counts(self) -> dict[str, int]:
        async with self.database.connect() as connection:
            result = await connection.execute(
                select(self.table.c.status, func.count()).group_by(self.table.c.status)
            )
            return {str(status): int(n) for status, n in result}

    def event_for(self, row: Mapping[str, Any], now: float) -> NewEvent:
        """The inbox event that pushes ``row`` (one per row and retry)."""
        values = row["values"] if isinstance(row["values"], Mapping) else {}
        payload = {
            "event_type": "outbox.push",
            "id": {"outbox_id": str(row["id"])},
            "actor": {"type": "system", "id": None},
            "outbox": {"row": int(row["id"]), "object": row["object"]},
        }
        subject = f"{row['object']}:{row['matching_attribute']}:"
        subject += match_value(values, row["matching_attribute"])
        return NewEvent(
            f"outbox:{self.tag}:{row['id']}:{row['attempts']}",
            # Changes to one record are pushed in the order they were written.
            f"outbox:{hashlib.sha256(subject.encode()).hexdigest()[:24]}",
            "outbox.push",
            payload,
            None,
            now,
        )

    async def feed(self, store: Store) -> int:
        """Move pending rows into the inbox; how many were moved."""
        moved = 0
        while True:
            pending = await self.rows(PENDING, limit=BATCH)
            if not pending:
                return moved
            # Into the inbox first: a crash before the rows are marked feeds
            # them again, and their keys make that a no-op.
            await store.insert_events([self.event_for(r, self.clock.time()) for r in pending])
            async with self.database.connect() as connection:
                await connection.execute(
                    update(self.table)
                    .where(self.table.c.id.in_([r["id"] for r in pending]))
                    .where(self.table.c.status == PENDING)
                    .values(status=QUEUED)
                )
            moved += len(pending)


class OutboxFeeder:
    """Feeds the outbox into the inbox whenever rows arrive, in ``serve``."""

    def __init__(
        self,
        outbox: Outbox,
        store: Store,
        *,
        poll_seconds: float,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.outbox = outbox
        self.store = store
        self.poll_seconds = poll_seconds
        self.wake = wake
        self._arrived = anyio.Event()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        listener = await self._listen()
        task_status.started()
        try:
            while True:
                try:
                    if await self.outbox.feed(self.store):
                        self.wake()
                except Exception as exc:
                    # The database or the store is away: the rows wait in the outbox.
                    log.warning("outbox: could not feed the inbox: %s", exc)
                pause = NOTIFIED_POLL if listener is not None else self.poll_seconds
                with anyio.move_on_after(pause):
                    await self._arrived.wait()
                self._arrived = anyio.Event()
        finally:
            if listener is not None:
                with anyio.CancelScope(shield=True):
                    await listener.close()

    async def _listen(self) -> Any:
        """A PostgreSQL connection listening for new outbox rows (None on SQLite,
        or when it cannot be had: then polling does)."""
        database = self.outbox.database
        if database.dialect != "postgresql":
            return None
        import asyncpg

        url = database.engine.url
        try:
            connection = await asyncpg.connect(
                host=url.host,
                port=url.port,
                user=url.username,
                password=url.password,
                database=url.database,
                timeout=10,
            )
            await connection.add_listener(CHANNEL, lambda *_: self._arrived.set())
        except Exception as exc:
            log.warning("outbox: cannot listen for new rows (%s); polling instead", exc)
            return None
        return connection
