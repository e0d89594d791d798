"""A runner whose background work dies does not linger as a zombie: it
exits non-zero (a supervisor restarts it) and what it held comes back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from attio_automate.testing.servers import FakeAttioProcess, runner_process
from tests.web.conftest import (
    FAST_CONFIG,
    KEY,
    SECRET,
    Setup,
    created,
    inbox,
    make_people,
    people_object_id,
    send,
)

# Raises what no handler expects (not even an Exception) from the
# dispatcher's own task: the lifespan that runs it dies.
BREAKS = """
from attio_automate import hookimpl

PLUGIN_NAME = "breaks"


class Unforeseen(BaseException):
    pass


@hookimpl
def handle_event(event):
    raise Unforeseen("the machinery itself failed")
"""


@pytest.mark.slow
@pytest.mark.parametrize("setup", ["sqlite"], indirect=True)
def test_a_dead_lifespan_exits_non_zero_and_loses_nothing(
    fake: FakeAttioProcess, setup: Setup, tmp_path: Path
) -> None:
    plugin = tmp_path / "breaks.py"
    plugin.write_text(BREAKS)
    broken = tmp_path / "broken.yaml"
    broken.write_text(FAST_CONFIG + f"plugins:\n  paths: [{plugin}]\n")
    log = tmp_path / "runner.log"
    people = people_object_id(fake)
    record = make_people(fake, 1)[0]
    common: dict[str, Any] = {
        "rules": setup.rules,
        "api_key": KEY,
        "webhook_secret": SECRET,
        "base_url": fake.base_url,
        "db_url": setup.db_url,
    }
    with runner_process(config=str(broken), log_path=str(log), **common) as runner:
        assert send(runner.url, [created(people, record)], key="one").status_code == 200
        code = runner.process.wait(timeout=15)
    assert code == 3
    said = log.read_text()
    assert "exiting for a restart: Unforeseen: the machinery itself failed" in said
    assert [row[1] for row in inbox(setup)] == ["one:0"]
    # Restarted without the fault: the acknowledged event is done.
    config = tmp_path / "fast.yaml"
    config.write_text(FAST_CONFIG)
    with runner_process(config=str(config), **common):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and inbox(setup)[0][2] != "done":
            time.sleep(0.1)
    assert inbox(setup)[0][2] == "done"
