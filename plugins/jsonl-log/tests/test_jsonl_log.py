"""jsonl_log as installed: loaded from its entry point, writing real lines."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from attio_automate.assembly import build_processor, load_plugins
from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.bus.context import AppContext
from attio_automate.events import AttioEvent
from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio

RULES = """
version: 1
rules:
  - id: note-everyone
    on: record.created
    object: people
    do:
      - action: add_note
        with: {title: Hello, content: "Hi {{ record.name.first_name }}"}
      - action: add_to_list
        with: {list: sales, entry_values: {stage: Nope}}
"""


async def test_events_and_actions_become_json_lines(
    tmp_path: Path, fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    log = tmp_path / "logs" / "events.jsonl"
    settings = {"jsonl_log": {"path": str(log)}}
    plugins = load_plugins(rules_path=rules)
    assert "jsonl_log" in dict(plugins.bus.plugins())
    app = AppContext(attio=attio_client, schema=SchemaCache(attio_client), settings=settings)
    assert await plugins.bus.call("startup", app=app) == []

    ada = fake_attio.workspace.create_record("people", {"name": "Ada Lovelace"})
    processor = build_processor(plugins, attio=attio_client, settings=settings)
    event = AttioEvent(
        "record.created",
        {"object_id": fake_attio.workspace.objects["people"].id, "record_id": ada.id},
        {"type": "workspace-member", "id": "m"},
    )
    result = await processor.process(event, key="delivery-1:0")
    assert result.status == "failed"  # the unknown stage: Attio refuses it
    assert await plugins.bus.call("shutdown", app=app) == []

    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["startup", "event", "action", "action", "shutdown"]
    assert lines[1]["event"]["event_type"] == "record.created"
    assert lines[1]["record_id"] == ada.id
    done, failed = lines[2], lines[3]
    assert (done["action"], done["status"], done["key"]) == (
        "add_note",
        "done",
        result.outcomes[0].planned.key,
    )
    assert done["key"].startswith("delivery-1:0:note-everyone:add_note:")
    assert (failed["action"], failed["status"]) == ("add_to_list", "failed")
    assert failed["error"]["attio"]["code"] == "value_not_found"


async def test_without_a_path_nothing_is_written(
    tmp_path: Path,
    fake_attio: FakeAttio,
    attio_client: AttioClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    plugins = load_plugins()
    app = AppContext(attio=attio_client, schema=SchemaCache(attio_client), settings={})
    assert await plugins.bus.call("startup", app=app) == []
    ada = fake_attio.workspace.create_record("people", {"name": "Ada Lovelace"})
    event = AttioEvent(
        "record.created",
        {"object_id": fake_attio.workspace.objects["people"].id, "record_id": ada.id},
        {"type": "workspace-member", "id": "m"},
    )
    await build_processor(plugins, attio=attio_client).process(event, key="k")
    assert [p async for p in anyio.Path(tmp_path).iterdir()] == []
