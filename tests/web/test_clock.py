"""One clock reaches every part of the runner: receipt, the inbox, the
dispatcher's claims, traces' now() and the periodic jobs all read the clock
the runner was built with (here a virtual one, days from the real time)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import anyio
import httpx
import pytest

from attio_automate.clock import VirtualClock
from attio_automate.settings import load_settings
from attio_automate.testing import FakeAttio
from attio_automate.testing.servers import free_port
from attio_automate.testing.webhooks import delivery, record_event, signed_headers
from attio_automate.web.app import create_app
from attio_automate.web.server import serve_until_signal

pytestmark = pytest.mark.anyio

RULES = """
version: 1
rules:
  - id: stamp
    on: record.created
    object: people
    do:
      - action: add_note
        with: {title: "at {{ now() | iso }}", content: hello}
"""


async def test_the_runner_reads_the_clock_it_was_given(tmp_path: Path) -> None:
    start = time.time() + 30 * 86400  # a month from now
    clock = VirtualClock(start=start)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = load_settings(
        environ={
            "ATTIO_API_KEY": "k",
            "ATTIO_WEBHOOK_SECRET": "s",
            "ATTIO_AUTOMATE_DB": f"sqlite:///{tmp_path / 'runner.db'}",
        },
        overrides={"rules.path": str(rules), "dispatcher.poll_seconds": 0.05},
    )
    fake = FakeAttio(api_key="k")
    ada = fake.workspace.create_record("people", {"name": "Ada"})
    body = delivery([record_event("record.created", fake.workspace.objects["people"].id, ada.id)])
    noted = anyio.Event()
    fake.workspace.listeners.append(
        lambda event: noted.set() if event["event_type"] == "note.created" else None
    )
    app = create_app(settings, attio_transport=fake.transport(), clock=clock)
    port = free_port()
    stop = anyio.Event()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(lambda: serve_until_signal(app, host="127.0.0.1", port=port, stop=stop))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            with anyio.fail_after(10):
                while True:
                    try:
                        if (await client.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await anyio.sleep(0.05)
            headers = signed_headers(body, "s", idempotency_key="d1")
            answer = await client.post("/webhooks/attio", content=body, headers=headers)
            assert answer.status_code == 200
            with anyio.fail_after(10):
                await noted.wait()
            metrics = (await client.get("/metrics")).text
            assert "attio_automate_waits_pending 0.0" in metrics
            assert "attio_automate_waits_late_seconds 0.0" in metrics
        stop.set()
    (note,) = fake.workspace.notes.values()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start))
    assert note.title.startswith(f"at {stamp}")
    connection = sqlite3.connect(tmp_path / "runner.db")
    try:
        received, finished = connection.execute(
            "SELECT received_at, finished_at FROM inbox"
        ).fetchone()
        (started,) = connection.execute(
            "SELECT last_started FROM jobs WHERE name = 'retention'"
        ).fetchone()
    finally:
        connection.close()
    assert received == start
    assert start <= finished < start + 5
    assert start <= started < start + 5
