"""The event path: enrichment, decisions, actions, and how events end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from attio_automate.assembly import build_processor, load_plugins
from attio_automate.attio.breaker import BreakerPolicy
from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.retry import RetryPolicy
from attio_automate.bus.context import params_digest
from attio_automate.events import AttioEvent
from attio_automate.processing.ledger import MemoryLedger
from attio_automate.processing.processor import EventProcessor
from attio_automate.store.base import LedgerEntry
from attio_automate.testing import FakeAttio
from attio_automate.testing.pytest_plugin import FAKE_API_KEY

pytestmark = pytest.mark.anyio
MEMBER = {"type": "workspace-member", "id": "m"}

RULES = """
version: 1
rules:
  - id: stage-change
    on: record.updated
    object: deals
    when:
      - field: changed
        equals: stage
    do:
      - action: add_note
        with: {title: "{{ previous }} to {{ record.stage }}", content: "moved"}
  - id: tag-people
    on: record.created
    object: people
    do:
      - action: update_record
        with: {values: {description: "seen {{ record.name.first_name }}"}}
      - action: add_to_list
        with: {list: sales, entry_values: {stage: "{{ 'Lead' if record.job_title else 'Nope' }}"}}
"""


def processor(tmp_path: Path, client: AttioClient, **kwargs: Any) -> EventProcessor:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    return build_processor(
        load_plugins(rules_path=rules, entry_points=False), attio=client, **kwargs
    )


def created(fake: FakeAttio, record_id: str, actor: dict[str, Any] = MEMBER) -> AttioEvent:
    return AttioEvent(
        "record.created",
        {"object_id": fake.workspace.objects["people"].id, "record_id": record_id},
        actor,
    )


async def test_updated_event_sees_changed_and_previous(
    tmp_path: Path, fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    w = fake_attio.workspace
    deal = w.create_record("deals", {"name": "Big", "stage": "Lead"}, actor=MEMBER)
    w.update_record("deals", deal.id, {"stage": "In Progress"}, mode="replace", actor=MEMBER)
    stage = w.objects["deals"].attributes["stage"]
    event = AttioEvent(
        "record.updated",
        {"object_id": w.objects["deals"].id, "record_id": deal.id, "attribute_id": stage.id},
        MEMBER,
    )
    result = await processor(tmp_path, attio_client).process(event, key="e1")
    assert result.status == "done"
    assert result.context is not None
    assert (result.context.changed, result.context.previous) == ("stage", "Lead")
    assert result.outcomes[0].planned.params["title"] == "Lead to In Progress"
    planned = result.outcomes[0].planned
    assert planned.key == f"e1:stage-change:add_note:{params_digest(planned.params)}"


async def test_ledger_skips_actions_already_done(
    tmp_path: Path, fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    ada = fake_attio.workspace.create_record(
        "people", {"name": "Ada Lovelace", "job_title": "CEO"}, actor=MEMBER
    )
    ledger = MemoryLedger()
    proc = processor(tmp_path, attio_client)
    first = await proc.process(created(fake_attio, ada.id), key="e1", ledger=ledger)
    writes = len(fake_attio.writes())
    again = await proc.process(created(fake_attio, ada.id), key="e1", ledger=ledger)
    assert [o.status for o in first.outcomes] == ["done", "done"]
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"]
    assert len(fake_attio.writes()) == writes
    forced = await proc.process(created(fake_attio, ada.id), key="e1", ledger=ledger, force=True)
    assert [o.status for o in forced.outcomes] == ["done", "done"]


async def test_attio_validation_errors_fail_permanently_with_attios_code(
    tmp_path: Path, fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    bob = fake_attio.workspace.create_record("people", {"name": "Bob"}, actor=MEMBER)
    result = await processor(tmp_path, attio_client).process(created(fake_attio, bob.id), key="e")
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["attio"]["code"] == "value_not_found"
    assert "Nope" in result.reason
    assert [o.status for o in result.outcomes] == ["done", "failed"]


async def test_outages_ask_for_a_retry(tmp_path: Path, fake_attio: FakeAttio) -> None:
    ada = fake_attio.workspace.create_record(
        "people", {"name": "Ada", "job_title": "CEO"}, actor=MEMBER
    )
    settings = ClientSettings(
        base_url="http://fake/v2",
        retry=RetryPolicy(attempts=2, backoff_initial=0.001),
        breaker=BreakerPolicy(failure_threshold=100),
    )
    attio_client = AttioClient(
        api_key=FAKE_API_KEY, settings=settings, transport=fake_attio.transport()
    )
    proc = processor(tmp_path, attio_client)
    fake_attio.fail(status=503, seconds=60, path="/entries")
    result = await proc.process(created(fake_attio, ada.id), key="e")
    assert result.status == "retry"
    assert result.error is not None
    assert result.error["retryable"] is True
    fake_attio.heal()
    ledger = MemoryLedger()
    await ledger.record("e:tag-people:0", "update_record", {"done": True})
    retried = await proc.process(created(fake_attio, ada.id), key="e", ledger=ledger)
    assert [o.status for o in retried.outcomes] == ["skipped", "done"]
    await attio_client.aclose()


async def test_loop_guard_drops_our_own_changes(
    tmp_path: Path, fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    token = fake_attio.workspace.api_token_id
    ada = fake_attio.workspace.create_record("people", {"name": "Ada"})
    proc = processor(tmp_path, attio_client, own_actor_ids=[token])
    ours = created(fake_attio, ada.id, {"type": "api-token", "id": token})
    assert (await proc.process(ours, key="e")).status == "skipped"
    proc.loop_guard = False
    assert (await proc.process(ours, key="e")).status != "skipped"


async def test_gone_records_complete_without_retrying(
    tmp_path: Path, fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    result = await processor(tmp_path, attio_client).process(
        created(fake_attio, "00000000-0000-4000-8000-00000000dead"), key="e"
    )
    assert result.status == "done"
    assert result.context is not None
    assert result.context.gone
    assert result.context.record is None
    assert any("gone (404)" in n for n in result.trace()["notes"])


async def test_schema_events_invalidate_the_cache(
    tmp_path: Path, fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    proc = processor(tmp_path, attio_client)
    people = fake_attio.workspace.objects["people"]
    await proc.schema.attributes("objects", "people")
    before = sum(1 for r in fake_attio.requests if r["path"].endswith("/attributes"))
    event = AttioEvent(
        "object-attribute.created", {"object_id": people.id, "attribute_id": "new"}, MEMBER
    )
    assert (await proc.process(event, key="s")).status == "done"
    await proc.schema.attributes("objects", "people")
    after = sum(1 for r in fake_attio.requests if r["path"].endswith("/attributes"))
    assert after == before + 1


async def test_unknown_event_types_are_handled_quietly(
    tmp_path: Path, attio_client: AttioClient
) -> None:
    event = AttioEvent("spaceship.launched", {"workspace_id": "w"}, MEMBER)
    result = await processor(tmp_path, attio_client).process(event, key="x")
    assert result.status == "done"
    assert result.outcomes == []


async def test_interrupted_create_is_reconciled_not_repeated(
    tmp_path: Path, fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    w = fake_attio.workspace
    deal = w.create_record("deals", {"name": "Big", "stage": "Lead"}, actor=MEMBER)
    w.update_record("deals", deal.id, {"stage": "Lost"}, mode="replace", actor=MEMBER)
    stage = w.objects["deals"].attributes["stage"]
    event = AttioEvent(
        "record.updated",
        {"object_id": w.objects["deals"].id, "record_id": deal.id, "attribute_id": stage.id},
        MEMBER,
    )
    proc = processor(tmp_path, attio_client)
    ledger = MemoryLedger()
    first = await proc.process(event, key="e", ledger=ledger)
    assert first.status == "done"
    # A crash after Attio answered but before the ledger was written:
    key = first.outcomes[0].planned.key
    ledger.entries[key] = LedgerEntry(key, "intent", "add_note", None)
    notes = sum(
        1 for r in fake_attio.requests if r["method"] == "POST" and r["path"] == "/v2/notes"
    )
    again = await proc.process(event, key="e", ledger=ledger)
    assert again.status == "done"
    assert again.outcomes[0].status == "done"
    assert again.outcomes[0].result == first.outcomes[0].result  # found, not made again
    assert (
        sum(1 for r in fake_attio.requests if r["method"] == "POST" and r["path"] == "/v2/notes")
        == notes
    )

    # An intent for a note that never reached Attio: it is made once now.
    ledger.entries[key] = LedgerEntry(key, "intent", "add_note", None)
    w.notes.clear()
    third = await proc.process(event, key="e", ledger=ledger)
    assert third.outcomes[0].status == "done"
    assert len(w.notes) == 1
