"""``attio-automate demo``: example rules acting on events from a fake Attio.

Everything runs in this process: a fake Attio workspace, the shared client,
the plugins and ``rules.example.yaml``.  A workspace member changes records
in the fake; each change becomes an Attio event; the runner decides and acts,
and the demo prints every rule's decision and every action's result.  Events
that the runner's own writes cause are dropped by the loop guard.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.ratelimit import RateLimits
from attio_automate.cli import output
from attio_automate.events import AttioEvent
from attio_automate.examples import example_path
from attio_automate.processing.processor import MemoryLedger
from attio_automate.runtime import build_processor, load_plugins
from attio_automate.testing.fake import FakeAttio, entries

DEMO_KEY = "demo-key"
Echo = Callable[[str], None]


async def run_demo(echo: Echo, rules_path: Path | None = None) -> None:
    """Run the demo, reporting through ``echo``."""
    rules_path = rules_path or example_path()
    fake = FakeAttio(api_key=DEMO_KEY)
    workspace = fake.workspace
    queue: list[dict[str, Any]] = []
    workspace.listeners.append(queue.append)
    member = {"type": "workspace-member", "id": next(iter(workspace.members))}
    plugins = load_plugins(rules_path=rules_path, entry_points=False)
    settings = ClientSettings(
        base_url="http://fake-attio.local/v2",
        rate_limits=RateLimits(reads_per_second=1000, writes_per_second=1000),
    )
    echo(f"attio-automate demo: {rules_path.name} against an in-process fake Attio\n")
    async with AttioClient(
        api_key=DEMO_KEY, settings=settings, transport=fake.transport()
    ) as attio:
        processor = build_processor(plugins, attio=attio, own_actor_ids=[workspace.api_token_id])
        ledger = MemoryLedger()
        skipped = 0
        handled = 0

        async def drain() -> None:
            nonlocal skipped, handled
            while queue:
                raw = queue.pop(0)
                event = AttioEvent.from_json(raw)
                handled += 1
                result = await processor.process(event, key=f"demo-{handled}", ledger=ledger)
                if result.status == "skipped":
                    skipped += 1
                    continue
                _show(echo, event, result.trace())

        steps: list[tuple[str, Callable[[], object]]] = []
        ada_id = ""
        deal_id = ""

        def create_ada() -> None:
            nonlocal ada_id
            ada_id = workspace.create_record(
                "people",
                {
                    "name": "Ada Lovelace",
                    "email_addresses": ["ada@analytical.example"],
                    "job_title": "Co-Founder & CEO",
                },
                actor=member,
            ).id

        def create_deal() -> None:
            nonlocal deal_id
            deal_id = workspace.create_record(
                "deals",
                {
                    "name": "Analytical Engine rollout",
                    "stage": "Lead",
                    "value": 90000,
                    "associated_people": [ada_id],
                },
                actor=member,
            ).id

        steps = [
            ("a member adds Ada Lovelace, Co-Founder & CEO", create_ada),
            ("a member creates a 90,000 USD deal", create_deal),
            (
                "the deal moves to Won",
                lambda: workspace.update_record(
                    "deals", deal_id, {"stage": "Won 🎉"}, mode="replace", actor=member
                ),
            ),
            (
                "Ada's job title changes",
                lambda: workspace.update_record(
                    "people", ada_id, {"job_title": "Chief Scientist"}, mode="replace", actor=member
                ),
            ),
            (
                "Ada's sales entry reaches Customer",
                lambda: entries.update_entry(
                    workspace,
                    "sales",
                    _entry_of(fake, ada_id),
                    {"stage": "Customer"},
                    mode="replace",
                    actor=member,
                ),
            ),
        ]
        for number, (title, step) in enumerate(steps, 1):
            echo(f"── step {number}: {title}")
            step()
            await drain()
            echo("")

        echo(
            f"{handled} events handled; {skipped} caused by the runner's own writes "
            "were dropped by the loop guard.\n"
        )
        await _show_state(echo, attio, ada_id, deal_id)


def _entry_of(fake: FakeAttio, record_id: str) -> str:
    return next(
        e.id for e in fake.workspace.entries["sales"].values() if e.parent_record_id == record_id
    )


def _show(echo: Echo, event: AttioEvent, trace: dict[str, Any]) -> None:
    subject = trace.get("list") if event.family == "list-entry" else trace.get("object")
    echo(
        f"event {event.event_type} on {subject}"
        f"{' (' + str(trace['changed']) + ' changed)' if trace.get('changed') else ''}"
        f" by {event.actor.get('type')}: {trace['status']}"
        f"{' - ' + trace['reason'] if trace.get('reason') else ''}"
    )
    output.decisions(echo, trace["decisions"])
    output.actions(echo, trace["actions"])
    for error in trace["errors"]:
        echo(f"    error from {error.get('plugin')}: {error.get('error')}")


async def _show_state(echo: Echo, attio: AttioClient, ada_id: str, deal_id: str) -> None:
    echo("Attio now holds:")
    ada = (await attio.get_record("people", ada_id))["values"]
    echo(
        f"  person  {ada['name'][0]['full_name']}: job title {ada['job_title'][0]['value']!r}, "
        f"description {ada['description'][0]['value']!r}"
    )
    async for entry in attio.query_entries("sales"):
        stage = entry["entry_values"]["stage"][0]["status"]["title"]
        echo(f"  sales   entry for {entry['parent_record_id'][:8]}…: stage {stage!r}")
    async for company in attio.query_records("companies"):
        values = company["values"]
        echo(f"  company {values['name'][0]['value']} ({values['domains'][0]['domain']})")
    for parent, record_id in (("people", ada_id), ("deals", deal_id)):
        for note in await attio.list_notes(parent_object=parent, parent_record_id=record_id):
            echo(f"  note    on {parent}: {note['title']!r}")
    tasks = (await attio.request("GET", "/tasks"))["data"]
    for task in tasks:
        echo(f"  task    {task['content_plaintext']!r} due {task['deadline_at'][:10]}")
