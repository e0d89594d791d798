"""``attio-automate sync run|status|outbox|conflicts`` against the fake Attio
(its own process) and a SQLite sync database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from attio_automate.cli.main import main
from attio_automate.testing.servers import fake_attio_process

KEY = "sync-cli-key"


def config(tmp_path: Path, base_url: str, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""
store: {{url: "sqlite:///{tmp_path / "runner.db"}"}}
attio: {{base_url: "{base_url}"}}
sync:
  database: "sqlite:///{tmp_path / "crm.db"}"
  mirrors:
    - object: people
      table: attio_people
      columns: {{email: email_addresses, name: name, title: job_title}}
  reconcile_every: 1h
"""
        + extra
    )
    return path


def test_sync_run_status_and_the_outbox_from_the_command_line(tmp_path: Path) -> None:
    with fake_attio_process(api_key=KEY) as fake:
        fake.create_people(12, api_key=KEY)
        path = config(tmp_path, fake.base_url)
        env = {"ATTIO_API_KEY": KEY}
        run = CliRunner().invoke(main, ["sync", "run", "--config", str(path), "--json"], env=env)
        assert run.exit_code == 0, run.output
        counts = json.loads(run.output)["attio_people"]
        assert (counts["checked"], counts["created"], counts["unchanged"]) == (12, 12, 0)
        again = CliRunner().invoke(main, ["sync", "run", "--config", str(path)], env=env)
        assert again.output.splitlines()[1].split() == ["attio_people", "12", "0", "0", "0", "12"]
    # Attio away once the tables are made: the run stops, saying so, and keeps its place.
    away = CliRunner().invoke(
        main,
        ["sync", "run", "--config", str(path)],
        env={**env, "ATTIO_BASE_URL": "http://127.0.0.1:9/v2"},
    )
    assert away.exit_code == 1, away.output
    assert "stopped: " in away.output
    assert "Traceback" not in away.output
    status = CliRunner().invoke(main, ["sync", "status", "--config", str(path)])
    assert status.exit_code == 0, status.output
    assert "attio_people (object people): 12 rows, 0 deleted" in status.output
    # The stopped run is where it stopped, to be resumed.
    assert "last reconcile: in progress since" in status.output
    assert "outbox: 0 waiting, 0 failed, 0 conflicts" in status.output
    with sqlite3.connect(tmp_path / "crm.db") as db:
        db.execute(
            'INSERT INTO attio_outbox (object, matching_attribute, "values", status, '
            "error_code, error_message) VALUES (?, ?, ?, ?, ?, ?)",
            (
                "people",
                "email_addresses",
                json.dumps({"email_addresses": ["x"]}),
                "failed",
                "validation_type",
                "bad email",
            ),
        )
    listed = CliRunner().invoke(
        main, ["sync", "outbox", "list", "--status", "failed", "--config", str(path)]
    )
    assert "#1 failed" in listed.output
    assert "validation_type: bad email" in listed.output
    retried = CliRunner().invoke(main, ["sync", "outbox", "retry", "1", "--config", str(path)])
    assert "1 row(s) queued again" in retried.output
    none = CliRunner().invoke(main, ["sync", "conflicts", "list", "--config", str(path)])
    assert none.output.strip() == "no conflicts"
    wrong = CliRunner().invoke(
        main, ["sync", "conflicts", "resolve", "1", "--keep", "local", "--config", str(path)]
    )
    assert wrong.exit_code == 1
    assert "outbox row 1 is not a conflict" in wrong.output


def test_sync_commands_say_what_is_missing(tmp_path: Path) -> None:
    bare = tmp_path / "bare.yaml"
    bare.write_text("store: {url: 'sqlite:///x.db'}\n")
    result = CliRunner().invoke(main, ["sync", "status", "--config", str(bare)])
    assert result.exit_code == 1
    assert "no sync: section" in result.output
    path = config(tmp_path, "http://127.0.0.1:9/v2")
    fresh = CliRunner().invoke(main, ["sync", "status", "--config", str(path)])
    assert fresh.exit_code == 1
    assert "sync run` makes the tables" in fresh.output
    keyless = CliRunner().invoke(main, ["sync", "run", "--config", str(path)], env={})
    assert keyless.exit_code == 1
    assert "ATTIO_API_KEY is not set" in keyless.output


def test_an_unreachable_sync_database_or_attio_is_a_clear_error(tmp_path: Path) -> None:
    with fake_attio_process(api_key=KEY) as fake:
        path = tmp_path / "config.yaml"
        path.write_text(
            f'attio: {{base_url: "{fake.base_url}"}}\n'
            f'store: {{url: "sqlite:///{tmp_path / "runner.db"}"}}\n'
            "sync:\n"
            "  database: postgresql://app:s3cret@127.0.0.1:1/crm\n"
            "  mirrors: [{object: people, table: attio_people}]\n"
        )
        env = {"ATTIO_API_KEY": KEY}
        result = CliRunner().invoke(main, ["sync", "run", "--config", str(path)], env=env)
    assert result.exit_code == 1
    assert "sync.database: the sync database failed" in result.output
    assert "s3cret" not in result.output
    assert "Traceback" not in result.output
    # Attio away before the tables were ever made: said plainly too.
    nowhere = config(tmp_path, "http://127.0.0.1:9/v2")
    result = CliRunner().invoke(main, ["sync", "run", "--config", str(nowhere)], env=env)
    assert result.exit_code == 1
    assert "the mirror tables are made from Attio's attributes" in result.output


def test_the_reconcile_reads_pages_of_the_configured_size(tmp_path: Path) -> None:
    query = "/v2/objects/people/records/query"
    with fake_attio_process(api_key=KEY) as fake:
        fake.create_people(12, api_key=KEY)
        path = config(tmp_path, fake.base_url, "  page_size: 5\n")
        env = {"ATTIO_API_KEY": KEY}
        before = fake.count("POST", query)
        run = CliRunner().invoke(main, ["sync", "run", "--config", str(path), "--json"], env=env)
        assert run.exit_code == 0, run.output
        assert json.loads(run.output)["attio_people"]["checked"] == 12
        asked = [
            r["body"]["limit"] for r in fake.requests() if r["path"] == query and r["status"] == 200
        ]
        assert fake.count("POST", query) - before == len(asked) >= 3
        assert set(asked) == {5}
    too_big = config(tmp_path, fake.base_url, "  page_size: 501\n")
    refused = CliRunner().invoke(main, ["sync", "run", "--config", str(too_big)], env=env)
    assert refused.exit_code == 1
    assert "page_size" in refused.output
    assert "Traceback" not in refused.output
