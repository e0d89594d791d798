"""The rules and plugins commands: exit codes, messages, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from attio_automate.cli.main import main
from attio_automate.examples import example_path

RULES = str(example_path())
CASES = str(example_path("rules.example.cases.yaml"))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_check_passes_on_the_example() -> None:
    code, out = run("rules", "check", RULES)
    assert code == 0
    assert "8 rules OK" in out


def test_check_reports_problems_with_positions(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\nrules:\n  - id: x\n    on: record.created\n    do:\n      - action: nope\n"
    )
    code, out = run("rules", "check", str(bad))
    assert code == 1
    assert out.startswith(f"{bad}:6:17: action 'nope': unknown action 'nope'")
    code, out = run("rules", "check", str(tmp_path / "missing.yaml"))
    assert code == 1
    assert "cannot read" in out


def test_cases_pass_and_report(tmp_path: Path) -> None:
    code, out = run("rules", "test", RULES, "--cases", CASES)
    assert code == 0, out
    assert "11 passed, 0 failed" in out
    code, out = run("rules", "test", RULES, "--cases", CASES, "--json")
    assert json.loads(out)["passed"] == 11


def test_failing_case_exits_1(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "cases:\n  - name: wrong\n    event: {event_type: record.created, id: "
        "{object_id: deals, record_id: d}}\n    records:\n      - {object: deals, "
        "record_id: d, values: {name: Tiny, value: 1}}\n    expect:\n"
        "      - {rule: big-deal-alert}\n"
    )
    code, out = run("rules", "test", RULES, "--cases", str(cases))
    assert code == 1
    assert "FAIL  wrong" in out
    assert "expected 1 action(s), rules planned 0" in out
    assert "big-deal-alert: condition failed" in out


def test_dry_run_shows_decisions_and_the_calls(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "webhook_id": "w",
                "events": [
                    {
                        "event_type": "record.created",
                        "id": {"object_id": "people", "record_id": "p1"},
                        "actor": {"type": "workspace-member", "id": "m"},
                    }
                ],
            }
        )
    )
    record = tmp_path / "record.json"
    record.write_text(
        json.dumps(
            {
                "object": "people",
                "record_id": "p1",
                "values": {
                    "name": "Ada Lovelace",
                    "email_addresses": ["ada@analytical.example"],
                    "job_title": "Founder",
                },
            }
        )
    )
    code, out = run("rules", "test", RULES, "--event", str(event), "--record", str(record))
    assert code == 0, out
    assert "✓ founders-to-pipeline" in out
    assert "· deal-won-onboarding: event record.created is not in on" in out
    assert "PUT /v2/lists/sales/entries" in out
    assert "POST /v2/notes" in out
    assert "PUT /v2/objects/companies/records?matching_attribute=domains" in out
    code, out = run(
        "rules", "test", RULES, "--event", str(event), "--record", str(record), "--json"
    )
    data = json.loads(out)
    assert [c["method"] for c in data["calls"]] == ["PUT", "POST", "PUT"]
    assert data["calls"][0]["body"]["data"]["entry_values"] == {"stage": [{"status": "Lead"}]}


def test_dry_run_bad_input_is_explained(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text("{not json")
    code, out = run("rules", "test", RULES, "--event", str(event))
    assert code == 1
    assert "not valid JSON" in out
    code, out = run("rules", "test", RULES)
    assert code == 2
    assert "either --event" in out
    event.write_text(
        json.dumps(
            {"event_type": "record.created", "id": {"object_id": "people", "record_id": "p"}}
        )
    )
    fixture = tmp_path / "r.json"
    fixture.write_text(json.dumps({"object": "spaceships", "values": {}}))
    code, out = run("rules", "test", RULES, "--event", str(event), "--record", str(fixture))
    assert code == 1
    assert "fixture refused" in out


def test_plugins_lists_builtins_and_installed() -> None:
    code, out = run("plugins")
    assert code == 0
    assert "builtin-actions" in out
    assert "action add_to_list" in out
    assert "rules\n  hooks: handle_event" in out
    code, out = run("plugins", "--json", "--no-installed-plugins")
    names = [p["name"] for p in json.loads(out)]
    assert names == ["builtin-actions", "rules"]


def test_installed_example_plugins_are_listed() -> None:
    code, out = run("plugins", "--json")
    assert code == 0
    listing = {p["name"]: p for p in json.loads(out)}
    assert "company_linker.link_company" in [
        a["name"] for a in listing["company_linker"]["actions"]
    ]
    assert listing["jsonl_log"]["hooks"] == (
        "action_finished, handle_event, shutdown, startup, wanted_events"
    )
