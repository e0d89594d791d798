"""``doctor`` shows the effective configuration without its secrets and checks
the store, Attio and the rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from attio_automate.cli.main import main
from attio_automate.examples import example_path
from attio_automate.store import open_store_url
from attio_automate.testing.servers import FakeAttioProcess, fake_attio_process

KEY = "doctor-key-1234"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAttioProcess]:
    with fake_attio_process(api_key=KEY) as process:
        yield process


async def _create(url: str) -> None:
    store = open_store_url(url)
    await store.open()
    await store.close()


def doctor(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["doctor", *args], env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_all_well(fake: FakeAttioProcess, tmp_path: Path) -> None:
    env = {
        "ATTIO_API_KEY": KEY,
        "ATTIO_WEBHOOK_SECRET": "whsec-5678",
        "ATTIO_BASE_URL": fake.base_url,
        "ATTIO_AUTOMATE_DB": f"sqlite:///{tmp_path / 'store.db'}",
    }
    # A store that does not exist yet is not created and called fine.
    code, out = doctor("--rules", str(example_path()), "--json", env=env)
    assert code == 1
    assert json.loads(out)["checks"]["store"] == (
        f"FAILED: no store at {tmp_path / 'store.db'} "
        "(serve creates it on its first start: is the path right?)"
    )
    assert not (tmp_path / "store.db").exists()

    anyio.run(_create, env["ATTIO_AUTOMATE_DB"])
    code, out = doctor("--rules", str(example_path()), "--json", env=env)
    assert code == 0, out
    report = json.loads(out)
    assert report["checks"]["store"].startswith("ok (0 events")
    assert report["checks"]["attio"].startswith("ok (workspace")
    assert report["checks"]["rules"].startswith("ok (8 rules")
    assert report["checks"]["sync"] == "not configured"
    assert report["settings"]["secrets"]["api_key"] == "<set>"
    assert report["settings"]["secrets"]["webhook_secrets"] == "<1 set>"
    assert KEY not in out
    assert "whsec-5678" not in out


def test_each_failure_is_named(fake: FakeAttioProcess, tmp_path: Path) -> None:
    broken = tmp_path / "rules.yaml"
    broken.write_text("version: 1\nrules:\n  - id: x\n")
    env = {
        "ATTIO_API_KEY": "not-the-key",
        "ATTIO_BASE_URL": fake.base_url,
        # Nothing listens on port 1; the password is not shown.
        "ATTIO_AUTOMATE_DB": "postgresql://runner:hunter2@127.0.0.1:1/attio",
    }
    code, out = doctor("--rules", str(broken), env=env)
    assert code == 1
    assert "store.url: postgresql://runner:***@127.0.0.1:1/attio" in out
    assert "store: FAILED: cannot open the store at postgresql://runner:***@" in out
    assert "attio: FAILED: " in out
    assert "401" in out
    assert f"rules: FAILED: {broken}:3:5: missing 'do'" in out
    assert "hunter2" not in out
    assert "not-the-key" not in out


def test_the_sync_database_is_checked(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "sync:\n"
        "  database: postgresql://app:s3cret@127.0.0.1:1/crm\n"
        "  mirrors: [{object: people, table: attio_people}]\n"
    )
    code, out = doctor("--config", str(config), "--json", env={})
    assert code == 1
    checks = json.loads(out)["checks"]
    assert checks["sync"].startswith("FAILED: the sync database failed")
    assert json.loads(out)["settings"]["sync"]["database"] == "postgresql://app:***@127.0.0.1:1/crm"
    assert "s3cret" not in out
    config.write_text(
        f"sync:\n  database: sqlite:///{tmp_path / 'crm.db'}\n"
        "  mirrors: [{object: people, table: attio_people}]\n"
    )
    code, out = doctor("--config", str(config), "--json", env={})
    assert json.loads(out)["checks"]["sync"] == "ok (1 mirror in sqlite)"
