"""A plugin's writes through the services are effects-once over kill -9: the
runner dies mid-burst, restarts, and every person ends with exactly one
note, one task (completed) and their company."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from attio_automate.testing.servers import FakeAttioProcess, runner_process
from tests.web.conftest import (
    FAST_CONFIG,
    KEY,
    SECRET,
    Setup,
    inbox,
    make_people,
    note_posts,
    people_object_id,
    wait_until,
)
from tests.web.test_durability import burst

WELCOME = """
from attio_automate import Interest, hookimpl

PLUGIN_NAME = "welcome"


@hookimpl
def wanted_events():
    return Interest(event_types=("record.created",), objects=("people",))


@hookimpl
def handle_event(event):
    record_id = event.record["record_id"]
    event.activity.note(event.record, "Welcome", "for " + record_id)
    company = event.contacts.upsert_company(record_id[:12] + ".example")
    event.contacts.link_person_to_company(event.record, company)
    task = event.activity.task("Call " + record_id, linked=event.record)
    event.activity.complete_task(task)
"""


@pytest.mark.slow
@pytest.mark.parametrize("setup", ["sqlite"], indirect=True)
def test_service_writes_happen_once_across_a_kill_9(
    fake: FakeAttioProcess, setup: Setup, tmp_path: Path
) -> None:
    plugin = tmp_path / "welcome.py"
    plugin.write_text(WELCOME)
    rules = tmp_path / "no-rules.yaml"
    rules.write_text("version: 1\nrules: []\n")
    config = tmp_path / "welcome.yaml"
    config.write_text(FAST_CONFIG + f"plugins:\n  paths: [{plugin}]\n  installed: false\n")
    people = people_object_id(fake)
    records = make_people(fake, 30)
    acknowledged: list[tuple[str, str]] = []
    stop = threading.Event()
    common: dict[str, Any] = {
        "rules": str(rules),
        "config": str(config),
        "api_key": KEY,
        "webhook_secret": SECRET,
        "base_url": fake.base_url,
        "db_url": setup.db_url,
    }
    with runner_process(**common) as runner:
        sender = threading.Thread(
            target=burst, args=(runner.url, people, records, acknowledged, stop)
        )
        sender.start()
        assert wait_until(lambda: len(note_posts(fake)) >= 5, 30)
        runner.kill()  # mid-burst: intents without results, leases left behind
        stop.set()
        sender.join()
        port = int(runner.url.rsplit(":", 1)[1])
    assert len(note_posts(fake)) < len(records)  # the crash did interrupt the work
    with runner_process(**common, port=port) as runner:
        stop.clear()
        burst(runner.url, people, records, acknowledged, stop)
        done = wait_until(lambda: all(row[2] == "done" for row in inbox(setup)), 90)
        assert done, [row for row in inbox(setup) if row[2] != "done"][:5]
    log = fake.requests()
    notes = Counter(p["body"]["data"]["parent_record_id"] for p in note_posts(fake))
    tasks = Counter(
        r["body"]["data"]["linked_records"][0]["target_record_id"]
        for r in log
        if r["method"] == "POST" and r["path"] == "/v2/tasks" and r["status"] == 200
    )
    assert notes == dict.fromkeys(records, 1)
    assert tasks == dict.fromkeys(records, 1)
    completed = [r for r in log if r["method"] == "PATCH" and r["path"].startswith("/v2/tasks/")]
    assert len({r["path"] for r in completed}) == len(records)
    linked = [
        r
        for r in log
        if r["method"] == "PATCH"
        and r["path"].startswith("/v2/objects/people/records/")
        and r["status"] == 200
    ]
    assert {r["path"].rsplit("/", 1)[1] for r in linked} == set(records)
