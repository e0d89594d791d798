"""deal_owner against the fake Attio, through the runner's own path: the
processor, the services' planned writes, the ledger."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from attio_automate_deal_owner import SettingsError, owners_from, pick

from attio_automate.assembly import build_processor, load_plugins
from attio_automate.attio.client import AttioClient
from attio_automate.events import AttioEvent
from attio_automate.processing.ledger import MemoryLedger
from attio_automate.processing.processor import EventProcessor
from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio

ADA, GRACE = "ada@fake-attio.test", "grace@fake-attio.test"  # the fake's members


def processor(client: AttioClient, **settings: Any) -> EventProcessor:
    plugins = load_plugins()  # deal_owner comes from its entry point, as when installed
    config = {"deal_owner": {"owners": [ADA, GRACE], **settings}}
    return build_processor(plugins, attio=client, settings=config)


def created(fake: FakeAttio, record_id: str) -> AttioEvent:
    deals = fake.workspace.objects["deals"]
    return AttioEvent(
        "record.created",
        {"object_id": deals.id, "record_id": record_id},
        {"type": "workspace-member", "id": "m"},
    )


def owner_of(fake: FakeAttio, record_id: str) -> str | None:
    deals = fake.workspace.objects["deals"]
    found = fake.workspace.records["deals"][record_id].current(deals.attributes["owner"].id)
    if not found:
        return None
    member = fake.workspace.members[found[0]["referenced_actor_id"]]
    return member.email_address


def test_the_pick_is_stable_and_spreads_evenly() -> None:
    owners = ["a@x.test", "b@x.test", "c@x.test"]
    assert pick(owners, "deal-1") == pick(owners, "deal-1")
    spread = Counter(pick(owners, f"deal-{n}") for n in range(3000))
    assert set(spread) == set(owners)
    assert min(spread.values()) > 900


def test_settings_are_checked() -> None:
    with pytest.raises(SettingsError, match="non-empty list"):
        owners_from({})
    with pytest.raises(SettingsError, match="not email addresses"):
        owners_from({"owners": ["ada"]})


async def test_a_new_deal_gets_its_owner_and_a_task_once(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    deal = fake_attio.workspace.create_record("deals", {"name": "Engines"})
    run = processor(attio_client)
    ledger = MemoryLedger()
    result = await run.process(created(fake_attio, deal.id), key="d1:0", ledger=ledger)
    assert result.status == "done", result.reason
    owner = owner_of(fake_attio, deal.id)
    assert owner == pick([ADA, GRACE], deal.id)
    (task,) = fake_attio.workspace.tasks.values()
    assert task.content == "Introduce yourself: Engines"
    assert task.linked_records[0]["target_record_id"] == deal.id
    assert (
        fake_attio.workspace.members[task.assignees[0]["referenced_actor_id"]].email_address
        == owner
    )
    # A retry (or a replay) repeats nothing, though the deal has its owner now.
    again = await run.process(created(fake_attio, deal.id), key="d1:0", ledger=ledger)
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"]
    assert len(fake_attio.workspace.tasks) == 1


async def test_a_crash_between_owner_and_task_still_makes_the_task(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    deal = fake_attio.workspace.create_record("deals", {"name": "Mills"})
    run = processor(attio_client)
    ledger = MemoryLedger()

    async def crash_before_the_task(planned: Any) -> None:
        if planned.action == "create_task":
            raise ConnectionError("the runner died here")

    first = await run.process(
        created(fake_attio, deal.id), key="d4:0", ledger=ledger, before_action=crash_before_the_task
    )
    assert first.status == "retry"
    assert owner_of(fake_attio, deal.id) is not None
    assert not fake_attio.workspace.tasks
    again = await run.process(created(fake_attio, deal.id), key="d4:0", ledger=ledger)
    assert [o.status for o in again.outcomes] == ["skipped", "done"]
    assert len(fake_attio.workspace.tasks) == 1


async def test_a_deal_with_an_owner_keeps_it(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    # A deal whose owner is not the one the rotation would pick for it.
    deal = fake_attio.workspace.create_record("deals", {"name": "Looms", "owner": [GRACE]})
    while pick([ADA, GRACE], deal.id) == GRACE:
        deal = fake_attio.workspace.create_record("deals", {"name": "Looms", "owner": [GRACE]})
    result = await processor(attio_client, first_task_days=0).process(
        created(fake_attio, deal.id), key="d2:0"
    )
    assert result.status == "done"
    assert result.outcomes == []
    assert owner_of(fake_attio, deal.id) == GRACE


async def test_without_owners_it_does_nothing(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    deal = fake_attio.workspace.create_record("deals", {"name": "Kilns"})
    run = build_processor(load_plugins(), attio=attio_client, settings={})
    result = await run.process(created(fake_attio, deal.id), key="d5:0")
    assert result.status == "done"
    assert owner_of(fake_attio, deal.id) is None


async def test_bad_settings_fail_the_event_with_the_reason(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    deal = fake_attio.workspace.create_record("deals", {"name": "Gears"})
    plugins = load_plugins()
    run = build_processor(plugins, attio=attio_client, settings={"deal_owner": {"owners": []}})
    result = await run.process(created(fake_attio, deal.id), key="d3:0")
    assert result.status == "failed"
    assert "owners' must be a non-empty list" in (result.reason or "")
    assert owner_of(fake_attio, deal.id) is None
