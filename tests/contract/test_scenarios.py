"""The scenarios every backend must pass: the services, the actions through
the runner's processor, the client's pagination, and webhooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from attio_automate.assembly import build_processor, load_plugins
from attio_automate.attio.schema import SchemaCache
from attio_automate.events import AttioEvent
from attio_automate.processing.ledger import MemoryLedger
from tests.contract.conftest import Backend

pytestmark = pytest.mark.anyio


async def test_contacts_upsert_link_find_and_get(backend: Backend) -> None:
    contacts = backend.services.contacts
    email = f"{backend.tag}@example.com"
    person = await contacts.upsert_person(email, name="Ada Lovelace")
    backend.cleanup.records.append(("people", person.record_id))
    company = await contacts.upsert_company(f"{backend.tag}.example.com", name=backend.tag)
    backend.cleanup.records.append(("companies", company.record_id))
    assert person.email == email
    again = await contacts.upsert_person(email, values={"job_title": "Analyst"})
    assert again.record_id == person.record_id
    linked = await contacts.link_person_to_company(person, company)
    assert linked.company_id == company.record_id
    found = await contacts.find_by_email(email)
    assert found is not None
    assert found.record_id == person.record_id
    by_domain = await contacts.find_company_by_domain(f"{backend.tag}.example.com")
    assert by_domain is not None
    assert by_domain.record_id == company.record_id
    got = await contacts.get("people", person.record_id)
    assert got.get("job_title") == "Analyst"


async def test_activity_notes_and_tasks(backend: Backend) -> None:
    person = await backend.services.contacts.upsert_person(f"{backend.tag}@example.com")
    backend.cleanup.records.append(("people", person.record_id))
    note = await backend.services.activity.note(person, backend.tag, "Met at **the** fair")
    assert note.title == backend.tag
    assert [n.note_id for n in await backend.services.activity.notes_for(person)] == [note.note_id]
    task = await backend.services.activity.task(
        f"Call {backend.tag}", deadline="2031-01-02T09:00:00Z", linked=[person]
    )
    backend.cleanup.tasks.append(task.task_id)
    assert task.linked == (person.record_id,)
    done = await backend.services.activity.complete_task(task)
    assert done.is_completed


async def test_pipeline_add_move_and_history(backend: Backend) -> None:
    if backend.pipeline is None:
        pytest.skip("set ATTIO_LIVE_LIST and ATTIO_LIVE_STAGES for the pipeline scenario")
    lst, first, second = backend.pipeline
    person = await backend.services.contacts.upsert_person(f"{backend.tag}@example.com")
    backend.cleanup.records.append(("people", person.record_id))
    entry = await backend.services.pipeline.add(person, lst, first)
    assert entry.stage == first
    moved = await backend.services.pipeline.move(entry, second)
    assert moved.stage == second
    history = await backend.services.pipeline.stage_history(entry)
    assert [h.stage for h in history][-2:] == [first, second]
    entries = await backend.services.pipeline.entries_for(person, lst)
    assert [e.entry_id for e in entries] == [entry.entry_id]


async def test_the_client_pages_through_a_query(backend: Backend) -> None:
    for n in range(5):
        person = await backend.services.contacts.upsert_person(f"{backend.tag}-{n}@example.com")
        backend.cleanup.records.append(("people", person.record_id))
    query = backend.attio.query_records(
        "people", filter={"email_addresses": {"$contains": backend.tag}}, page_size=2
    )
    emails = sorted([r["values"]["email_addresses"][0]["email_address"] async for r in query])
    assert emails == [f"{backend.tag}-{n}@example.com" for n in range(5)]


async def test_webhooks_register_list_and_delete(backend: Backend) -> None:
    target = f"https://example.com/attio-automate/{backend.tag}"
    made = await backend.attio.create_webhook(
        target_url=target, subscriptions=[{"event_type": "note.created", "filter": None}]
    )
    webhook_id = made["id"]["webhook_id"]
    backend.cleanup.webhooks.append(webhook_id)
    assert made["secret"]
    listed = {w["id"]["webhook_id"]: w["target_url"] for w in await backend.attio.list_webhooks()}
    assert listed[webhook_id] == target
    await backend.attio.delete_webhook(webhook_id)
    assert webhook_id not in {w["id"]["webhook_id"] for w in await backend.attio.list_webhooks()}


async def test_actions_run_through_the_processor(backend: Backend, tmp_path: Path) -> None:
    person = await backend.services.contacts.upsert_person(f"{backend.tag}@example.com")
    backend.cleanup.records.append(("people", person.record_id))
    plugin = tmp_path / "greet.py"
    plugin.write_text(
        "from attio_automate import hookimpl\n"
        "PLUGIN_NAME = 'greet'\n"
        "@hookimpl\n"
        "def handle_event(event):\n"
        "    if event.object == 'people':\n"
        f"        event.activity.note(event.record, 'Hello {backend.tag}', 'From a plugin')\n"
        f"        event.activity.task('Follow up {backend.tag}', linked=event.record)\n"
    )
    processor = build_processor(
        load_plugins(plugin_paths=[plugin], entry_points=False),
        attio=backend.attio,
        schema=SchemaCache(backend.attio),
    )
    people = await processor.schema.object("people")
    event = AttioEvent(
        "record.created",
        {"object_id": people.id, "record_id": person.record_id},
        {"type": "workspace-member", "id": "someone"},
    )
    ledger = MemoryLedger()
    result = await processor.process(event, key=f"{backend.tag}:0", ledger=ledger)
    assert result.status == "done", result.reason
    assert [o.status for o in result.outcomes] == ["done", "done"]
    again = await processor.process(event, key=f"{backend.tag}:0", ledger=ledger)
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"]
    notes = await backend.services.activity.notes_for(person)
    assert [n.title for n in notes] == [f"Hello {backend.tag}"]
