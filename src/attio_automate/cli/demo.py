"""``attio-automate demo``: the whole path, over real HTTP on loopback.

One command serves a fake Attio and the runner (hypercorn, SQLite in a
temporary folder), registers the runner's webhook with the fake, and then
changes records in the fake as a workspace member.  A mirror of the people
in a SQLite database shows sync both ways: Attio's changes reach its table,
and a row the "application" writes to the outbox reaches Attio.  The fake sends signed
webhooks; the runner commits, dispatches and runs ``rules.example.yaml``;
its actions write back to the fake through the shared client.  The demo
prints each event's trace from the runner's store and, at the end, what
Attio holds.  No network, no configuration.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
from hypercorn.asyncio import serve

from attio_automate import operations
from attio_automate.assembly import Runner
from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.cli.demo_sync import show_sync, sync_settings
from attio_automate.examples import example_path
from attio_automate.settings import Settings
from attio_automate.store.base import EventFilter
from attio_automate.testing.fake import FakeAttio, entries
from attio_automate.testing.servers import free_port
from attio_automate.web.app import create_app
from attio_automate.web.server import hypercorn_config

DEMO_KEY = "demo-key"
Echo = Callable[[str], None]


@contextlib.asynccontextmanager
async def served(app: Any, port: int) -> AsyncIterator[None]:
    """Serve ``app`` on loopback for the block, then shut it down cleanly."""
    stop = anyio.Event()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(
            lambda: serve(
                app,
                hypercorn_config("127.0.0.1", port),
                shutdown_trigger=stop.wait,
            )
        )
        await _wait_up(f"http://127.0.0.1:{port}")
        try:
            yield
        finally:
            stop.set()


async def _wait_up(url: str, path: str = "/", timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=1.0) as http:
        while time.monotonic() < deadline:
            try:
                answer = await http.get(url + path)
                if path == "/" or answer.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await anyio.sleep(0.05)
    raise TimeoutError(f"{url}{path} did not come up")


#: The example's wait, and what the demo makes of it so that it falls due
#: while you watch.
EXAMPLE_WAIT, DEMO_WAIT = "- wait: 14d", "- wait: 2s"


async def run_demo(echo: Echo, rules_path: Path | None = None) -> None:
    """Run the demo, reporting through ``echo``."""
    rules_path = rules_path or example_path()
    shorten = EXAMPLE_WAIT in rules_path.read_text(encoding="utf-8")
    fake = FakeAttio(api_key=DEMO_KEY)
    workspace = fake.workspace
    member = {"type": "workspace-member", "id": next(iter(workspace.members))}
    fake_port, runner_port = free_port(), free_port()
    fake_url = f"http://127.0.0.1:{fake_port}/v2"
    runner_url = f"http://127.0.0.1:{runner_port}"
    echo(
        f"attio-automate demo: {rules_path.name}, a fake Attio on {fake_url} and the runner "
        f"on {runner_url}\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if shorten:
            shortened = Path(tmp) / rules_path.name
            shortened.write_text(
                rules_path.read_text(encoding="utf-8").replace(EXAMPLE_WAIT, DEMO_WAIT),
                encoding="utf-8",
            )
            echo(f"(the demo shortens the example's `{EXAMPLE_WAIT}` to `{DEMO_WAIT}`)\n")
            rules_path = shortened
        # The fake outlives the runner; its webhook sender is cancelled, not the servers.
        async with served(fake.app, fake_port), anyio.create_task_group() as background:
            background.start_soon(fake.webhooks.run)
            async with AttioClient(
                api_key=DEMO_KEY, settings=ClientSettings(base_url=fake_url)
            ) as attio:
                webhook = await attio.create_webhook(
                    target_url=f"{runner_url}/webhooks/attio",
                    subscriptions=[
                        {"event_type": t, "filter": None}
                        for t in (
                            "record.created",
                            "record.updated",
                            "list-entry.created",
                            "list-entry.updated",
                            "note.created",
                            "task.created",
                        )
                    ],
                )
            echo(
                f"registered webhook {webhook['id']['webhook_id'][:8]}… -> "
                f"{webhook['target_url']} (signing secret received once)"
            )
            settings = Settings(
                store={"url": f"sqlite:///{Path(tmp) / 'demo.db'}"},
                rules={"path": str(rules_path)},
                attio={"base_url": fake_url},
                plugins={"installed": False},
                dispatcher={"poll_seconds": 0.05},
                server={"drain_seconds": 5.0},
                secrets={"api_key": DEMO_KEY, "webhook_secrets": (webhook["secret"],)},
                sync=sync_settings(f"sqlite:///{Path(tmp) / 'crm.db'}"),
            )
            app = create_app(settings)
            async with served(app, runner_port):
                await _wait_up(runner_url, "/healthz")
                runner: Runner = app.state.runner
                await _steps(echo, fake, runner, member, waits=shorten)
                await show_sync(echo, runner, lambda: _settle(fake, runner))
                await _show_state(echo, runner.attio)
            background.cancel_scope.cancel()


async def _steps(
    echo: Echo, fake: FakeAttio, runner: Runner, member: dict[str, Any], *, waits: bool
) -> None:
    workspace = fake.workspace
    ids: dict[str, str] = {}

    def create_ada() -> None:
        ids["ada"] = workspace.create_record(
            "people",
            {
                "name": "Ada Lovelace",
                "email_addresses": ["ada@analytical.example"],
                "job_title": "Co-Founder & CEO",
            },
            actor=member,
        ).id

    def create_deal() -> None:
        ids["deal"] = workspace.create_record(
            "deals",
            {
                "name": "Analytical Engine rollout",
                "stage": "Lead",
                "value": 90000,
                "associated_people": [ids["ada"]],
            },
            actor=member,
        ).id

    def entry_of_ada() -> str:
        return next(
            e.id for e in workspace.entries["sales"].values() if e.parent_record_id == ids["ada"]
        )

    steps: list[tuple[str, Callable[[], object]]] = [
        ("a member adds Ada Lovelace, Co-Founder & CEO", create_ada),
        ("a member creates a 90,000 USD deal", create_deal),
        (
            "the deal moves to Won",
            lambda: workspace.update_record(
                "deals", ids["deal"], {"stage": "Won 🎉"}, mode="replace", actor=member
            ),
        ),
        (
            "Ada's job title changes",
            lambda: workspace.update_record(
                "people", ids["ada"], {"job_title": "Chief Scientist"}, mode="replace", actor=member
            ),
        ),
        (
            "Ada's sales entry reaches Customer",
            lambda: entries.update_entry(
                workspace,
                "sales",
                entry_of_ada(),
                {"stage": "Customer"},
                mode="replace",
                actor=member,
            ),
        ),
    ]
    if waits:
        steps.append(("two seconds pass: the check-in's wait falls due", lambda: None))
    shown: set[int] = set()
    totals = {"done": 0, "skipped": 0, "dead": 0}
    for number, (title, step) in enumerate(steps, 1):
        echo(f"\n── step {number}: {title}")
        step()
        await _settle(fake, runner)
        if waits and number == len(steps):
            pending, due = await runner.store.waits_summary()
            while pending and due is not None:
                await anyio.sleep(max(due - runner.clock.time(), 0.0) + 0.3)
                await _settle(fake, runner)
                pending, due = await runner.store.waits_summary()
        events = sorted(await runner.store.list_events(EventFilter(limit=1000)), key=lambda e: e.id)
        for event in events:
            if event.id in shown or (event.event_type == "wait" and event.status == "pending"):
                continue  # a wait is shown once it has fired
            shown.add(event.id)
            totals[event.status] = totals.get(event.status, 0) + 1
            if event.status == "skipped":
                echo(f"  event {event.id} {event.event_type}: skipped - {event.reason}")
                continue
            found = await operations.detail(runner.store, event.id)
            assert found is not None
            _show_trace(echo, found)
    fired = sum(1 for e in await runner.store.list_events(EventFilter(event_type="wait")))
    echo(
        f"\n{len(shown) - fired} webhook events arrived over HTTP and {fired} wait fell due: "
        f"{totals['done']} done, "
        f"{totals['skipped']} dropped by the loop guard (caused by the runner's own writes), "
        f"{totals.get('dead', 0)} in the dead letter."
    )


async def _settle(fake: FakeAttio, runner: Runner, timeout: float = 30.0) -> None:
    """Wait until the fake has sent everything and the runner has finished it all."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        counts = await runner.store.status_counts()
        # Waits not yet due are pending too: they are not work to wait for.
        waiting, _ = await runner.store.waits_summary()
        busy = counts.get("pending", 0) - waiting + counts.get("processing", 0)
        busy += fake.webhooks.pending
        quiet = quiet + 1 if busy == 0 else 0
        if quiet >= 3:  # three quiet looks in a row: actions' own events have arrived too
            return
        await anyio.sleep(0.1)
    raise TimeoutError("the runner did not settle")


