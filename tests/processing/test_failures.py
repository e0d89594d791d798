"""Every exception while deciding or acting ends the event in a defined state.

The dispatcher runs in-process over a real SQLite store and the fake Attio,
on a virtual clock: backoffs of minutes pass in no time.  Each test throws
one kind of failure at it and checks how the event ends: retried later
(attempts counted, or not during an outage), or dead with the reason.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from attio_automate.bus.context import ActionContext, EventContext
from attio_automate.bus.hookspecs import hookimpl
from attio_automate.errors import AttioUnavailable
from attio_automate.store.base import EventFilter, NewEvent
from attio_automate.testing.fake.limits import Fault
from tests.processing.conftest import MEMBER, NOTE_RULE, POLICY, Harness

pytestmark = pytest.mark.anyio


async def attempt_rows(h: Harness, event_id: int) -> list[str]:
    return [str(a["status"]) for a in await h.store.attempts(event_id)]


async def test_a_filter_error_dead_letters_the_event_after_the_other_rules_acted(
    make: Any,
) -> None:
    broken = """
  - id: broken
    on: record.created
    object: people
    do:
      - action: add_note
        with: {title: Due, content: "{{ record.name.first_name | add_days(1) }}"}
"""
    h = await make(rules=broken + NOTE_RULE)
    event_id = await h.person_created()
    event = await h.settle(event_id)
    # A ValueError inside a filter: this rule's error, permanent, and the
    # other rule still decided and acted.
    assert event.status == "dead"
    assert event.reason is not None
    assert event.reason.startswith("rule broken: template")
    assert "ValueError" in event.reason
    trace = await h.store.get_trace(event_id)
    assert trace is not None
    decisions = {d["rule"]: d for d in trace["decisions"]}
    assert decisions["broken"]["error"]
    assert decisions["greet"]["matched"] is True
    assert h.notes() == 1
    assert await attempt_rows(h, event_id) == ["dead"]

    # Fixed, then retried: the rule that failed acts, the other is not repeated.
    h.use_rules(broken.replace("| add_days(1) ", "") + NOTE_RULE)
    await h.store.requeue([event_id], now=h.clock.time(), force=False)
    event = await h.settle(event_id)
    assert event.status == "done"
    assert h.notes() == 2


class Flaky:
    """A plugin whose ``handle_event`` raises ``errors`` one by one, then plans a note."""

    PLUGIN_NAME = "flaky"

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    @hookimpl
    def handle_event(self, event: EventContext) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        event.plan("add_note", {"title": "flaky", "content": "made it"})


async def test_attio_unavailable_in_a_plugin_waits_without_spending_attempts(make: Any) -> None:
    flaky = Flaky(*(AttioUnavailable(60) for _ in range(5)))
    h = await make(flaky)
    event_id = await h.person_created()
    event = await h.settle(event_id)
    assert event.status == "done"
    assert flaky.calls == 6
    # Five outages, more than max_attempts, and no attempt of the event's own spent.
    assert await attempt_rows(h, event_id) == ["pending"] * 5 + ["done"]
    assert event.attempts == 1
    assert h.notes() == 2  # the rule's note and the plugin's, each once


async def test_a_timeout_in_a_plugin_is_retried_with_backoff_then_succeeds(make: Any) -> None:
    flaky = Flaky(TimeoutError("lookup timed out"), ConnectionResetError("reset"))
    h = await make(flaky)
    event_id = await h.person_created()
    started = h.clock.time()
    event = await h.settle(event_id)
    assert event.status == "done"
    assert await attempt_rows(h, event_id) == ["pending", "pending", "done"]
    # Backoff of 10 s, then 20 s, on the virtual clock.
    assert h.clock.time() - started == pytest.approx(30, abs=0.01)
    assert h.notes() == 2  # the rule's note was not repeated by the retries


async def test_retryable_failures_give_up_after_max_attempts(make: Any) -> None:
    flaky = Flaky(*(TimeoutError(f"timeout {n}") for n in range(10)))
    h = await make(flaky)
    event_id = await h.person_created()
    event = await h.settle(event_id)
    assert event.status == "dead"
    assert event.reason == "gave up after 3 attempts: plugin flaky: TimeoutError: timeout 2"
    assert await attempt_rows(h, event_id) == ["pending", "pending", "dead"]
    assert flaky.calls == 3


@pytest.mark.parametrize(
    "error",
    [KeyError("stage"), ZeroDivisionError("division by zero"), RecursionError("deep")],
)
async def test_a_plugin_bug_of_any_type_is_a_dead_letter(make: Any, error: Exception) -> None:
    h = await make(Flaky(error))
    event_id = await h.person_created()
    event = await h.settle(event_id)
    assert event.status == "dead"
    assert event.reason == f"plugin flaky: {type(error).__name__}: {error}"
    assert h.notes() == 1  # the rules still acted


async def test_a_plugin_calling_sys_exit_is_a_dead_letter_not_a_stop(make: Any) -> None:
    h = await make(Flaky(SystemExit(2)))
    event_id = await h.person_created()
    event = await h.settle(event_id)
    assert event.status == "dead"
    assert event.reason == "plugin flaky: PluginExit: the plugin called sys.exit(2)"
    assert h.notes() == 1


class Divider:
    PLUGIN_NAME = "divider"

    @hookimpl
    def register_actions(self, register: Any) -> None:
        async def divide(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
            return {"ratio": params["a"] / params["b"]}

        register("divider.divide", divide, idempotent=True)


async def test_an_unexpected_exception_in_an_action_is_a_dead_letter(make: Any) -> None:
    rule = """
  - id: divide
    on: record.created
    object: people
    do:
      - action: divider.divide
        with: {a: 1, b: 0}
