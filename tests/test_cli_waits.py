"""``attio-automate waits list`` and ``waits cancel`` over a store with waits."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from click.testing import CliRunner

from attio_automate.cli.main import main
from attio_automate.store import open_store_url
from attio_automate.store.base import NewEvent

DUE = 1_900_000_000.0  # 2030-03-17 17:46:40 UTC


def store_waits(url: str) -> None:
    async def run() -> None:
        store = open_store_url(url)
        await store.open()
        for n, (rule, record) in enumerate([("nudge", "r1"), ("nudge", "r2"), ("remind", "r1")]):
            group = f"{rule}|record:{record}"
            payload = {
                "event_type": "record.created",
                "id": {"record_id": record},
                "wait": {"rule": rule, "step": 2, "group": group, "from": f"d{n}:0"},
            }
            key = f"wait:d{n}:0:{rule}:2"
            wait = NewEvent(key, key, "wait", payload, None, DUE + n * 60, DUE + n * 60)
            await store.insert_wait(wait, group=group, policy="parallel", now=0)
        await store.close()

    anyio.run(run)


def test_waits_are_listed_filtered_and_cancelled(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runner.db'}"
    store_waits(url)
    listed = CliRunner().invoke(main, ["waits", "list", "--db", url])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == ["ID", "DUE", "(UTC)", "RULE", "RESUMES", "AT", "SUBJECT"]
    assert [line.split()[3] for line in lines[1:]] == ["nudge", "nudge", "remind"]
    assert lines[1].split()[1:3] == ["2030-03-17", "17:46:40"]
    only = CliRunner().invoke(
        main, ["waits", "list", "--db", url, "--rule", "nudge", "--record", "r2", "--json"]
    )
    (row,) = json.loads(only.output)
    assert (row["rule"], row["subject"], row["step"]) == ("nudge", "r2", 2)
    before = CliRunner().invoke(
        main, ["waits", "list", "--db", url, "--due-before", "2030-03-17T17:47:00Z", "--json"]
    )
    assert len(json.loads(before.output)) == 1
    cancelled = CliRunner().invoke(main, ["waits", "cancel", str(row["id"]), "999", "--db", url])
    assert cancelled.exit_code == 0
    assert "cancelled 1 of 2" in cancelled.output
    left = json.loads(CliRunner().invoke(main, ["waits", "list", "--db", url, "--json"]).output)
    assert [r["subject"] for r in left] == ["r1", "r1"]
    bad = CliRunner().invoke(main, ["waits", "list", "--db", url, "--due-before", "soonish"])
    assert bad.exit_code == 1
    assert "--due-before" in bad.output
