"""Sync in a real runner: webhooks keep the mirror, the outbox is pushed,
and a kill -9 in the middle of pushing writes each row once."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from attio_automate.testing.servers import FakeAttioProcess, runner_process
from tests.web.conftest import KEY, SECRET, created, make_people, people_object_id, send, wait_until

RULES = "version: 1\nrules: []\n"


def sync_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""
dispatcher: {{concurrency: 8, lease_seconds: 3, poll_seconds: 0.1, backoff_initial: 0.5,
             backoff_max: 2}}
attio: {{schema_ttl: 600}}
sync:
  database: "sqlite:///{tmp_path / "crm.db"}"
  mirrors:
    - object: people
      table: attio_people
      columns: {{email: email_addresses, title: job_title}}
  poll_seconds: 0.2
"""
    )
    return path


def query(tmp_path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "crm.db") as db:
        return db.execute(sql, args).fetchall()


@pytest.mark.slow
def test_mirror_and_push_in_a_runner_with_a_kill_9_mid_push(
    fake: FakeAttioProcess, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    common: dict[str, Any] = {
        "rules": str(rules),
        "config": str(sync_config(tmp_path)),
        "api_key": KEY,
        "webhook_secret": SECRET,
        "base_url": fake.base_url,
        "db_url": f"sqlite:///{tmp_path / 'runner.db'}",
    }
    people = people_object_id(fake)
    records = make_people(fake, 10)
    with runner_process(**common, log_path=str(tmp_path / "r1.log")) as runner:
        for record_id in records:
            assert send(runner.url, [created(people, record_id)], key=record_id).status_code == 200
        assert wait_until(lambda: len(query(tmp_path, "SELECT 1 FROM attio_people")) == 10, 20)
        # The application writes 60 rows; mid-push, the runner dies.
        with sqlite3.connect(tmp_path / "crm.db") as db:
            db.executemany(
                'INSERT INTO attio_outbox (object, matching_attribute, "values") VALUES (?, ?, ?)',
                [
                    ("people", "email_addresses", f'{{"email_addresses": ["p{n}@push.test"]}}')
                    for n in range(60)
                ],
            )
        assert wait_until(lambda: fake.count("PUT", "/v2/objects/people/records") >= 10, 20)
        runner.kill()
    done = query(tmp_path, "SELECT COUNT(*) FROM attio_outbox WHERE status = 'done'")[0][0]
    assert done < 60  # the crash did interrupt the pushing
    with runner_process(**common, log_path=str(tmp_path / "r2.log")):
        assert wait_until(
            lambda: (
                query(tmp_path, "SELECT COUNT(*) FROM attio_outbox WHERE status = 'done'")[0][0]
                == 60
            ),
            60,
        ), query(tmp_path, "SELECT id, status, error_message FROM attio_outbox")[:5]
    puts = [
        r
        for r in fake.requests()
        if r["method"] == "PUT" and r["path"] == "/v2/objects/people/records"
    ]
    written = Counter(
        r["body"]["data"]["values"]["email_addresses"][0]["email_address"] for r in puts
    )
    # Each row written once, the crash notwithstanding.
    assert written == Counter({f"p{n}@push.test": 1 for n in range(60)})
    ids = {row[0] for row in query(tmp_path, "SELECT record_id FROM attio_outbox")}
    assert len(ids) == 60