"""
    h = await make(Divider(), rules=rule)
    event_id = await h.person_created()
    event = await h.settle(event_id)
    assert event.status == "dead"
    assert event.reason is not None
    assert event.reason.startswith("action divider.divide (divide) failed: ZeroDivisionError")
    assert "test_failures.py:" in event.reason  # where, for whoever fixes it


async def test_attio_5xx_is_retried_and_a_4xx_is_dead(make: Any) -> None:
    h = await make()
    h.fake.faults.append(Fault(until=h.clock.time() + 15, status=503, path="/notes"))
    event_id = await h.person_created()
    event = await h.settle(event_id)
    assert event.status == "done"
    statuses = await attempt_rows(h, event_id)
    assert (statuses[0], statuses[-1]) == ("pending", "done")
    assert h.notes() == 1

    bad = """
  - id: bad-stage
    on: record.created
    object: people
    do:
      - action: add_to_list
        with: {list: sales, entry_values: {stage: No such stage}}
"""
    h.use_rules(bad)
    event_id = await h.person_created("Grace Hopper")
    event = await h.settle(event_id)
    assert event.status == "dead"
    assert event.reason is not None
    assert "Attio 400 value_not_found" in event.reason
    assert await attempt_rows(h, event_id) == ["dead"]


async def test_a_store_failure_in_the_ledger_is_retried_not_dead(make: Any) -> None:
    h = await make()
    real = h.store.ledger_intend
    cuts = [sqlite3.OperationalError("disk I/O error")]

    async def cut_once(key: str, **kwargs: Any) -> None:
        if cuts:
            raise cuts.pop()
        await real(key, **kwargs)

    h.store.ledger_intend = cut_once
    event_id = await h.person_created()
    event = await h.settle(event_id)
    assert event.status == "done"
    assert await attempt_rows(h, event_id) == ["pending", "done"]
    trace = await h.store.get_trace(event_id)
    assert trace is not None
    assert h.notes() == 1


async def test_a_half_hour_outage_spends_no_attempts_and_loses_nothing(make: Any) -> None:
    """Attio down for 30 minutes (virtual): the breaker opens, events wait in
    the inbox without burning their attempts (max_attempts is 3 here), and
    every one of them is done, once, when Attio is back."""
    h = await make()
    outage_ends = h.clock.time() + 1800
    h.fake.faults.append(Fault(until=outage_ends, status=503))
    ids = [await h.person_created(f"Person {n}") for n in range(12)]
    for event_id in ids:
        event = await h.settle(event_id, turns=200)
        assert event.status == "done", event.reason
    assert h.clock.time() >= outage_ends
    assert h.notes() == 12
    refused = sum(1 for r in h.fake.requests if r["status"] == 503)
    # The breaker kept Attio from being hammered: a few trials per cool-down.
    assert refused <= 3 * 2 + 1800 / 60 * 2
    counted = [a for i in ids for a in await attempt_rows(h, i)]
    assert counted.count("dead") == 0
    assert len(counted) > 100  # many tries through the half hour...
    spent = [event.attempts for i in ids if (event := await h.store.get_event(i))]
    assert max(spent) < POLICY.max_attempts  # ...and almost none of them counted


async def test_an_event_about_an_object_attio_does_not_know_is_dead_not_stuck(
    make: Any,
) -> None:
    h = await make()
    payload = {
        "event_type": "record.created",
        "id": {"object_id": "00000000-0000-4000-8000-0000000000ff", "record_id": "r"},
        "actor": MEMBER,
    }
    await h.store.insert_events(
        [NewEvent("odd:0", "record:r", "record.created", payload, None, h.clock.time())]
    )
    event_id = max(e.id for e in await h.store.list_events(EventFilter(limit=10)))
    event = await h.settle(event_id)
    assert event.status == "dead"
    assert event.reason is not None
    assert event.reason.startswith("enrichment failed: Attio 404")


def _lost_pg_connection() -> Exception:
    import asyncpg

    error: Exception = asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
    return error


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database is locked"),
        _lost_pg_connection(),
        ConnectionRefusedError(111, "refused"),
    ],
    ids=["sqlite-locked", "postgres-connection-lost", "refused"],
)
async def test_a_store_or_connection_error_anywhere_is_retried(make: Any, error: Exception) -> None:
    h = await make(Flaky(error))
    event_id = await h.person_created()
    event = await h.settle(event_id)
    assert event.status == "done"
    assert await attempt_rows(h, event_id) == ["pending", "done"]
    assert h.notes() == 2


class Slow:
    """An action that takes ``seconds`` of real time."""

    PLUGIN_NAME = "slow"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = anyio.Event()

    @hookimpl
    def register_actions(self, register: Any) -> None:
        async def wait(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
            self.started.set()
            await anyio.sleep(self.seconds)
            return {"waited": self.seconds}

        register("slow.wait", wait, idempotent=True)


SLOW_RULE = """
  - id: slow
    on: record.created
    object: people
    do:
      - action: slow.wait
"""


@pytest.mark.parametrize(
    ("seconds", "deadline", "ends"), [(0.2, 5.0, "done"), (30, 0.2, "pending")]
)
async def test_stopping_drains_in_flight_events_until_the_deadline(
    make: Any, seconds: float, deadline: float, ends: str
) -> None:
    slow = Slow(seconds)
    h = await make(slow, rules=SLOW_RULE)
    event_id = await h.person_created()
    async with anyio.create_task_group() as tasks:
        await tasks.start(h.dispatcher.run)
        await slow.started.wait()
        started = time.monotonic()
        await h.dispatcher.stop(deadline=deadline)
        stopped = time.monotonic() - started
    event = await h.store.get_event(event_id)
    assert event is not None
    # In time: it finished; too slow: given back for the next start, not lost.
    assert event.status == ends
    assert stopped < deadline + 1
    if ends == "done":
        assert stopped >= seconds * 0.5
