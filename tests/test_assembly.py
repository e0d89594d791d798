"""The assembly: what a runner built from settings knows, across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from attio_automate.assembly import assembled
from attio_automate.events import AttioEvent
from attio_automate.settings import Secrets, Settings
from attio_automate.testing import FakeAttio
from attio_automate.testing.pytest_plugin import FAKE_API_KEY

pytestmark = pytest.mark.anyio
MEMBER = {"type": "workspace-member", "id": "m"}
RULES = """
version: 1
rules:
  - id: describe
    on: record.created
    object: people
    do:
      - action: update_record
        with: {values: {description: "seen"}}
"""


async def test_the_loop_guard_remembers_its_token_after_a_restart(
    tmp_path: Path, fake_attio: FakeAttio
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = Settings(
        store={"url": f"sqlite:///{tmp_path}/runner.db"},
        secrets={"api_key": FAKE_API_KEY},
        attio={"base_url": "http://fake-attio/v2"},
        rules={"path": str(rules)},
        plugins={"installed": False},
    )
    people = fake_attio.workspace.objects["people"].id
    ada = fake_attio.workspace.create_record("people", {"name": "Ada"}, actor=MEMBER)
    async with assembled(settings, attio_transport=fake_attio.transport()) as runner:
        result = await runner.dispatcher.processor.process(
            AttioEvent("record.created", {"object_id": people, "record_id": ada.id}, MEMBER),
            key="k1",
        )
        assert result.status == "done"
        token = fake_attio.workspace.token_actor()["id"]
        assert token in runner.attio.token_ids  # learnt from its own write

    # A new process: its client has not written anything yet.
    grace = fake_attio.workspace.create_record("people", {"name": "Grace"}, actor=MEMBER)
    ours = {"type": "api-token", "id": token}
    writes = sum(1 for r in fake_attio.requests if r["method"] != "GET")
    async with assembled(settings, attio_transport=fake_attio.transport()) as runner:
        assert runner.attio.token_ids == set()
        result = await runner.dispatcher.processor.process(
            AttioEvent("record.updated", {"object_id": people, "record_id": grace.id}, ours),
            key="k2",
        )
    assert (result.status, result.reason) == ("skipped", "loop guard: made by our own API token")
    assert sum(1 for r in fake_attio.requests if r["method"] != "GET") == writes

    # Another API key is another token: its events are not taken for ours.
    other = settings.model_copy(update={"secrets": Secrets(api_key="another-key")})
    async with assembled(other, attio_transport=fake_attio.transport()) as runner:
        assert not runner.dispatcher.processor.is_own(ours)