def _show_trace(echo: Echo, found: dict[str, Any]) -> None:
    from attio_automate.cli import output

    trace = found.get("trace") or {}
    subject = trace.get("list") or trace.get("object") or found["subject"]
    changed = f" ({trace['changed']} changed)" if trace.get("changed") else ""
    echo(
        f"  event {found['id']} {found['event_type']} on {subject}{changed}: "
        f"{found['status']}{' - ' + found['reason'] if found['reason'] else ''}"
    )
    output.decisions(echo, trace.get("decisions", []), indent="    ")
    output.actions(echo, trace.get("actions", []), indent="      ")
    for error in trace.get("errors", []):
        echo(f"      error: {error.get('error')}")


async def _show_state(echo: Echo, attio: AttioClient) -> None:
    echo("\nAttio now holds:")
    async for person in attio.query_records("people"):
        values = person["values"]
        echo(
            f"  person  {values['name'][0]['full_name']}: job title "
            f"{values['job_title'][0]['value']!r}, description "
            f"{(values['description'] or [{'value': None}])[0]['value']!r}"
        )
        for note in await attio.list_notes(
            parent_object="people", parent_record_id=person["id"]["record_id"]
        ):
            echo(f"  note    on {values['name'][0]['full_name']}: {note['title']!r}")
    async for entry in attio.query_entries("sales"):
        echo(f"  sales   entry at stage {entry['entry_values']['stage'][0]['status']['title']!r}")
    async for company in attio.query_records("companies"):
        values = company["values"]
        echo(f"  company {values['name'][0]['value']} ({values['domains'][0]['domain']})")
    async for deal in attio.query_records("deals"):
        values = deal["values"]
        echo(f"  deal    {values['name'][0]['value']}: {values['stage'][0]['status']['title']}")
        for note in await attio.list_notes(
            parent_object="deals", parent_record_id=deal["id"]["record_id"]
        ):
            echo(f"  note    on the deal: {note['title']!r}")
    for task in await attio.list_tasks():
        echo(f"  task    {task['content_plaintext']!r} due {task['deadline_at'][:10]}")
