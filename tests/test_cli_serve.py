"""``serve`` refuses to start on a user mistake, with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from attio_automate.cli.main import main
from attio_automate.examples import example_path

ENV = {"ATTIO_API_KEY": "k", "ATTIO_WEBHOOK_SECRET": "s", "ATTIO_AUTOMATE_DB": "sqlite:///x.db"}


def serve(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["serve", *args], env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_missing_secrets() -> None:
    code, out = serve(
        "--rules", str(example_path()), env={"ATTIO_API_KEY": "", "ATTIO_WEBHOOK_SECRET": ""}
    )
    assert code == 1
    assert "ATTIO_WEBHOOK_SECRET is not set" in out
    assert "ATTIO_API_KEY is not set" in out


def test_no_rules_and_broken_rules(tmp_path: Path) -> None:
    code, out = serve(env=ENV)
    assert code == 1
    assert "no rules" in out
    broken = tmp_path / "r.yaml"
    broken.write_text("version: 1\nrules:\n  - id: x\n")
    code, out = serve("--rules", str(broken), env=ENV)
    assert code == 1
    assert f"{broken}:3:5: missing 'on'" in out


def test_bad_store_url_and_config(tmp_path: Path) -> None:
    code, out = serve(
        "--rules", str(example_path()), env={**ENV, "ATTIO_AUTOMATE_DB": "oracle://nope"}
    )
    assert code == 1
    assert "ATTIO_AUTOMATE_DB: store.url: 'oracle://nope' is not a store URL" in out
    config = tmp_path / "c.yaml"
    config.write_text("server: {port: 99999}\n")
    code, out = serve("--config", str(config), "--rules", str(example_path()), env=ENV)
    assert code == 1
    assert f"{config}:1:16: server.port: Input should be less than or equal to 65535" in out


def test_a_store_that_cannot_be_opened(tmp_path: Path) -> None:
    # Nothing listens on port 1; the password must not be shown.
    unreachable = "postgresql://runner:hunter2@127.0.0.1:1/attio"
    code, out = serve("--rules", str(example_path()), env={**ENV, "ATTIO_AUTOMATE_DB": unreachable})
    assert code == 1
    assert "cannot open the store at postgresql://runner:***@127.0.0.1:1/attio" in out
    assert "hunter2" not in out
    blocked = tmp_path / "file"
    blocked.write_text("")
    code, out = serve(
        "--rules",
        str(example_path()),
        env={**ENV, "ATTIO_AUTOMATE_DB": f"sqlite:///{blocked}/inbox.db"},
    )
    assert code == 1
    assert f"cannot open the store at sqlite:///{blocked}/inbox.db" in out


def test_log_level_and_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import logging

    from attio_automate.cli.logs import configure

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("httpx").level)
    try:
        configure("info", "json")
        logging.getLogger("attio_automate.runner").info("started %d", 1)
        logging.getLogger("httpx").info("HTTP Request: GET https://api.attio.com/v2/self")
        logging.getLogger("attio_automate.runner").debug("not at info")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("attio_automate.runner").exception("failed")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        assert [(x["level"], x["logger"], x["message"]) for x in lines] == [
            ("info", "attio_automate.runner", "started 1"),
            ("error", "attio_automate.runner", "failed"),
        ]
        assert "ValueError: boom" in lines[1]["error"]
        configure("debug", "text")
        logging.getLogger("httpx").info("HTTP Request: GET /v2/self")
        assert "INFO httpx: HTTP Request: GET /v2/self" in capsys.readouterr().err
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("httpx").setLevel(saved[2])
