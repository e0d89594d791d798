"""Wait steps in rules files: what they may say, and errors where they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from attio_automate.actions.registry import ActionRegistry
from attio_automate.assembly import load_plugins
from attio_automate.cli.main import main
from attio_automate.errors import ConfigError
from attio_automate.rules.loader import load_rules
from attio_automate.rules.model import WaitStep


@pytest.fixture
def registry() -> ActionRegistry:
    return load_plugins(entry_points=False).actions


def rules(*steps: str, extra: str = "") -> str:
    body = "".join(f"      - {step}\n" for step in steps)
    return (
        "version: 1\nrules:\n  - id: later\n    on: record.created\n    object: people\n"
        f"{extra}    do:\n{body}"
    )


def problems(text: str, registry: ActionRegistry) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_rules(text, filename="r.yaml", registry=registry)
    return caught.value.problems


NOTE = "{action: add_note, with: {title: t, content: c}}"


def test_waits_load_as_steps(registry: ActionRegistry) -> None:
    text = rules(
        NOTE,
        "wait: 7d",
        NOTE,
        "{until: '{{ record.next_call }}', timezone: Europe/Berlin}",
        NOTE,
        "wait: 90",
        extra="    recheck: false\n",
    )
    (rule,) = load_rules(text, registry=registry).rules
    assert rule.recheck is False
    assert rule.do[1] == WaitStep(seconds=7 * 86400)
    assert rule.do[3] == WaitStep(until="{{ record.next_call }}", timezone="Europe/Berlin")
    assert rule.do[5] == WaitStep(seconds=90)


def test_bad_waits_are_reported_where_they_are(registry: ActionRegistry) -> None:
    text = rules(
        "wait: 7 days",
        "{wait: 1d, timezone: Mars/Olympus}",
        "{until: '{{ record.x | nope }}'}",
        "{action: wait, with: {}}",
    )
    found = problems(text, registry)
    assert found[0] == "r.yaml:7:15: '7 days' is not a duration like 30m, 12h, 7d or 2w"
    assert found[1] == "r.yaml:8:30: 'Mars/Olympus' is not a time zone like Europe/Berlin or UTC"
    assert found[2].startswith("r.yaml:9:")
    assert "nope" in found[2]
    assert found[3] == (
        "r.yaml:10:18: a wait is a step of its own: write `- wait: 7d` or `- until: <date>`"
    )
    assert problems(rules("{wait: 1d, until: '2026-01-01'}"), registry) == [
        "r.yaml:7:9: a wait takes wait: (how long) or until: (when), not both"
    ]
    assert problems(rules("{wait: 1d, colour: red}"), registry) == [
        "r.yaml:7:20: unknown key 'colour' in a wait"
    ]
    assert problems(rules("wait: -3"), registry) == [
        "r.yaml:7:15: wait: takes a duration like 7d or a number of seconds"
    ]


def test_a_dry_run_shows_the_wait_and_when_it_is_due(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(rules(NOTE, "wait: 3d", NOTE))
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {"event_type": "record.created", "id": {"object_id": "people", "record_id": "p-ada"}}
        )
    )
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"object": "people", "record_id": "p-ada", "values": {}}))
    args = ["rules", "test", str(rules_file), "--event", str(event), "--record", str(record)]
    shown = CliRunner().invoke(main, [*args, "--no-installed-plugins", "--json"])
    assert shown.exit_code == 0, shown.output
    actions = json.loads(shown.output)["actions"]
    assert [a["action"] for a in actions] == ["add_note", "wait"]  # the rest comes when due
    result = actions[1]["result"]
    assert result["resumes"] == "rule later at step 3"
    # Kept in the sandbox (nothing leaves a dry run), under the key a runner would use.
    assert result["stored"] is True
    assert result["wait"] == "wait:dry-run:later:2"
    assert result["due_at"].endswith("Z")


def test_schedules_load_and_bad_ones_are_reported(registry: ActionRegistry) -> None:
    good = (
        "version: 1\nrules:\n  - id: weekly\n    schedule: '0 9 * * MON'\n"
        "    timezone: Europe/Berlin\n    query: {object: deals, filter: {stage: Lead}}\n"
        f"    do:\n      - {NOTE}\n"
    )
    (rule,) = load_rules(good, registry=registry).rules
    assert rule.schedule is not None
    assert (rule.schedule.cron, rule.schedule.timezone, rule.on) == (
        "0 9 * * MON",
        "Europe/Berlin",
        (),
    )
    assert rule.schedule.query.filter == {"stage": "Lead"}
    bad = good.replace("'0 9 * * MON'", "'every monday'").replace("Europe/Berlin", "Mars/Base")
    found = problems(bad, registry)
    assert found[0].startswith("r.yaml:4:15: 'every monday' is not a cron schedule")
    assert found[1] == "r.yaml:5:15: 'Mars/Base' is not a time zone like Europe/Berlin or UTC"
    neither = good.replace("    schedule: '0 9 * * MON'\n", "")
    assert problems(neither, registry)[0].startswith("r.yaml:3:5:")


def test_until_reads_english_from_the_events_time_in_the_rules_zone() -> None:
    from datetime import UTC, datetime

    from attio_automate.rules.waits import moment

    friday = datetime(2026, 11, 27, 15, 0, tzinfo=UTC).timestamp()

    def at(text: str, zone: str = "Europe/Berlin", base: float = friday) -> str:
        return datetime.fromtimestamp(moment(text, zone, base), UTC).isoformat()

    assert at("next monday 09:00") == "2026-11-30T08:00:00+00:00"
    assert at("tomorrow 17:00", "America/New_York") == "2026-11-28T22:00:00+00:00"
    assert at("in 3 days") == "2026-11-30T15:00:00+00:00"
    # A bare weekday is the next one, even today's weekday.
    assert at("friday 10:00") == "2026-12-04T09:00:00+00:00"
    # Across the spring change: Berlin is at +02:00 by that Sunday.
    before_dst = datetime(2026, 3, 27, 12, 0, tzinfo=UTC).timestamp()
    assert at("next sunday 09:00", base=before_dst) == "2026-03-29T07:00:00+00:00"
    assert at("2026-12-01") == "2026-11-30T23:00:00+00:00"
    from attio_automate.errors import TemplateProblem

    with pytest.raises(TemplateProblem, match="'whenever it suits'"):
        moment("whenever it suits", "UTC", friday)
    with pytest.raises(TemplateProblem):
        moment("", "UTC", friday)


def test_a_fixed_until_is_checked_when_the_rules_load(registry: ActionRegistry) -> None:
    (rule,) = load_rules(
        rules("{until: 'next monday 09:00', timezone: Europe/Berlin}", NOTE), registry=registry
    ).rules
    assert rule.do[0] == WaitStep(until="next monday 09:00", timezone="Europe/Berlin")
    (found,) = problems(rules("{until: 'when pigs fly'}", NOTE), registry)
    assert found.startswith("r.yaml:7:17: until: 'when pigs fly' is not a date")
