"""The reconcile as one of the runner's scheduled jobs (``reconcile_every``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from attio_automate.assembly import Runner, sync_jobs
from tests.sync.conftest import MEMBER, PEOPLE, Sync

pytestmark = pytest.mark.anyio


async def test_reconcile_every_is_a_job_that_reconciles(make_sync: Any) -> None:
    s: Sync = await make_sync(PEOPLE)
    s.h.clock.advance(1)
    person = s.h.fake.workspace.create_record("people", {"name": "Ada"}, actor=MEMBER)
    processor = s.h.dispatcher.processor
    runner = SimpleNamespace(
        plugins=SimpleNamespace(sync=s.plugin),
        settings=SimpleNamespace(sync=SimpleNamespace(reconcile_every=3600.0)),
        attio=processor.attio,
        schema=processor.schema,
        store=s.h.store,
        clock=s.h.clock,
        dispatcher=s.h.dispatcher,
    )
    (job,) = sync_jobs(cast(Runner, runner))
    assert (job.name, job.every) == ("sync:reconcile", 3600.0)
    outcome = await job.run(s.h.clock.time())
    assert outcome == "1 checked, 1 created, 0 updated, 0 deleted"
    assert (await s.rows())[person.id]["name"] == "Ada"
    runner.settings.sync.reconcile_every = None
    assert sync_jobs(cast(Runner, runner)) == []
