"""Scheduled rules: a cron schedule in a time zone (DST included), a query's
records each run through the rule once per run, a restart mid-run resumes,
and runs missed while every runner was down run once."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

from attio_automate.assembly import Runner, scheduled_rule_jobs
from attio_automate.processing.scheduler import Scheduler
from attio_automate.rules.runs import queue_run
from attio_automate.rules.schedules import next_run
from attio_automate.store.base import EventFilter
from tests.processing.conftest import MEMBER, Harness

pytestmark = pytest.mark.anyio

STALE_LEADS = """
  - id: stale-leads
    schedule: "0 9 * * MON"
    timezone: Europe/Berlin
    query:
      object: deals
      filter: {stage: Lead}
    do:
      - action: add_note
        with: {title: Still a lead, content: "as of {{ now() | iso }}"}
"""


def test_nine_in_berlin_stays_nine_across_the_dst_change() -> None:
    saturday = datetime(2026, 3, 28, 12, 0, tzinfo=UTC).timestamp()
    sunday = next_run("0 9 * * *", "Europe/Berlin", saturday)
    monday = next_run("0 9 * * *", "Europe/Berlin", sunday)
    assert datetime.fromtimestamp(sunday, UTC).hour == 7  # 09:00 CEST, the change day
    friday = datetime(2026, 3, 27, 12, 0, tzinfo=UTC).timestamp()
    assert datetime.fromtimestamp(next_run("0 9 * * *", "Europe/Berlin", friday), UTC).hour == 8
    assert monday - sunday == 86400


def scheduler_for(h: Harness) -> Scheduler:
    runner = SimpleNamespace(
        plugins=h.plugins,
        store=h.store,
        attio=h.dispatcher.processor.attio,
        schema=h.dispatcher.processor.schema,
        dispatcher=h.dispatcher,
    )
    return Scheduler(
        h.store, lambda: scheduled_rule_jobs(cast(Runner, runner)), owner="r", clock=h.clock
    )


def deals(h: Harness) -> dict[str, str]:
    made = {}
    for name, stage in (("Looms", "Lead"), ("Mills", "Lead"), ("Gears", "Won 🎉")):
        made[name] = h.fake.workspace.create_record(
            "deals", {"name": name, "stage": stage}, actor=MEMBER
        ).id
    return made


def notes_on(h: Harness) -> list[str]:
    return sorted(n.parent_record_id for n in h.fake.workspace.notes.values())


async def test_a_scheduled_rule_runs_on_its_query_each_time_it_is_due(make: Any) -> None:
    h: Harness = await make(rules=STALE_LEADS)
    made = deals(h)
    scheduler = scheduler_for(h)
    assert await scheduler.run_due() == []  # first due next Monday 09:00 Berlin
    monday = datetime(2023, 11, 20, 8, 0, tzinfo=UTC).timestamp()
    h.clock.advance(monday - h.clock.time() - 1)
    assert await scheduler.run_due() == []
    h.clock.advance(2)
    assert await scheduler.run_due() == ["rule:stale-leads"]
    assert await h.dispatcher.run_ready() == 2
    assert notes_on(h) == sorted([made["Looms"], made["Mills"]])
    note = next(iter(h.fake.workspace.notes.values()))
    assert "as of 2023-11-20T08:00:00" in note.content_markdown  # now() is the run's time
    # The same run again (a runner died mid-run and another took it over):
    # nothing is queued twice.
    rule = h.plugins.rules.rules.rules[0]
    found, new = await queue_run(
        rule,
        monday,
        store=h.store,
        attio=h.dispatcher.processor.attio,
        schema=h.dispatcher.processor.schema,
    )
    assert (found, new) == (2, 0)
    assert await h.dispatcher.run_ready() == 0
    (state,) = [j for j in await h.store.jobs() if j.name == "rule:stale-leads"]
    assert state.last_outcome == "2 records, 2 queued"


async def test_runs_missed_while_every_runner_was_down_run_once(make: Any) -> None:
    h: Harness = await make(rules=STALE_LEADS)
    deals(h)
    scheduler = scheduler_for(h)
    await scheduler.run_due()
    h.clock.advance(3 * 7 * 86400)  # three Mondays pass with nobody up
    assert await scheduler.run_due() == ["rule:stale-leads"]
    assert await scheduler.run_due() == []
    assert await h.dispatcher.run_ready() == 2
    assert len(h.fake.workspace.notes) == 2


async def test_without_catch_up_a_missed_run_is_skipped(make: Any) -> None:
    h: Harness = await make(
        rules=STALE_LEADS.replace("    query:", "    catch_up: false\n    query:")
    )
    deals(h)
    scheduler = scheduler_for(h)
    await scheduler.run_due()
    h.clock.advance(3 * 7 * 86400)  # three Mondays pass with nobody up
    assert await scheduler.run_due() == []  # skipped, and the next Monday awaited
    (state,) = [j for j in await h.store.jobs() if j.name == "rule:stale-leads"]
    assert state.last_outcome == "missed, not caught up"
    assert state.next_at > h.clock.time()
    h.clock.advance(state.next_at - h.clock.time() + 1)
    assert await scheduler.run_due() == ["rule:stale-leads"]  # on time again: it runs


SALES_IN_LEAD = """
  - id: leads-on-the-list
    schedule: "0 9 * * *"
    query:
      list: sales
      filter: {stage: Lead}
    when:
      - field: entry.stage
        equals: Lead
    do:
      - action: add_note
        with: {title: "On the list", content: "{{ record.name.full_name }} is a {{ entry.stage }}"}
"""


async def test_a_scheduled_rule_runs_on_a_lists_entries(make: Any) -> None:
    from attio_automate.testing.fake import entries

    h: Harness = await make(rules=SALES_IN_LEAD)
    people = {}
    for name, stage in (("Ada Lovelace", "Lead"), ("Lin Chen", "Customer")):
        person = h.fake.workspace.create_record("people", {"name": name}, actor=MEMBER)
        people[name] = person.id
        entries.create_entry(
            h.fake.workspace,
            "sales",
            {
                "parent_object": "people",
                "parent_record_id": person.id,
                "entry_values": {"stage": stage},
            },
            actor=MEMBER,
        )
    scheduler = scheduler_for(h)
    assert await scheduler.run_due() == []  # first due at 09:00 tomorrow
    h.clock.advance(86400)
    assert await scheduler.run_due() == ["rule:leads-on-the-list"]
    events = await h.store.list_events(EventFilter(limit=10))
    assert [e.event_type for e in events] == ["list-entry.scheduled"]
    assert events[0].ordering_key.startswith("entry:")
    assert await h.dispatcher.run_ready() == 1
    (note,) = h.fake.workspace.notes.values()
    assert note.parent_record_id == people["Ada Lovelace"]
    assert note.content_markdown == "Ada Lovelace is a Lead"
