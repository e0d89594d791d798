"""The outbox feeder: PostgreSQL tells it of a new row at once; on SQLite it
polls; either way a row becomes one inbox event however often it looks."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from attio_automate.sync.outbox import OutboxFeeder
from tests.sync.conftest import PEOPLE, Sync
from tests.sync.test_push import write

pytestmark = pytest.mark.anyio


async def pushes(s: Sync) -> int:
    return len(await s.events(event_type="outbox.push"))


async def test_a_new_row_reaches_the_inbox_promptly(make_sync: Any, sync_url: str) -> None:
    s: Sync = await make_sync(PEOPLE)
    notified = sync_url.startswith("postgresql")
    # On PostgreSQL the feeder must not need its poll: make it an hour.
    fed = [anyio.Event()]
    feeder = OutboxFeeder(
        s.outbox,
        s.h.store,
        poll_seconds=3600 if notified else 0.1,
        wake=lambda: fed[-1].set(),  # what wakes the dispatcher in a runner
    )
    async with anyio.create_task_group() as tasks:
        await tasks.start(feeder.run)
        await anyio.sleep(0.3)  # past its first look, waiting now
        for email in ("ada@example.com", "bob@example.com"):
            await write(s, {"email_addresses": [email]})
            with anyio.fail_after(5):
                await fed[-1].wait()
            fed.append(anyio.Event())
        await anyio.sleep(0.5)  # looking again finds nothing new
        tasks.cancel_scope.cancel()
    assert await pushes(s) == 2
    assert await s.outbox.counts() == {"queued": 2}
