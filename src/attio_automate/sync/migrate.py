"""Bringing a sync database's tables up to what this version reads.

``create_all`` makes missing tables (with their indexes); for tables an
earlier version or configuration made, these add the columns a changed
configuration asks for, make the indexes this version reads and drop the
ones nothing reads any more.  Nothing the user could hold is ever dropped.
On PostgreSQL, a trigger notifies the feeder of each new outbox row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from attio_automate.sync.tables import retired_indexes

#: The channel PostgreSQL notifies on when a row enters the outbox.
CHANNEL = "attio_outbox"

_NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION attio_outbox_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('attio_outbox', NEW.id::text);
  RETURN NEW;
END $$ LANGUAGE plpgsql
"""
_DROP_TRIGGER = "DROP TRIGGER IF EXISTS attio_outbox_notify ON attio_outbox"
_NOTIFY_TRIGGER = (
    "CREATE TRIGGER attio_outbox_notify AFTER INSERT ON attio_outbox "
    "FOR EACH ROW EXECUTE FUNCTION attio_outbox_notify()"
)


async def install_notify(connection: AsyncConnection) -> None:
    """(PostgreSQL) The trigger that notifies :data:`CHANNEL` of new outbox rows."""
    await connection.execute(text(_NOTIFY_FUNCTION))
    await connection.execute(text(_DROP_TRIGGER))
    await connection.execute(text(_NOTIFY_TRIGGER))


def add_missing_columns(connection: Any, tables: Iterable[Table]) -> set[str]:
    """Columns a changed configuration added, added to existing tables;
    the tables that gained some."""
    inspector = inspect(connection)
    preparer = connection.dialect.identifier_preparer
    widened = set()
    for table in tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            widened.add(table.name)
            kind = column.type.compile(dialect=connection.dialect)
            connection.execute(
                text(
                    f"ALTER TABLE {preparer.quote(table.name)} "
                    f"ADD COLUMN {preparer.quote(column.name)} {kind}"
                )
            )
    return widened


def update_indexes(connection: Any, tables: Iterable[Table]) -> None:
    """Make the indexes this version reads on tables an earlier version
    created (``create_all`` makes them only with a new table), and drop the
    ones nothing reads any more: they cost every write."""
    inspector = inspect(connection)
    preparer = connection.dialect.identifier_preparer
    for table in tables:
        present = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                index.create(connection)
        for name in retired_indexes(table.name):
            if name in present:
                connection.execute(text(f"DROP INDEX {preparer.quote(name)}"))
