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

Time passes only when a case says so.  ``now:`` (an ISO date-time; the system
clock's time by default) is when the event is received; ``then:`` lists later
steps, each with its own ``expect``.  A step may change fixtures (``records:``
and ``entries:``, the record as it is by then), move the sandbox's clock on
(``advance: 14d``: the waits the rules planned that fall due by then run, each
at its due time, rechecking the rule), and send another event (``event:``)::

    then:
      - advance: 14d
        expect:
          - {rule: customer-check-in, action: create_task}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attio_automate.assembly import Plugins
from attio_automate.clock import SystemClock
from attio_automate.errors import ConfigError
from attio_automate.rules.waits import duration
from attio_automate.tooling.dryrun import DryRun, Sandbox, parse_event
from attio_automate.yamlpos import Located, YamlError, load


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
        problems.extend(_time_problems(case, ("cases", index), located, str(path)))
    if problems:
        raise ConfigError(problems)
    return list(data["cases"])


def _time_problems(
    case: Mapping[str, Any], path: tuple[str | int, ...], located: Located, filename: str
) -> list[str]:
    """What is wrong with a case's ``now:`` and ``then:`` steps."""

    def at(*sub: str | int, key: bool = False) -> str:
        line, column = located.position((*path, *sub), key=key)
        return f"{filename}:{line}:{column}"

    problems = []
    if "now" in case:
        try:
            _moment(case["now"])
        except ValueError:
            problems.append(f"{at('now')}: now: takes a date-time like 2026-12-01T09:00:00Z")
    steps = case.get("then", [])
    if not isinstance(steps, list):
        return [*problems, f"{at('then')}: 'then' must be a list of steps"]
    for n, step in enumerate(steps):
        if not isinstance(step, Mapping):
            problems.append(f"{at('then', n)}: a step must be a mapping")
            continue
        unknown = sorted(set(step) - {"advance", "records", "entries", "event", "expect", "status"})
        for key in unknown:
            problems.append(f"{at('then', n, key, key=True)}: unknown key {key!r} in a step")
        if not isinstance(step.get("expect"), list):
            problems.append(f"{at('then', n)}: a step needs 'expect', a list of actions")
        if not {"advance", "event"} & set(step):
            problems.append(f"{at('then', n)}: a step needs 'advance' (how long) or 'event'")
        if "advance" in step:
            try:
                duration(step["advance"])
            except ValueError as exc:
                problems.append(f"{at('then', n, 'advance')}: {exc}")
    return problems


def _moment(value: Any) -> float:
    from datetime import UTC, datetime

    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


async def run_case(plugins: Plugins, case: Mapping[str, Any]) -> CaseResult:
    """Run one case and its later steps in one sandbox; collect every way
    what the rules did differs from what the case expects."""
    name = str(case["name"])
    start = _moment(case["now"]) if "now" in case else SystemClock().time()
    async with Sandbox(plugins, start=start) as sandbox:
        sandbox.load(list(case.get("records", [])) + list(case.get("entries", [])))
        run = await sandbox.run(parse_event(case["event"]))
        problems = _compare([run], list(case["expect"]), case.get("status", "done"))
        for n, step in enumerate(case.get("then", []), 1):
            sandbox.load(list(step.get("records", [])) + list(step.get("entries", [])))
            runs = await sandbox.advance(duration(step["advance"])) if "advance" in step else []
            if "event" in step:
                runs.append(await sandbox.run(parse_event(step["event"])))
            found = _compare(runs, list(step["expect"]), step.get("status", "done"))
            problems.extend(f"then {n}: {problem}" for problem in found)
    return CaseResult(name, not problems, problems, run)


def _compare(runs: list[DryRun], expected: list[Any], status: str) -> list[str]:
    problems = []
    planned = [(a["source"], a["action"], a["params"]) for run in runs for a in run.actions]
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
    for run in runs:
        if run.result.status != status:
            problems.append(
                f"expected the event to end {status!r}, it ended "
                f"{run.result.status!r}: {run.result.reason}"
            )
    return problems


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
