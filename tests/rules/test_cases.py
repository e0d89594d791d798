"""The example rules' test cases run here, one pytest test per case."""

from __future__ import annotations

from typing import Any

import pytest

from attio_automate.assembly import load_plugins
from attio_automate.examples import example_path
from attio_automate.tooling.cases import load_cases, run_case

pytestmark = pytest.mark.anyio

CASES = load_cases(example_path("rules.example.cases.yaml"))


@pytest.mark.parametrize("case", CASES, ids=[str(c["name"]) for c in CASES])
async def test_example_case(case: Any) -> None:
    plugins = load_plugins(rules_path=example_path(), entry_points=False)
    result = await run_case(plugins, case)
    assert result.passed, "\n".join(result.problems)


async def test_a_wrong_expectation_fails_with_reasons() -> None:
    plugins = load_plugins(rules_path=example_path(), entry_points=False)
    case = dict(CASES[0])
    case["expect"] = [
        {"rule": "founders-to-pipeline", "action": "add_note", "with": {"title": "wrong"}}
    ]
    result = await run_case(plugins, case)
    assert not result.passed
    assert result.problems[0].startswith("expected 1 action(s), rules planned 3")
    assert "expected 'add_note', got 'add_to_list'" in result.problems[1]


CHECK_IN = next(c for c in CASES if "two weeks on gets a check-in" in str(c["name"]))


async def test_a_step_expecting_the_check_in_too_early_fails() -> None:
    plugins = load_plugins(rules_path=example_path(), entry_points=False)
    case = dict(CHECK_IN)
    case["then"] = [
        {"advance": "13d", "expect": [{"rule": "customer-check-in", "action": "create_task"}]}
    ]
    result = await run_case(plugins, case)
    assert result.problems == ["then 1: expected 1 action(s), rules planned 0: none"]


async def test_the_rule_is_rechecked_when_a_wait_falls_due_in_a_case() -> None:
    # The entry churns without an event (so nothing cancels the wait): when
    # the wait falls due, the rule's when: fails on the entry as it is then.
    plugins = load_plugins(rules_path=example_path(), entry_points=False)
    case = dict(CHECK_IN)
    case["then"] = [
        {
            "advance": "14d",
            "entries": [{"list": "sales", "entry_id": "e-1", "values": {"stage": "Churned"}}],
            "expect": [],
        }
    ]
    result = await run_case(plugins, case)
    assert result.passed, result.problems
    (run,) = [r for r in [result.run] if r is not None]
    assert run.actions[-1]["action"] == "wait"


def test_bad_steps_are_reported_where_they_are(tmp_path: Any) -> None:
    from attio_automate.errors import ConfigError

    path = tmp_path / "cases.yaml"
    path.write_text(
        "cases:\n"
        "  - name: n\n"
        "    event: {event_type: record.created, id: {}}\n"
        "    expect: []\n"
        "    now: soon\n"
        "    then:\n"
        "      - {advance: 2 weeks, expect: []}\n"
        "      - {expect: []}\n"
        "      - {advance: 1d, colour: red}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_cases(path)
    assert caught.value.problems == [
        f"{path}:5:10: now: takes a date-time like 2026-12-01T09:00:00Z",
        f"{path}:7:19: '2 weeks' is not a duration like 30m, 12h, 7d or 2w",
        f"{path}:8:9: a step needs 'advance' (how long) or 'event'",
        f"{path}:9:23: unknown key 'colour' in a step",
        f"{path}:9:9: a step needs 'expect', a list of actions",
    ]
