"""Versioned schema migrations, applied in order at start-up."""

from __future__ import annotations

import sqlite3
from typing import Any

from attio_automate.errors import ConfigError

#: (version, statements) for SQLite; each version applies once, in a transaction.
SQLITE_MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE inbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            ordering_key TEXT NOT NULL,
            event_type TEXT NOT NULL,
            payload TEXT NOT NULL,
            webhook_id TEXT,
            received_at REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            available_at REAL NOT NULL,
            lease_owner TEXT,
            lease_until REAL,
            finished_at REAL,
            reason TEXT
        )""",
            # Ready events, oldest first.
            "CREATE INDEX inbox_ready ON inbox (available_at, id) "
            "WHERE status IN ('pending', 'processing')",
            # The unfinished events of one ordering key, oldest first.
            "CREATE INDEX inbox_open_by_key ON inbox (ordering_key, id) "
            "WHERE status IN ('pending', 'processing')",
            "CREATE INDEX inbox_finished ON inbox (finished_at) WHERE finished_at IS NOT NULL",
            """CREATE TABLE attempts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id INTEGER NOT NULL REFERENCES inbox (id) ON DELETE CASCADE,
            owner TEXT NOT NULL,
            finished_at REAL NOT NULL,
            status TEXT NOT NULL,
            reason TEXT
        )""",
            "CREATE INDEX attempts_event ON attempts (event_id)",
            """CREATE TABLE traces (
            event_id INTEGER PRIMARY KEY REFERENCES inbox (id) ON DELETE CASCADE,
            trace TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
            """CREATE TABLE ledger (
            key TEXT PRIMARY KEY,
            event_id INTEGER,
            state TEXT NOT NULL,
            action TEXT NOT NULL,
            result TEXT,
            updated_at REAL NOT NULL
        )""",
            "CREATE INDEX ledger_updated ON ledger (updated_at)",
        ],
    ),
    (
        2,
        [
            # A replay asked to run actions again even if the ledger has them.
            "ALTER TABLE inbox ADD COLUMN force INTEGER NOT NULL DEFAULT 0",
            "CREATE INDEX inbox_received ON inbox (received_at)",
            "CREATE INDEX inbox_status ON inbox (status, id)",
        ],
    ),
    (
        3,
        [
            # The shared rate-limit budget: the next free slot per budget.
            """CREATE TABLE rate_slots (
                budget TEXT PRIMARY KEY,
                next_slot REAL NOT NULL,
                blocked_until REAL NOT NULL
            )""",
        ],
    ),
    (
        4,
        [
            # The runner's own API token ids (the loop guard), per API key
            # (a digest of it), so a restart still knows them.
            """CREATE TABLE own_tokens (
                key_digest TEXT NOT NULL,
                token_id TEXT NOT NULL,
                first_seen REAL NOT NULL,
                PRIMARY KEY (key_digest, token_id)
            )""",
        ],
    ),
    (
        5,
        [
            # Each running dispatcher's heartbeat: a dead one's leases are
            # given back at once, not when they run out.
            """CREATE TABLE runners (
                owner TEXT PRIMARY KEY,
                host TEXT NOT NULL,
                pid INTEGER NOT NULL,
                heartbeat_at REAL NOT NULL
            )""",
        ],
    ),
    (
        6,
        [
            # Signed bodies seen lately, by digest, with the Idempotency-Key
            # they first came with (the opt-in replay window).
            """CREATE TABLE delivery_bodies (
                digest TEXT PRIMARY KEY,
                idempotency_key TEXT NOT NULL,
                seen_at REAL NOT NULL
            )""",
        ],
    ),
    (
        7,
        [
            # Periodic jobs run once across runners: who holds each, until
            # when, when it is next due and how it last went.
            """CREATE TABLE jobs (
                name TEXT PRIMARY KEY,
                next_at REAL NOT NULL,
                owner TEXT,
                lease_until REAL,
                last_started REAL,
                last_finished REAL,
                last_outcome TEXT
            )""",
        ],
    ),
]

