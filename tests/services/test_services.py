"""The services against the fake Attio: plain values in, typed results out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.cache.backend import MemoryBackend
from attio_automate.cache.records import RecordCache, RecordReader
from attio_automate.services import Company, Person, Services
from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio


@pytest.fixture
def services(attio_client: AttioClient) -> Services:
    reader = RecordReader(attio_client, RecordCache(MemoryBackend(ttl=60)))
    return Services.over(attio_client, SchemaCache(attio_client), reader)


async def test_contacts_upsert_find_link_and_get(services: Services, fake_attio: FakeAttio) -> None:
    contacts = services.contacts
    ada = await contacts.upsert_person("ada@example.com", name="Ada Lovelace")
    assert isinstance(ada, Person)
    assert (ada.email, ada.name) == ("ada@example.com", "Ada Lovelace")
    again = await contacts.upsert_person("ada@example.com", values={"job_title": "Analyst"})
    assert again.record_id == ada.record_id  # the same person, updated
    assert again["job_title"] == "Analyst"
    acme = await contacts.upsert_company("acme.com", name="Acme")
    assert isinstance(acme, Company)
    assert (acme.domain, acme.name) == ("acme.com", "Acme")
    linked = await contacts.link_person_to_company(ada, acme)
    assert linked.company_id == acme.record_id
    found = await contacts.find_by_email("ADA@example.com ")
    assert found is not None
    assert found.record_id == ada.record_id
    assert found.company_id == acme.record_id
    assert await contacts.find_by_email("nobody@example.com") is None
    company = await contacts.find_company_by_domain("acme.com")
    assert company is not None
    assert company.record_id == acme.record_id
    # get() is cached: a second one costs no read, and sees our own writes.
    first = await contacts.get("people", ada.record_id)
    reads = len(fake_attio.requests)
    second = await contacts.get("people", ada.record_id)
    assert len(fake_attio.requests) == reads
    assert first == second
    assert isinstance(second, Person)
    assert second.company_id == acme.record_id


async def test_pipeline_add_move_entries_and_history(services: Services) -> None:
    ada = await services.contacts.upsert_person("ada@example.com")
    entry = await services.pipeline.add(ada, "sales", "Lead", values={"priority": "High"})
    assert (entry.list, entry.stage, entry.values["priority"]) == ("sales", "Lead", "High")
    assert entry.parent_record_id == ada.record_id
    same = await services.pipeline.add(ada, "sales", "Lead")  # once: the same entry
    assert same.entry_id == entry.entry_id
    moved = await services.pipeline.move(entry, "Qualified")
    assert moved.stage == "Qualified"
    entries = await services.pipeline.entries_for(ada)
    assert [(e.entry_id, e.stage) for e in entries] == [(entry.entry_id, "Qualified")]
    history = await services.pipeline.stage_history(entry)
    assert [h.stage for h in history] == ["Lead", "Qualified"]
    assert history[0].active_until is not None
    assert history[1].active_until is None


async def test_activity_notes_and_tasks(services: Services) -> None:
    ada = await services.contacts.upsert_person("ada@example.com")
    note = await services.activity.note(ada, "Met", "Talked about **engines**")
    assert (note.title, note.parent_record_id) == ("Met", ada.record_id)
    assert [n.note_id for n in await services.activity.notes_for(ada)] == [note.note_id]
    due = datetime(2030, 1, 2, 9, 30, tzinfo=UTC)
    task = await services.activity.task("Call Ada", deadline=due, linked=[ada])
    assert (task.content, task.deadline, task.linked) == ("Call Ada", due, (ada.record_id,))
    assert not task.is_completed
    assert task.completed_at is None
    done = await services.activity.complete_task(task)
    assert done.is_completed
    assert done.completed_at is not None
    assert [t.task_id for t in await services.activity.tasks_for(ada)] == [task.task_id]


async def test_a_record_that_is_not_one_is_a_clear_error(services: Services) -> None:
    from attio_automate.errors import ActionError

    with pytest.raises(ActionError, match="needs 'object' and 'record_id'"):
        await services.activity.note({"record_id": "r"}, "t", "c")
