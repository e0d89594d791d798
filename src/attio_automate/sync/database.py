"""The sync database: the user's SQLite or PostgreSQL, through SQLAlchemy.

It holds the mirror tables, the outbox and the runner's sync state.  The
runner creates the tables, and adds the columns a changed configuration
asks for; it never drops what is there.  Every failure of the database
itself is a :class:`~attio_automate.errors.SyncDatabaseError` (retry later).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import MetaData, Table, func, inspect, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from attio_automate.attio.schema import SchemaCache, Target
from attio_automate.clock import Clock, SystemClock
from attio_automate.errors import SyncDatabaseError
from attio_automate.sync.engine import engine_for
from attio_automate.sync.migrate import (
    add_missing_columns,
    install_notify,
    update_indexes,
)
from attio_automate.sync.spec import MirrorSpec, SyncSpec
from attio_automate.sync.tables import OUTBOX, mirror_table, outbox_table, state_table


class SyncDatabase:
    """The mirror tables, the outbox and the sync state of one database."""

    def __init__(self, spec: SyncSpec, *, clock: Clock | None = None) -> None:
        self.spec = spec
        self.clock = clock or SystemClock()
        self.engine, self._schema = engine_for(spec.database)
        self.metadata = MetaData()
        self.outbox = outbox_table(self.metadata)
        self.state = state_table(self.metadata)
        self._mirrors: dict[str, Table] = {}

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def open(self, schema: SchemaCache) -> None:
        """Build the mirror tables from Attio's attributes; create and migrate."""
        for mirror in self.spec.mirrors:
            target: Target = "lists" if mirror.is_list else "objects"
            attributes = await schema.attributes(target, mirror.source)
            self._mirrors[mirror.table] = mirror_table(self.metadata, mirror, attributes)
        async with self.connect() as connection:
            if self.dialect == "postgresql":
                if self._schema:
                    await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"'))
                # Runners starting together migrate one at a time.
                lock = int.from_bytes(hashlib.sha256(b"attio_sync").digest()[:4], "big")
                await connection.execute(text(f"SELECT pg_advisory_xact_lock({lock})"))
            await connection.run_sync(self.metadata.create_all)
            mirrors = list(self._mirrors.values())
            widened = await connection.run_sync(add_missing_columns, mirrors)
            await connection.run_sync(update_indexes, mirrors)
            now = datetime.fromtimestamp(self.clock.time(), UTC)
            for mirror in self.spec.mirrors:
                await self._note_since(connection, mirror)
                if mirror.table in widened:
                    # Rows there already get the new columns at the next reconcile.
                    await self.set_state(f"refill:{mirror.table}", True, at=now, within=connection)
            if self.dialect == "postgresql":
                await install_notify(connection)

    async def _note_since(self, connection: AsyncConnection, mirror: MirrorSpec) -> None:
        """When the mirror began: records Attio made before then are the
        initial load, not changes the webhooks missed."""
        key = f"since:{mirror.table}"
        found = await connection.execute(select(self.state.c.key).where(self.state.c.key == key))
        if found.first() is None:
            now = datetime.fromtimestamp(self.clock.time(), UTC)
            await connection.execute(
                self.state.insert().values(key=key, value=now.isoformat(), updated_at=now)
            )

    async def since(self, mirror: MirrorSpec) -> datetime | None:
        """When the mirror began (see :meth:`open`)."""
        value = await self.get_state(f"since:{mirror.table}")
        return datetime.fromisoformat(value) if isinstance(value, str) else None

    async def open_existing(self) -> None:
        """Use the tables a runner made, as they are, without asking Attio
        (for commands that read the mirror and the outbox)."""
        reflected = MetaData()
        async with self.connect() as connection:
            names = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
            wanted = [m.table for m in self.spec.mirrors] + [OUTBOX, self.state.name]
            missing = [name for name in wanted if name not in names]
            if missing:
                raise SyncDatabaseError(
                    f"the sync database has no {', '.join(missing)} yet: "
                    "`attio-automate serve` or `attio-automate sync run` makes the tables"
                )
            await connection.run_sync(
                lambda c: reflected.reflect(c, only=[m.table for m in self.spec.mirrors])
            )
        for mirror in self.spec.mirrors:
            self._mirrors[mirror.table] = reflected.tables[mirror.table]

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction; the database's failures as
        :class:`SyncDatabaseError`."""
        try:
            async with self.engine.begin() as connection:
                yield connection
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            if isinstance(exc, DBAPIError) and exc.orig is not None:
                reason: object = exc.orig
            else:
                reason = exc
            raise SyncDatabaseError(f"the sync database failed: {reason}") from exc

    @asynccontextmanager
    async def _using(self, within: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
        """``within`` (a transaction the caller holds), or one of its own."""
        if within is not None:
            yield within
            return
        async with self.connect() as connection:
            yield connection

    def table(self, mirror: MirrorSpec) -> Table:
        return self._mirrors[mirror.table]

    # -- mirror rows ------------------------------------------------------------------

    async def upsert(
        self,
        mirror: MirrorSpec,
        rows: Sequence[Mapping[str, Any]],
        *,
        unless_synced_after: datetime | None = None,
        within: AsyncConnection | None = None,
    ) -> None:
        """Insert ``rows`` or change, of the rows their keys name, the columns
        they name (all rows name the same columns); the rest stay as they are.

        ``unless_synced_after`` leaves alone a row synced after that time
        (a reconcile's page must not undo what a webhook wrote since)."""
        if not rows:
            return
        table = self.table(mirror)
        names = list(rows[0])
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        statement = dialect.insert(table)
        changing = {n: statement.excluded[n] for n in names if n != mirror.key}
        statement = statement.on_conflict_do_update(
            index_elements=[table.c[mirror.key]],
            set_=changing,
            where=(
                table.c.synced_at <= unless_synced_after
                if unless_synced_after is not None
                else None
            ),
        )
        async with self._using(within) as connection:
            await connection.execute(statement, [{n: row[n] for n in names} for row in rows])

    async def mark_deleted(
        self, mirror: MirrorSpec, key: str, *, at: datetime, merged_into: str | None = None
    ) -> bool:
        """Mark a row deleted (merged into another record); whether it was there."""
        table = self.table(mirror)
        values: dict[str, Any] = {"deleted": True, "synced_at": at}
        if merged_into is not None:
            values["merged_into"] = merged_into
        async with self.connect() as connection:
            result = await connection.execute(
                update(table).where(table.c[mirror.key] == key).values(**values)
            )
        return bool(result.rowcount)

    async def rows(
        self, mirror: MirrorSpec, keys: Iterable[str], *, within: AsyncConnection | None = None
    ) -> dict[str, dict[str, Any]]:
        """The rows with these keys, by key."""
        table = self.table(mirror)
        wanted = list(keys)
        if not wanted:
            return {}
        async with self._using(within) as connection:
            result = await connection.execute(select(table).where(table.c[mirror.key].in_(wanted)))
            return {row[mirror.key]: dict(row) for row in result.mappings()}

    async def mark_reconciled(
        self,
        mirror: MirrorSpec,
        keys: Sequence[str],
        run: str,
        *,
        within: AsyncConnection | None = None,
    ) -> None:
        if not keys:
            return
        table = self.table(mirror)
        async with self._using(within) as connection:
            await connection.execute(
                update(table).where(table.c[mirror.key].in_(list(keys))).values(reconciled_in=run)
            )

    async def unseen(
        self, mirror: MirrorSpec, run: str, *, synced_before: datetime, after: str, limit: int
    ) -> list[str]:
        """Live rows, synced before the reconcile ``run`` began, that it did
        not see (perhaps gone from Attio), in key order after ``after``."""
        table = self.table(mirror)
        key = table.c[mirror.key]
        seen = table.c.reconciled_in
        async with self.connect() as connection:
            result = await connection.execute(
                select(key)
                .where(table.c.deleted.is_(False))
                .where((seen.is_(None)) | (seen != run))
                .where(table.c.synced_at <= synced_before)
                .where(key > after)
                .order_by(key)
                .limit(limit)
            )
            return [str(row[0]) for row in result]

    async def counts(self, mirror: MirrorSpec) -> dict[str, Any]:
        """Rows, deleted rows, and the latest Attio change and sync."""
        table = self.table(mirror)
        async with self.connect() as connection:
            row = (
                await connection.execute(
                    select(
                        func.count(),
                        func.count().filter(table.c.deleted.is_(True)),
                        func.max(table.c.attio_updated_at),
                        func.max(table.c.synced_at),
                    )
                )
            ).one()
        return {
            "rows": int(row[0]),
            "deleted": int(row[1]),
            "last_change": _utc(row[2]),
            "last_synced": _utc(row[3]),
        }

    # -- state --------------------------------------------------------------------------

    async def get_state(self, key: str) -> Any:
        async with self.connect() as connection:
            result = await connection.execute(
                select(self.state.c.value).where(self.state.c.key == key)
            )
            row = result.first()
        return None if row is None else row[0]

    async def set_state(
        self, key: str, value: Any, *, at: datetime, within: AsyncConnection | None = None
    ) -> None:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        statement = dialect.insert(self.state).values(key=key, value=value, updated_at=at)
        statement = statement.on_conflict_do_update(
            index_elements=[self.state.c.key],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        )
        async with self._using(within) as connection:
            await connection.execute(statement)


def _utc(value: Any) -> datetime | None:
    """A time read back: SQLite gives it naive (it was written in UTC)."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


__all__ = ["SyncDatabase"]