#: (version, statements) for PostgreSQL.
POSTGRES_MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE inbox (
                id BIGSERIAL PRIMARY KEY,
                key TEXT NOT NULL UNIQUE,
                ordering_key TEXT NOT NULL,
                event_type TEXT NOT NULL,
                payload JSONB NOT NULL,
                webhook_id TEXT,
                received_at DOUBLE PRECISION NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending',
                attempts INTEGER NOT NULL DEFAULT 0,
                available_at DOUBLE PRECISION NOT NULL,
                lease_owner TEXT,
                lease_until DOUBLE PRECISION,
                finished_at DOUBLE PRECISION,
                reason TEXT,
                force BOOLEAN NOT NULL DEFAULT FALSE
            )""",
            "CREATE INDEX inbox_ready ON inbox (available_at, id) "
            "WHERE status IN ('pending', 'processing')",
            "CREATE INDEX inbox_open_by_key ON inbox (ordering_key, id) "
            "WHERE status IN ('pending', 'processing')",
            "CREATE INDEX inbox_finished ON inbox (finished_at) WHERE finished_at IS NOT NULL",
            "CREATE INDEX inbox_received ON inbox (received_at)",
            "CREATE INDEX inbox_status ON inbox (status, id)",
            """CREATE TABLE attempts (
                id BIGSERIAL PRIMARY KEY,
                event_id BIGINT NOT NULL REFERENCES inbox (id) ON DELETE CASCADE,
                owner TEXT NOT NULL,
                finished_at DOUBLE PRECISION NOT NULL,
                status TEXT NOT NULL,
                reason TEXT
            )""",
            "CREATE INDEX attempts_event ON attempts (event_id)",
            """CREATE TABLE traces (
                event_id BIGINT PRIMARY KEY REFERENCES inbox (id) ON DELETE CASCADE,
                trace JSONB NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )""",
            """CREATE TABLE ledger (
                key TEXT PRIMARY KEY,
                event_id BIGINT,
                state TEXT NOT NULL,
                action TEXT NOT NULL,
                result JSONB,
                updated_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX ledger_updated ON ledger (updated_at)",
            """CREATE TABLE rate_slots (
                budget TEXT PRIMARY KEY,
                next_slot DOUBLE PRECISION NOT NULL,
                blocked_until DOUBLE PRECISION NOT NULL
            )""",
        ],
    ),
    (
        2,
        [
            # Unfinished events in arrival order: claims walk it and stop early.
            "CREATE INDEX inbox_open ON inbox (id) WHERE status IN ('pending', 'processing')",
        ],
    ),
    (
        3,
        [
            # Slots are worth nothing after a crash, and a commit that waits for
            # the WAL to reach the disk makes a runner late for its slot.
            "ALTER TABLE rate_slots SET UNLOGGED",
        ],
    ),
    (
        4,
        [
            """CREATE TABLE own_tokens (
                key_digest TEXT NOT NULL,
                token_id TEXT NOT NULL,
                first_seen DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (key_digest, token_id)
            )""",
        ],
    ),
    (
        5,
        [
            """CREATE TABLE runners (
                owner TEXT PRIMARY KEY,
                host TEXT NOT NULL,
                pid INTEGER NOT NULL,
                heartbeat_at DOUBLE PRECISION NOT NULL
            )""",
        ],
    ),
    (
        6,
        [
            """CREATE TABLE delivery_bodies (
                digest TEXT PRIMARY KEY,
                idempotency_key TEXT NOT NULL,
                seen_at DOUBLE PRECISION NOT NULL
            )""",
        ],
    ),
    (
        7,
        [
            """CREATE TABLE jobs (
                name TEXT PRIMARY KEY,
                next_at DOUBLE PRECISION NOT NULL,
                owner TEXT,
                lease_until DOUBLE PRECISION,
                last_started DOUBLE PRECISION,
                last_finished DOUBLE PRECISION,
                last_outcome TEXT
            )""",
        ],
    ),
]


class SchemaTooNew(ConfigError):
    """The store was migrated by a newer runner than this one."""


def _refuse_newer(current: int, migrations: list[tuple[int, list[str]]]) -> None:
    """A runner never works on a schema it does not know: during a rolling
    upgrade the old runners stop here, with a clear message, instead of
    writing rows the new schema does not expect."""
    known = max(version for version, _ in migrations)
    if current > known:
        raise SchemaTooNew(
            [
                f"the store's schema is version {current}, newer than this runner knows "
                f"({known}): a newer attio-automate has migrated it; upgrade this runner"
            ]
        )


def migrate_sqlite(connection: sqlite3.Connection) -> None:
    """Apply the SQLite migrations ``connection``'s file has not had yet."""
    connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = connection.execute("SELECT MAX(version) FROM schema_version").fetchone()
    current = row[0] or 0
    _refuse_newer(current, SQLITE_MIGRATIONS)
    for version, statements in SQLITE_MIGRATIONS:
        if version <= current:
            continue
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements:
                connection.execute(statement)
            connection.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


async def migrate_postgres(connection: Any) -> None:
    """Apply the PostgreSQL migrations the database has not had yet (an
    asyncpg connection; one runner at a time)."""
    async with connection.transaction():
        # One runner migrates at a time; the others wait here, then find it done.
        await connection.execute("SELECT pg_advisory_xact_lock(727217)")
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
        )
        current = await connection.fetchval("SELECT MAX(version) FROM schema_version") or 0
        _refuse_newer(current, POSTGRES_MIGRATIONS)
        for version, statements in POSTGRES_MIGRATIONS:
            if version <= current:
                continue
            for statement in statements:
                await connection.execute(statement)
            await connection.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
