"""Service writes inside handle_event are planned actions: run after the
plugins decide, once through the ledger, traced, and chained by reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from attio_automate.assembly import build_processor, load_plugins
from attio_automate.attio.client import AttioClient
from attio_automate.events import AttioEvent
from attio_automate.processing.ledger import MemoryLedger
from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio
MEMBER = {"type": "workspace-member", "id": "m"}

# A plugin as an author would write it: a new person gets a company (from
# their email's domain), a note, a place in the pipeline, and a task.
ONBOARDING = """
from attio_automate import hookimpl

PLUGIN_NAME = "onboarding"


@hookimpl
async def handle_event(event):
    if event.event.event_type != "record.created" or event.object != "people":
        return
    email = event.record["email_addresses"][0]
    domain = email.split("@")[1]
    company = event.contacts.upsert_company(domain, name=domain.split(".")[0].title())
    event.contacts.link_person_to_company(event.record, company)
    lead = event.contacts.upsert_person("lead-" + email, name="Their lead")
    event.activity.note(lead, "Referred", "Referred " + email)
    entry = event.pipeline.add(lead, "sales", "Lead")
    event.pipeline.move(entry, "Qualified")
    task = event.activity.task("Call them", linked=lead, deadline="2030-01-02")
    event.activity.complete_task(task)
"""


async def test_planned_writes_chain_run_once_and_are_traced(
    fake_attio: FakeAttio, attio_client: AttioClient, tmp_path: Path
) -> None:
    plugin = tmp_path / "onboarding.py"
    plugin.write_text(ONBOARDING)
    plugins = load_plugins(plugin_paths=[plugin], entry_points=False)
    processor = build_processor(plugins, attio=attio_client)
    w = fake_attio.workspace
    ada = w.create_record("people", {"email_addresses": ["ada@acme.com"]}, actor=MEMBER)
    event = AttioEvent(
        "record.created", {"object_id": w.objects["people"].id, "record_id": ada.id}, MEMBER
    )
    ledger = MemoryLedger()
    result = await processor.process(event, key="d1:0", ledger=ledger)
    assert result.status == "done", result.reason
    actions = [o.planned.action for o in result.outcomes]
    assert actions == [
        "upsert_record",  # the company
        "update_record",  # Ada's company
        "upsert_record",  # the lead
        "add_note",
        "add_to_list",
        "update_entry",
        "create_task",
        "complete_task",
    ]
    assert all(o.status == "done" for o in result.outcomes)
    people = {r.id: r for r in w.records["people"].values()}
    company_id = result.outcomes[0].result["record_id"]
    lead_id = result.outcomes[2].result["record_id"]
    assert lead_id in people
    # The references were filled in with what earlier actions made.
    assert [n.parent_record_id for n in w.notes.values()] == [lead_id]
    (entry,) = w.entries["sales"].values()
    assert entry.parent_record_id == lead_id
    (task,) = w.tasks.values()
    assert task.is_completed
    assert task.linked_records[0]["target_record_id"] == lead_id
    company_attribute = w.objects["people"].attribute("company")
    assert company_attribute is not None
    ada_company = w.get_record("people", ada.id).current(company_attribute.id)
    assert ada_company[0]["target_record_id"] == company_id
    # Traced, with the reference as planned.
    traced = result.context.trace.actions if result.context else []
    lead_ref = {"$ref": result.outcomes[2].planned.key, "field": "record_id"}
    assert traced[3]["params"]["record_id"] == lead_ref
    # Run again on the same ledger (a retry): nothing happens twice.
    writes = len(fake_attio.writes())
    again = await processor.process(event, key="d1:0", ledger=ledger)
    assert again.status == "done"
    assert {o.status for o in again.outcomes} == {"skipped"}
    assert len(fake_attio.writes()) == writes
    assert len(w.notes) == 1


async def test_a_reference_to_an_action_that_did_not_run_fails_clearly(
    fake_attio: FakeAttio, attio_client: AttioClient, tmp_path: Path
) -> None:
    plugin = tmp_path / "dangling.py"
    plugin.write_text(
        "from attio_automate import hookimpl\n"
        "PLUGIN_NAME = 'dangling'\n"
        "@hookimpl\n"
        "def handle_event(event):\n"
        "    event.activity.note(('people', {'$ref': 'nowhere', 'field': 'record_id'}), 't', 'c')\n"
    )
    processor = build_processor(
        load_plugins(plugin_paths=[plugin], entry_points=False), attio=attio_client
    )
    w = fake_attio.workspace
    ada = w.create_record("people", {"email_addresses": ["ada@acme.com"]}, actor=MEMBER)
    event = AttioEvent(
        "record.created", {"object_id": w.objects["people"].id, "record_id": ada.id}, MEMBER
    )
    result = await processor.process(event, key="d2:0", ledger=MemoryLedger())
    assert result.status == "failed"
    assert "refers to the result of 'nowhere'" in (result.reason or "") + str(result.error)
    assert not w.notes


def test_a_dry_run_shows_planned_service_writes_and_their_attio_calls(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from attio_automate.cli.main import main

    plugin = tmp_path / "welcome.py"
    plugin.write_text(
        "from attio_automate import hookimpl\n"
        "PLUGIN_NAME = 'welcome'\n"
        "@hookimpl\n"
        "def handle_event(event):\n"
        "    company = event.contacts.upsert_company('acme.com', name='Acme')\n"
        "    event.contacts.link_person_to_company(event.record, company)\n"
        "    event.activity.note(event.record, 'Welcome', 'Hello')\n"
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules: []\n")
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {"event_type": "record.created", "id": {"object_id": "people", "record_id": "p-ada"}}
        )
    )
    record = tmp_path / "record.json"
    record.write_text(
        json.dumps({"object": "people", "record_id": "p-ada", "values": {"name": "Ada"}})
    )
    args = ["rules", "test", str(rules), "--event", str(event), "--record", str(record)]
    args += ["--plugin-path", str(plugin), "--no-installed-plugins", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert [a["action"] for a in shown["actions"]] == ["upsert_record", "update_record", "add_note"]
    assert all(a["source"] == "welcome" for a in shown["actions"])
    calls = [(c["method"], c["path"]) for c in shown["calls"]]
    assert calls == [
        ("PUT", "/v2/objects/companies/records"),
        ("PATCH", "/v2/objects/people/records/p-ada"),
        ("POST", "/v2/notes"),
    ]
