"""The demo's sync part: one change each way between Attio and a mirror
in a SQLite database of the demo's own."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from sqlalchemy import insert, select

from attio_automate.assembly import Runner
from attio_automate.sync.outbox import DONE

Echo = Callable[[str], None]


def sync_settings(database: str) -> dict[str, Any]:
    """The demo's ``sync:`` settings, given the database URL."""
    return {
        "database": database,
        "mirrors": [
            {
                "object": "people",
                "table": "attio_people",
                "columns": {"email": "email_addresses", "name": "name", "title": "job_title"},
            }
        ],
        "poll_seconds": 0.2,
    }


async def show_sync(echo: Echo, runner: Runner, settle: Callable[[], Awaitable[None]]) -> None:
    """Show the mirror Attio's changes made, then push an application's row."""
    plugin = runner.plugins.sync
    assert plugin is not None
    database, outbox = plugin.database, plugin.outbox
    assert database is not None
    assert outbox is not None
    table = database.table(plugin.spec.mirrors[0])
    echo("\n── sync, Attio → the mirror: the webhooks above kept the table attio_people")
    async with database.connect() as connection:
        rows = (await connection.execute(select(table).order_by(table.c.name))).mappings().all()
    for mirrored in rows:
        echo(f"  row  {mirrored['name']!r:<18} {mirrored['email']} title {mirrored['title']!r}")
    echo("\n── sync, the application → Attio: a row into attio_outbox")
    values = {
        "email_addresses": ["grace@navy.example"],
        "name": "Grace Hopper",
        "job_title": "Rear Admiral",
    }
    async with database.connect() as connection:
        result = await connection.execute(
            insert(database.outbox).values(
                object="people", matching_attribute="email_addresses", values=values
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        row_id = int(key[0])
    echo(f"  outbox #{row_id}: people by email_addresses {values}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pushed = await outbox.row(row_id)
        if pushed is not None and pushed["status"] == DONE:
            break
        await anyio.sleep(0.1)
    await settle()
    row = await outbox.row(row_id)
    assert row is not None
    echo(f"  outbox #{row_id}: {row['status']}, Attio record {row['record_id']}")
    async with database.connect() as connection:
        back = (
            (await connection.execute(select(table).where(table.c.email.is_not(None))))
            .mappings()
            .all()
        )
    grace = [r for r in back if r["record_id"] == row["record_id"]]
    if grace:
        echo(
            f"  row  {grace[0]['name']!r}: back in the mirror through Attio's webhook "
            "(the runner's own write: no rule ran on it, and it is not pushed again)"
        )
