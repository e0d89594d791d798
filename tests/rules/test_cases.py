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
