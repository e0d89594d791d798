"""Operating a served runner: dead letter, fixing a rule, retrying; admin API;
webhooks registered with the fake and delivered by it."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from attio_automate.cli.main import main
from attio_automate.testing.servers import FakeAttioProcess, runner_process
from tests.web.conftest import (
    KEY,
    SECRET,
    Setup,
    created,
    inbox,
    people_object_id,
    send,
    wait_until,
)

ADMIN = "admin-token-for-tests"
BAD_RULES = """
version: 1
rules:
  - id: lead
    on: record.created
    object: people
    do:
      - action: add_note
        with: {title: Welcome, content: "hello {{ record.record_id }}"}
      - action: add_to_list
        with: {list: sales, entry_values: {stage: Prospect}}
"""


def cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def person(fake: FakeAttioProcess) -> str:
    with httpx.Client(
        base_url=fake.base_url + "/", headers={"Authorization": f"Bearer {KEY}"}
    ) as client:
        return str(
            client.post(
                "objects/people/records",
                json={
                    "data": {
                        "values": {
                            "name": [{"first_name": "Ada", "last_name": "L", "full_name": "Ada L"}]
                        }
                    }
                },
            ).json()["data"]["id"]["record_id"]
        )


def writes(fake: FakeAttioProcess, method: str, path: str) -> int:
    return sum(
        1
        for r in fake.requests()
        if r["method"] == method and r["path"] == path and r["status"] == 200
    )


@pytest.mark.slow
def test_dead_letter_fix_reload_retry(fake: FakeAttioProcess, setup: Setup, tmp_path: Path) -> None:
    rules = Path(setup.rules)
    rules.write_text(BAD_RULES)
    people = people_object_id(fake)
    first, second = person(fake), person(fake)
    env = {
        "ATTIO_API_KEY": KEY,
        "ATTIO_BASE_URL": fake.base_url,
        "ATTIO_AUTOMATE_DB": setup.db_url,
        "ATTIO_WEBHOOK_SECRET": SECRET,
    }
    with runner_process(
        rules=str(rules),
        config=setup.config,
        api_key=KEY,
        webhook_secret=SECRET,
        base_url=fake.base_url,
        db_url=setup.db_url,
        extra_env={"ATTIO_AUTOMATE_ADMIN_TOKEN": ADMIN},
        log_path=str(tmp_path / "runner.log"),
    ) as runner:
        assert send(runner.url, [created(people, first)], key="one").is_success
        assert send(runner.url, [created(people, second)], key="two").is_success
        assert wait_until(lambda: [r[2] for r in inbox(setup)] == ["dead", "dead"])

        code, out = cli("dead-letter", "list", env=env)
        assert code == 0
        assert "value_not_found" in out
        code, out = cli("events", "show", "1", env=env)
        assert code == 0
        assert "add_note [lead] -> done" in out
        assert "add_to_list [lead] -> failed" in out
        assert 'Cannot find status "Prospect"' in out
        shown = json.loads(cli("events", "show", "1", "--json", env=env)[1])
        failed = shown["trace"]["actions"][1]["error"]["attio"]
        assert (failed["status_code"], failed["code"]) == (400, "value_not_found")
        assert shown["reason"].startswith("action add_to_list (lead) failed")

        # Fix the rule; the runner reloads the file by itself.
        rules.write_text(BAD_RULES.replace("Prospect", "Lead"))
        assert wait_until(lambda: "rules reloaded" in (tmp_path / "runner.log").read_text())

        # One dead letter retried from the CLI, the other through the admin API.
        code, out = cli("dead-letter", "retry", "1", "--rules", str(rules), env=env)
        assert code == 0, out
        assert "event 1: done (1 action(s) run, 1 already done)" in out
        answer = httpx.post(
            f"{runner.url}/admin/dead-letters/retry",
            json={"ids": [2]},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert answer.json() == {"queued": 1, "busy": 0, "ids": [2]}
        assert wait_until(lambda: [r[2] for r in inbox(setup)] == ["done", "done"])
    # Each action reached Attio once per person: the notes were not made again.
    assert writes(fake, "POST", "/v2/notes") == 2
    assert writes(fake, "PUT", "/v2/lists/sales/entries") == 2


def test_admin_endpoints_need_the_token(fake: FakeAttioProcess, setup: Setup) -> None:
    people = people_object_id(fake)
    record_id = person(fake)
    with runner_process(
        rules=setup.rules,
        config=setup.config,
        api_key=KEY,
        webhook_secret=SECRET,
        base_url=fake.base_url,
        db_url=setup.db_url,
        extra_env={"ATTIO_AUTOMATE_ADMIN_TOKEN": ADMIN},
    ) as runner:
        assert send(runner.url, [created(people, record_id)], key="a").is_success
        assert wait_until(lambda: [r[2] for r in inbox(setup)] == ["done"])
        url = f"{runner.url}/admin"
        auth = {"Authorization": f"Bearer {ADMIN}"}
        assert httpx.get(f"{url}/events").status_code == 401
        assert (
            httpx.get(f"{url}/events", headers={"Authorization": "Bearer nope"}).status_code == 401
        )
        listed = httpx.get(f"{url}/events", headers=auth).json()["events"]
        assert [(e["id"], e["status"]) for e in listed] == [(1, "done")]
        filtered = httpx.get(
            f"{url}/events", params={"rule": "note-each", "since": "1h"}, headers=auth
        ).json()["events"]
        assert len(filtered) == 1
        assert (
            httpx.get(f"{url}/events", params={"rule": "nope"}, headers=auth).json()["events"] == []
        )
        shown = httpx.get(f"{url}/events/1", headers=auth).json()
        assert shown["trace"]["decisions"][0]["matched"] is True
        assert KEY not in json.dumps(shown)
        assert SECRET not in json.dumps(shown)
        assert httpx.get(f"{url}/events/99", headers=auth).status_code == 404
        assert httpx.get(f"{url}/events/x", headers=auth).status_code == 400
        bad = httpx.get(f"{url}/events", params={"status": "weird"}, headers=auth)
        assert (bad.status_code, "unknown status" in bad.json()["error"]) == (400, True)
        assert (
            httpx.get(f"{url}/events", params={"since": "yesterdayish"}, headers=auth).status_code
            == 400
        )
        assert httpx.post(f"{url}/events/replay", content=b"[1]", headers=auth).status_code == 400
        assert (
            httpx.post(f"{url}/events/replay", json={"ids": [42]}, headers=auth).status_code == 400
        )
        assert (
            httpx.post(f"{url}/dead-letters/retry", json={"ids": [1]}, headers=auth).status_code
            == 400
        )  # not in the dead letter
        notes = sum(1 for r in fake.requests() if r["path"] == "/v2/notes")
        replayed = httpx.post(f"{url}/events/replay", json={"ids": [1]}, headers=auth).json()
        assert replayed["queued"] == 1
        assert wait_until(lambda: [r[2] for r in inbox(setup)] == ["done"])
        time.sleep(0.3)
        assert sum(1 for r in fake.requests() if r["path"] == "/v2/notes") == notes  # ledger
        forced = httpx.post(
            f"{url}/events/replay", json={"ids": [1], "force": True}, headers=auth
        ).json()
        assert forced["queued"] == 1
        assert wait_until(lambda: writes(fake, "POST", "/v2/notes") == 2)
        assert httpx.get(f"{url}/dead-letters", headers=auth).json() == {"dead_letters": []}
    # Without the token set, the admin endpoints do not exist.
    with runner_process(
        rules=setup.rules,
        config=setup.config,
        api_key=KEY,
        webhook_secret=SECRET,
        base_url=fake.base_url,
        db_url=setup.db_url,
    ) as runner:
        assert httpx.get(f"{runner.url}/admin/events").status_code == 404


def test_webhooks_registered_with_the_fake_reach_the_runner(
    fake: FakeAttioProcess, setup: Setup, tmp_path: Path
) -> None:
    env = {"ATTIO_API_KEY": KEY, "ATTIO_BASE_URL": fake.base_url}
    from attio_automate.testing.servers import free_port

    port = free_port()
    target = f"http://127.0.0.1:{port}/webhooks/attio"
    code, out = cli(
        "webhooks",
        "register",
        "--url",
        target,
        "--events",
        "record.created",
        "--object",
        "people",
        env=env,
    )
    assert code == 0, out
    assert "Attio shows this secret only now" in out
    secret = next(line.split("secret: ", 1)[1] for line in out.splitlines() if "secret: " in line)
    webhook_id = out.split()[2]
    code, out = cli("webhooks", "list", env=env)
    assert webhook_id in out
    assert "record.created" in out
    with runner_process(
        rules=setup.rules,
        config=setup.config,
        api_key=KEY,
        webhook_secret=secret,
        base_url=fake.base_url,
        db_url=setup.db_url,
        port=port,
    ):
        with httpx.Client(
            base_url=fake.base_url + "/",
            headers={"Authorization": f"Bearer {KEY}", "X-Fake-Actor": "member"},
        ) as client:
            client.post(
                "objects/people/records",
                json={
                    "data": {
                        "values": {
                            "name": [
                                {"first_name": "Grace", "last_name": "H", "full_name": "Grace H"}
                            ]
                        }
                    }
                },
            )
            client.post(
                "objects/companies/records",
                json={"data": {"values": {"name": [{"value": "Not a person"}]}}},
            )  # filtered out by --object people
        assert wait_until(lambda: [r[2] for r in inbox(setup)] == ["done"])
        rows = inbox(setup)
        assert len(rows) == 1
    notes = [r for r in fake.requests() if r["path"] == "/v2/notes" and r["method"] == "POST"]
    assert len(notes) == 1
    code, out = cli("webhooks", "delete", webhook_id, env=env)
    assert (code, out.strip()) == (0, f"deleted webhook {webhook_id}")
    code, out = cli("webhooks", "delete", webhook_id, env=env)
    assert code == 1
    assert "not_found" in out


@pytest.mark.slow
def test_sighup_reloads_and_a_broken_file_keeps_the_old_rules(
    fake: FakeAttioProcess, setup: Setup, tmp_path: Path
) -> None:
    rules = Path(setup.rules)
    people = people_object_id(fake)
    log = tmp_path / "runner.log"
    with runner_process(
        rules=str(rules),
        config=setup.config,
        api_key=KEY,
        webhook_secret=SECRET,
        base_url=fake.base_url,
        db_url=setup.db_url,
        log_path=str(log),
    ) as runner:
        rules.write_text("version: 1\nrules:\n  - id: broken\n")
        os.kill(runner.process.pid, signal.SIGHUP)
        assert wait_until(lambda: "rules reload refused" in log.read_text())
        assert f"{rules}:3:5: missing 'on'" in log.read_text()
        assert send(runner.url, [created(people, person(fake))], key="k1").is_success
        assert wait_until(lambda: writes(fake, "POST", "/v2/notes") == 1)  # old rules still run
        rules.write_text("version: 1\nrules: []\n")
        os.kill(runner.process.pid, signal.SIGHUP)
        assert wait_until(lambda: "rules reloaded" in log.read_text())
        assert send(runner.url, [created(people, person(fake))], key="k2").is_success
        assert wait_until(
            lambda: all(r[2] == "done" for r in inbox(setup)) and len(inbox(setup)) == 2
        )
        assert writes(fake, "POST", "/v2/notes") == 1  # the new, empty rules did nothing


def test_cli_errors_for_unknown_ids_and_bad_filters(tmp_path: Path) -> None:
    db_path = tmp_path / "runner.db"
    env: dict[str, Any] = {"ATTIO_AUTOMATE_DB": f"sqlite:///{db_path}"}
    code, out = cli("events", "list", env=env)
    assert code == 1
    assert "no store at" in out
    import sqlite3

    from attio_automate.store.migrations import migrate_sqlite

    connection = sqlite3.connect(db_path, isolation_level=None)
    migrate_sqlite(connection)
    connection.close()
    assert cli("events", "list", env=env) == (0, "no events\n")
    code, out = cli("events", "show", "7", env=env)
    assert (code, out.strip()) == (1, "no event with id 7")
    code, out = cli("events", "list", "--since", "last tuesday", env=env)
    assert code == 1
    assert "is not a time" in out
    code, out = cli("events", "list", "--status", "weird", env=env)
    assert code == 2
    code, out = cli("dead-letter", "retry", env=env)
    assert code == 2
    assert "give event ids or --all" in out
    code, out = cli("events", "replay", "3", env=env)
    assert code == 1
    assert "ATTIO_API_KEY is not set" in out
