"""Rule test cases in YAML: events, fixtures and the actions expected.

::

    cases:
      - name: a new founder goes to the pipeline
        event: {event_type: record.created, id: {object_id: people, record_id: r1}}
        records:
          - {object: people, record_id: r1, values: {job_title: Founder}}
        expect:
          - {rule: founders-to-pipeline, action: add_to_list, with: {list: sales}}

``expect`` lists every action the rules must plan, in order; ``with`` need
only name the parameters that matter.  ``expect: []`` means nothing happens.
``status`` (``done`` by default) is how the event must end in the sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attio_automate.assembly import Plugins
from attio_automate.errors import ConfigError
from attio_automate.tooling.dryrun import DryRun, dry_run, parse_event
from attio_automate.yamlpos import YamlError, load


@dataclass
class CaseResult:
    name: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    run: DryRun | None = None


def load_cases(path: str | Path) -> list[Mapping[str, Any]]:
    """The cases of a cases file, checked for shape."""
    try:
        located = load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except YamlError as exc:
        raise ConfigError([f"{path}:{exc.line}:{exc.column}: {exc.message}"]) from None
    data = located.data
    if not isinstance(data, Mapping) or not isinstance(data.get("cases"), list):
        raise ConfigError([f"{path}:1:1: expected a mapping with a 'cases' list"])
    problems = []
    for index, case in enumerate(data["cases"]):
        line, column = located.position(("cases", index))
        where = f"{path}:{line}:{column}"
        if not isinstance(case, Mapping):
            problems.append(f"{where}: a case must be a mapping")
            continue
        for key in ("name", "event", "expect"):
            if key not in case:
                problems.append(f"{where}: case is missing {key!r}")
        if "expect" in case and not isinstance(case["expect"], list):
            problems.append(f"{where}: 'expect' must be a list of actions")
    if problems:
        raise ConfigError(problems)
    return list(data["cases"])


async def run_case(plugins: Plugins, case: Mapping[str, Any]) -> CaseResult:
    """Run one case; collect every way it differs from what it expects."""
    name = str(case["name"])
    run = await dry_run(
        plugins,
        parse_event(case["event"]),
        list(case.get("records", [])) + list(case.get("entries", [])),
    )
    problems = []
    planned = [(a["source"], a["action"], a["params"]) for a in run.actions]
    expected = list(case["expect"])
    if len(planned) != len(expected):
        problems.append(
            f"expected {len(expected)} action(s), rules planned {len(planned)}: "
            + (", ".join(f"{r}/{a}" for r, a, _ in planned) or "none")
        )
    for index, (want, got) in enumerate(zip(expected, planned, strict=False)):
        rule, action, params = got
        if want.get("rule") not in (None, rule):
            problems.append(f"action {index + 1}: expected rule {want['rule']!r}, got {rule!r}")
        if want.get("action") not in (None, action):
            problems.append(f"action {index + 1}: expected {want['action']!r}, got {action!r}")
        for path, message in _subset(want.get("with") or {}, params, "with"):
            problems.append(f"action {index + 1} ({action}) {path}: {message}")
    status = case.get("status", "done")
    if run.result.status != status:
        problems.append(
            f"expected the event to end {status!r}, it ended "
            f"{run.result.status!r}: {run.result.reason}"
        )
    return CaseResult(name, not problems, problems, run)


def _subset(want: Any, got: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(want, Mapping):
        if not isinstance(got, Mapping):
            return [(path, f"expected a mapping, got {got!r}")]
        found = []
        for key, value in want.items():
            if key not in got:
                found.append((f"{path}.{key}", "missing"))
            else:
                found.extend(_subset(value, got[key], f"{path}.{key}"))
        return found
    return [] if want == got else [(path, f"expected {want!r}, got {got!r}")]
