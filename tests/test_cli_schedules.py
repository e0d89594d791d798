"""``attio-automate schedules list``: the jobs the runners share, as recorded."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from click.testing import CliRunner

from attio_automate.cli.main import main
from attio_automate.clock import VirtualClock
from attio_automate.processing.scheduler import Job, Scheduler
from attio_automate.store import open_store_url


def record_a_run(url: str) -> None:
    async def run() -> None:
        store = open_store_url(url)
        await store.open()

        async def sweep(due: float) -> str:
            return "removed 3"

        clock = VirtualClock(start=1_800_000_000.0)
        await Scheduler(
            store, [Job("retention", every=3600, run=sweep)], owner="r1", clock=clock
        ).run_due()
        await store.close()

    anyio.run(run)


def test_schedules_list_shows_each_job(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runner.db'}"
    record_a_run(url)
    shown = CliRunner().invoke(main, ["schedules", "list", "--db", url])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].split() == [
        "JOB",
        "NEXT",
        "RUN",
        "(UTC)",
        "LAST",
        "RUN",
        "(UTC)",
        "HELD",
        "BY",
        "OUTCOME",
    ]
    assert lines[1].split() == [
        "retention",
        "2027-01-15",
        "09:00:00",
        "2027-01-15",
        "08:00:00",
        "-",
        "removed",
        "3",
    ]
    as_json = CliRunner().invoke(main, ["schedules", "list", "--db", url, "--json"])
    (job,) = json.loads(as_json.output)
    assert (job["name"], job["last_outcome"], job["owner"]) == ("retention", "removed 3", None)


def test_schedules_list_without_a_store_says_so(tmp_path: Path) -> None:
    missing = CliRunner().invoke(
        main, ["schedules", "list", "--db", f"sqlite:///{tmp_path / 'none.db'}"]
    )
    assert missing.exit_code == 1
    assert "no store at" in missing.output
    assert "Traceback" not in missing.output
