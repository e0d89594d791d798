"""Action identity: a retry after a rule edit runs exactly what has not happened.

Each test runs an event, edits the rules (or the plugin's plans) as a user
would between the failure and the retry, runs it again on the same ledger,
and counts what reached the fake Attio.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from attio_automate.actions.registry import ActionRegistry
from attio_automate.assembly import Plugins, build_processor, load_plugins
from attio_automate.attio.client import AttioClient
from attio_automate.bus.bus import HookBus
from attio_automate.bus.context import ActionContext, EventContext, Interest
from attio_automate.bus.hookspecs import hookimpl
from attio_automate.bus.manager import build_plugin_manager
from attio_automate.events import AttioEvent
from attio_automate.processing.ledger import MemoryLedger
from attio_automate.processing.processor import EventProcessor
from attio_automate.processing.results import EventResult
from attio_automate.rules.engine import RulesEngine
from attio_automate.rules.loader import load_rules
from attio_automate.rules.model import RuleSet
from attio_automate.store.base import LedgerEntry
from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio
MEMBER = {"type": "workspace-member", "id": "m"}


def rules(*steps: str) -> str:
    body = "".join(f"      - {step}\n" for step in steps)
    return (
        "version: 1\nrules:\n  - id: onboard\n    on: record.created\n"
        f"    object: people\n    do:\n{body}"
    )


NOTE = "{action: add_note, with: {title: Welcome, content: 'Hello {{ record.name.first_name }}'}}"
NOTE_CHANGED = (
    "{action: add_note, with: {title: Welcome!, content: 'Hi {{ record.name.first_name }}'}}"
)
LIST = "{action: add_to_list, with: {list: sales, entry_values: {stage: Lead}}}"
BAD_UPDATE = "{action: update_record, with: {values: {no_such_attribute: x}}}"
GOOD_UPDATE = "{action: update_record, with: {values: {description: onboarded}}}"


class Counter:
    def __init__(self, fake: FakeAttio) -> None:
        self.fake = fake

    def notes(self) -> int:
        return len(self.fake.workspace.notes)

    def entries(self) -> int:
        return sum(len(entries) for entries in self.fake.workspace.entries.values())

    def posts(self, path: str) -> int:
        return sum(1 for r in self.fake.requests if r["method"] == "POST" and r["path"] == path)


def setup(fake: FakeAttio, client: AttioClient, text: str) -> tuple[Plugins, EventProcessor]:
    plugins = load_plugins(entry_points=False)
    plugins.rules.replace(load_rules(text, registry=plugins.actions))
    return plugins, build_processor(plugins, attio=client)


def person_created(fake: FakeAttio) -> AttioEvent:
    ada = fake.workspace.create_record("people", {"name": "Ada Lovelace"}, actor=MEMBER)
    return AttioEvent(
        "record.created",
        {"object_id": fake.workspace.objects["people"].id, "record_id": ada.id},
        MEMBER,
    )


def statuses(result: EventResult) -> list[tuple[str, str]]:
    return [(o.planned.action, o.status) for o in result.outcomes]


async def test_retry_after_an_edit_runs_new_actions_and_skips_done_ones(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    """The reproduction: v1 [add_note, update_record (fails)], then v2
    [add_to_list, add_note, update_record].  Positional keys skipped
    add_to_list (never ran) and wrote a second note."""
    count = Counter(fake_attio)
    plugins, processor = setup(fake_attio, attio_client, rules(NOTE, BAD_UPDATE))
    event = person_created(fake_attio)
    ledger = MemoryLedger()
    first = await processor.process(event, key="d1:0", ledger=ledger)
    assert first.status == "failed"
    assert "no_such_attribute" in first.reason or "update_record" in first.reason
    assert (count.notes(), count.entries()) == (1, 0)

    plugins.rules.replace(load_rules(rules(LIST, NOTE, GOOD_UPDATE), registry=plugins.actions))
    again = await processor.process(event, key="d1:0", ledger=ledger)
    assert again.status == "done", again.reason
    assert statuses(again) == [
        ("add_to_list", "done"),  # new: it runs
        ("add_note", "skipped"),  # the same note: not written twice
        ("update_record", "done"),  # changed: it runs
    ]
    assert (count.notes(), count.entries()) == (1, 1)
    assert count.posts("/v2/notes") == 1


async def test_a_changed_action_runs_and_the_old_one_is_not_repeated(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    count = Counter(fake_attio)
    plugins, processor = setup(fake_attio, attio_client, rules(NOTE, BAD_UPDATE))
    event = person_created(fake_attio)
    ledger = MemoryLedger()
    assert (await processor.process(event, key="d", ledger=ledger)).status == "failed"
    plugins.rules.replace(load_rules(rules(NOTE_CHANGED, GOOD_UPDATE), registry=plugins.actions))
    again = await processor.process(event, key="d", ledger=ledger)
    assert statuses(again) == [("add_note", "done"), ("update_record", "done")]
    titles = sorted(n.title for n in fake_attio.workspace.notes.values())
    assert titles == ["Welcome", "Welcome!"]  # the new one made, the old one not again
    assert count.notes() == 2


async def test_reordered_and_removed_actions_are_not_repeated(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    count = Counter(fake_attio)
    plugins, processor = setup(fake_attio, attio_client, rules(NOTE, LIST, BAD_UPDATE))
    event = person_created(fake_attio)
    ledger = MemoryLedger()
    assert (await processor.process(event, key="d", ledger=ledger)).status == "failed"
    plugins.rules.replace(load_rules(rules(LIST, NOTE, GOOD_UPDATE), registry=plugins.actions))
    again = await processor.process(event, key="d", ledger=ledger)
    assert statuses(again) == [
        ("add_to_list", "skipped"),
        ("add_note", "skipped"),
        ("update_record", "done"),
    ]
    plugins.rules.replace(load_rules(rules(GOOD_UPDATE), registry=plugins.actions))
    third = await processor.process(event, key="d", ledger=ledger)
    assert statuses(third) == [("update_record", "skipped")]
    assert (count.notes(), count.entries()) == (1, 1)


async def test_identical_actions_in_one_rule_each_run_once(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    count = Counter(fake_attio)
    _, processor = setup(fake_attio, attio_client, rules(NOTE, NOTE))
    event = person_created(fake_attio)
    ledger = MemoryLedger()
    first = await processor.process(event, key="d", ledger=ledger)
    keys = [o.planned.key for o in first.outcomes]
    assert keys[1] == keys[0] + "#2"
    assert count.notes() == 2
    again = await processor.process(event, key="d", ledger=ledger)
    assert statuses(again) == [("add_note", "skipped"), ("add_note", "skipped")]
    assert count.notes() == 2


async def test_now_is_the_events_time_so_a_later_retry_plans_the_same_action(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    task = (
        "{action: create_task, with: {content: Call, "
        "deadline: '{{ now() | add_days(2) | iso }}', link: false}}"
    )
    count = Counter(fake_attio)
    plugins, processor = setup(fake_attio, attio_client, rules(task, BAD_UPDATE))
    event = person_created(fake_attio)
    ledger = MemoryLedger()
    received = datetime(2026, 3, 1, 9, 0, tzinfo=UTC).timestamp()
    first = await processor.process(event, key="d", ledger=ledger, received_at=received)
    assert first.outcomes[0].planned.params["deadline"] == "2026-03-03T09:00:00.000Z"
    plugins.rules.replace(load_rules(rules(task, GOOD_UPDATE), registry=plugins.actions))
    # Tried again days later: the deadline renders the same, the task is not made twice.
    again = await processor.process(event, key="d", ledger=ledger, received_at=received)
    assert statuses(again) == [("create_task", "skipped"), ("update_record", "done")]
    assert count.posts("/v2/tasks") == 1


class Stamper:
    """A plugin planning an action whose parameters hold the time of planning."""

    PLUGIN_NAME = "stamper"

    def __init__(self, *, explicit_key: bool) -> None:
        self.explicit_key = explicit_key
        self.calls = 0

    @hookimpl
    def register_actions(self, register: Any) -> None:
        async def stamp(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
            self.calls += 1
            return {"stamped": params["at"]}

        async def counted(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
            self.calls += 1
            return {"n": params["n"]}

        register("stamper.stamp", stamp, idempotent=True)
        register("stamper.counted", counted, idempotent=True, identity=lambda p: str(p["what"]))

    @hookimpl
    def wanted_events(self) -> Interest:
        return Interest(record=False)

    @hookimpl
    def handle_event(self, event: EventContext) -> None:
        at = datetime.now(UTC).isoformat()
        event.plan("stamper.stamp", {"at": at}, key="welcome" if self.explicit_key else None)
        event.plan("stamper.counted", {"what": "greeting", "n": at})


async def run_twice(stamper: Stamper, client: AttioClient) -> tuple[EventResult, EventResult]:
    bus = HookBus(build_plugin_manager(builtins=[stamper], entry_points=False))
    actions, failures = ActionRegistry.from_bus(bus)
    assert failures == []
    processor = build_processor(Plugins(bus, actions, RulesEngine(RuleSet())), attio=client)
    event = AttioEvent("task.created", {"task_id": "t1"}, MEMBER)
    ledger = MemoryLedger()
    first = await processor.process(event, key="d", ledger=ledger)
    second = await processor.process(event, key="d", ledger=ledger)
    return first, second


async def test_an_explicit_key_or_an_action_identity_decides_sameness(
    attio_client: AttioClient,
) -> None:
    keyed = Stamper(explicit_key=True)
    first, second = await run_twice(keyed, attio_client)
    assert first.outcomes[0].planned.key == "d:stamper:stamper.stamp:welcome"
    assert first.outcomes[0].planned.source == "stamper"  # credited by the bus
    assert statuses(second) == [("stamper.stamp", "skipped"), ("stamper.counted", "skipped")]
    assert keyed.calls == 2

    unkeyed = Stamper(explicit_key=False)
    _, second = await run_twice(unkeyed, attio_client)
    # its parameters changed between the tries: a different action, so it runs;
    # the action with an identity of its own is the same action all the same
    assert statuses(second) == [("stamper.stamp", "done"), ("stamper.counted", "skipped")]


async def test_ledgers_from_before_identities_are_still_honoured(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    count = Counter(fake_attio)
    _, processor = setup(fake_attio, attio_client, rules(NOTE, GOOD_UPDATE))
    event = person_created(fake_attio)
    ledger = MemoryLedger()
    # What an older runner wrote: the note done at position 0 of the rule.
    ledger.entries["d:onboard:0"] = LedgerEntry("d:onboard:0", "done", "add_note", {"n": 1})
    # At position 1 it had another action: that one does not match update_record.
    ledger.entries["d:onboard:1"] = LedgerEntry("d:onboard:1", "done", "add_to_list", {})
    result = await processor.process(event, key="d", ledger=ledger)
    assert statuses(result) == [("add_note", "skipped"), ("update_record", "done")]
    assert count.notes() == 0


async def test_an_interrupted_create_never_adopts_another_events_result(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    """Two events plan the same note on one record.  The first made its note;
    the second wrote its intent and was cut off before Attio heard of it.  Its
    retry must make its own note, not take the first one's for its own."""
    _, processor = setup(fake_attio, attio_client, rules(NOTE))
    event = person_created(fake_attio)
    ledger = MemoryLedger()
    first = await processor.process(event, key="d1:0", ledger=ledger)
    assert statuses(first) == [("add_note", "done")]
    second_key = first.outcomes[0].planned.key.replace("d1:0", "d2:0")
    await ledger.intend(second_key, "add_note")  # ...and then the store blipped
    second = await processor.process(event, key="d2:0", ledger=ledger)
    assert statuses(second) == [("add_note", "done")]
    assert second.outcomes[0].result != first.outcomes[0].result
    assert len(fake_attio.workspace.notes) == 2

    # Its own note, made before the cut, is still found and not made twice.
    third_key = first.outcomes[0].planned.key.replace("d1:0", "d3:0")
    third = await processor.process(event, key="d3:0", ledger=ledger)
    made = third.outcomes[0].result
    ledger.entries[third_key] = LedgerEntry(third_key, "intent", "add_note", None, 0.0)
    again = await processor.process(event, key="d3:0", ledger=ledger)
    assert again.outcomes[0].result == made
    assert len(fake_attio.workspace.notes) == 3


async def test_a_note_made_before_the_intent_or_by_someone_else_is_not_adopted(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    _, processor = setup(fake_attio, attio_client, rules(NOTE))
    event = person_created(fake_attio)
    record_id = event.id["record_id"]
    w = fake_attio.workspace
    from attio_automate.testing.fake import activities

    # The same note, written by a person: not ours.
    activities.create_note(
        w,
        {
            "parent_object": "people",
            "parent_record_id": record_id,
            "title": "Welcome",
            "format": "markdown",
            "content": "Hello Ada",
        },
        actor=MEMBER,
    )
    ledger = MemoryLedger()
    probe = await processor.process(event, key="p:0", ledger=MemoryLedger())
    key = probe.outcomes[0].planned.key.replace("p:0", "d:0")
    ledger.entries[key] = LedgerEntry(key, "intent", "add_note", None, w.clock() + 3600)
    result = await processor.process(event, key="d:0", ledger=ledger)
    # Neither the person's note nor the probe's (made an hour before the intent).
    assert result.outcomes[0].result not in (None, probe.outcomes[0].result)
    assert len(w.notes) == 3
