"""Waits outlive their runners: a kill -9 of every runner while waits are
pending loses none of them, and none fires twice after the restart."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from attio_automate.testing.servers import FakeAttioProcess, runner_process
from tests.web.conftest import (
    KEY,
    SECRET,
    Setup,
    created,
    inbox,
    make_people,
    note_posts,
    people_object_id,
    send,
    wait_until,
)

WAIT = 10
WAIT_RULES = f"""
version: 1
rules:
  - id: later
    on: record.created
    object: people
    do:
      - action: add_note
        with: {{title: first, content: "first for {{{{ record.record_id }}}}"}}
      - wait: {WAIT}s
      - action: add_note
        with: {{title: later, content: "later for {{{{ record.record_id }}}}"}}
"""


def notes_titled(fake: FakeAttioProcess, title: str) -> Counter[str]:
    return Counter(
        p["body"]["data"]["parent_record_id"]
        for p in note_posts(fake)
        if p["body"]["data"]["title"] == title
    )


@pytest.mark.slow
def test_kill_9_of_every_runner_while_waits_are_pending_loses_none(
    fake: FakeAttioProcess, setup: Setup, tmp_path: Path
) -> None:
    Path(setup.rules).write_text(WAIT_RULES)
    people = people_object_id(fake)
    records = make_people(fake, 30)
    # Several runners share PostgreSQL; a SQLite store has one.
    count = 2 if setup.pg_schema else 1
    common: dict[str, Any] = {
        "rules": setup.rules,
        "config": setup.config,
        "api_key": KEY,
        "webhook_secret": SECRET,
        "base_url": fake.base_url,
        "db_url": setup.db_url,
    }

    def pending_waits() -> int:
        return sum(1 for row in inbox(setup) if row[1].startswith("wait:") and row[2] == "pending")

    with ExitStack() as stack:
        runners = [
            stack.enter_context(runner_process(**common, log_path=str(tmp_path / f"r{n}.log")))
            for n in range(count)
        ]
        for n, record_id in enumerate(records):
            answer = send(runners[n % count].url, [created(people, record_id)], key=record_id)
            assert answer.status_code == 200
        assert wait_until(lambda: pending_waits() == len(records), 20), inbox(setup)[-3:]
        for runner in runners:
            runner.kill()  # no drain, no goodbye: every runner at once
    assert notes_titled(fake, "later") == Counter()  # none had fallen due yet
    assert notes_titled(fake, "first") == Counter(records)
    time.sleep(WAIT)  # every wait falls due while no runner is up
    with runner_process(**common, log_path=str(tmp_path / "after.log")):
        assert wait_until(lambda: len(notes_titled(fake, "later")) == len(records), 30)
        time.sleep(2.0)  # a wait fired twice would show now
    assert notes_titled(fake, "later") == Counter(records)
    assert notes_titled(fake, "first") == Counter(records)
    assert pending_waits() == 0
