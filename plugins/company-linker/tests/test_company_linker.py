"""company_linker against the fake Attio, through the real runner path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from attio_automate_company_linker import PERSONAL_DOMAINS, company_name, work_domain

from attio_automate.assembly import build_processor, load_plugins
from attio_automate.attio.client import AttioClient
from attio_automate.events import AttioEvent
from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio

RULES = Path(__file__).resolve().parent.parent / "rules.yaml"


def test_work_domain_skips_personal_mail() -> None:
    assert (
        work_domain(["ada@gmail.com", "ada@Analytical.example"], PERSONAL_DOMAINS)
        == "analytical.example"
    )
    assert work_domain("bob@yahoo.com", PERSONAL_DOMAINS) is None
    assert work_domain([], PERSONAL_DOMAINS) is None
    assert company_name("analytical-engines.example") == "Analytical Engines"


async def run_created(fake: FakeAttio, client: AttioClient, record_id: str) -> dict[str, Any]:
    plugins = load_plugins(rules_path=RULES)  # the plugin comes from its entry point
    assert plugins.actions.get("company_linker.link_company") is not None
    processor = build_processor(plugins, attio=client)
    people = fake.workspace.objects["people"]
    event = AttioEvent(
        "record.created",
        {"object_id": people.id, "record_id": record_id},
        {"type": "workspace-member", "id": "m"},
    )
    result = await processor.process(event, key="e1")
    assert result.status == "done", result.reason
    return result.trace()


async def test_a_new_person_is_linked_to_a_new_company(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    ada = fake_attio.workspace.create_record(
        "people", {"email_addresses": ["ada@analytical-engines.example"]}
    )
    trace = await run_created(fake_attio, attio_client, ada.id)
    assert trace["actions"][0]["result"]["linked"] is True
    company_id = trace["actions"][0]["result"]["company_id"]
    company = fake_attio.workspace.records["companies"][company_id]
    people = fake_attio.workspace.objects["people"]
    reference = ada.current(people.attributes["company"].id)
    assert [v["target_record_id"] for v in reference] == [company_id]
    name = fake_attio.workspace.objects["companies"].attributes["name"]
    assert company.current(name.id)[0]["value"] == "Analytical Engines"


async def test_an_existing_company_is_reused_and_keeps_its_name(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    acme = fake_attio.workspace.create_record(
        "companies", {"name": "ACME Corporation", "domains": ["acme.example"]}
    )
    wile = fake_attio.workspace.create_record("people", {"email_addresses": ["wile@acme.example"]})
    trace = await run_created(fake_attio, attio_client, wile.id)
    assert trace["actions"][0]["result"]["company_id"] == acme.id
    assert len(fake_attio.workspace.records["companies"]) == 1
    name = fake_attio.workspace.objects["companies"].attributes["name"]
    assert acme.current(name.id)[0]["value"] == "ACME Corporation"


async def test_personal_email_links_nothing(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    bob = fake_attio.workspace.create_record("people", {"email_addresses": ["bob@gmail.com"]})
    trace = await run_created(fake_attio, attio_client, bob.id)
    assert trace["actions"][0]["result"] == {"linked": False, "reason": "no work email"}
    assert fake_attio.workspace.records["companies"] == {}
