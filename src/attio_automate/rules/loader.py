"""Loading a rules file: YAML, then the JSON Schema, then meaning.

Every problem is reported as ``FILE:LINE:COL: message`` and all of them are
reported at once; a file with any problem yields no rules at all.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from attio_automate.actions.registry import ActionRegistry
from attio_automate.errors import ConfigError
from attio_automate.rules import schedules, templates, waits
from attio_automate.rules.model import (
    ActionCall,
    CancelOn,
    Condition,
    FieldCondition,
    Group,
    Query,
    Rule,
    RuleSet,
    Schedule,
    Step,
    TemplateCondition,
    WaitStep,
)
from attio_automate.rules.schema import OPERATORS, RULES_SCHEMA
from attio_automate.rules.templates import Templates
from attio_automate.yamlpos import Located, YamlError, load

_VALIDATOR = Draft202012Validator(RULES_SCHEMA)
_FIELD_ROOTS = templates.CONTEXT_NAMES - {"rule"}


class _Problems:
    def __init__(self, filename: str, located: Located) -> None:
        self.filename = filename
        self.located = located
        self.items: list[tuple[int, int, str]] = []

    def add(self, path: tuple[str | int, ...], message: str, *, key: bool = False) -> None:
        line, column = self.located.position(path, key=key)
        self.items.append((line, column, message))

    def lines(self) -> list[str]:
        return [
            f"{self.filename}:{line}:{column}: {message}"
            for line, column, message in sorted(set(self.items))
        ]


def load_rules_file(
    path: str | Path, *, registry: ActionRegistry, compiler: Templates | None = None
) -> RuleSet:
    """Load and check the rules in ``path``; raise :class:`ConfigError` on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}:1:1: not UTF-8 text"]) from None
    return load_rules(text, filename=str(path), registry=registry, compiler=compiler)


def load_rules(
    text: str,
    *,
    filename: str = "<rules>",
    registry: ActionRegistry,
    compiler: Templates | None = None,
) -> RuleSet:
    """Load and check rules from YAML ``text``; their templates are compiled
    into ``compiler`` (a new one by default), which the rule set keeps."""
    try:
        located = load(text)
    except YamlError as exc:
        raise ConfigError([f"{filename}:{exc.line}:{exc.column}: {exc.message}"]) from None
    problems = _Problems(filename, located)
    data = located.data
    if data is None:
        problems.add((), "the file is empty: expected 'version: 1' and 'rules:'")
        raise ConfigError(problems.lines())
    broken: set[int] = set()
    for error in _VALIDATOR.iter_errors(data):
        _schema_problem(error, problems)
        path = list(error.absolute_path)
        broken.add(path[1] if len(path) > 1 and path[0] == "rules" else -1)
    if -1 in broken:
        raise ConfigError(problems.lines())
    # Rules that passed the schema are checked further, so one run reports all.
    candidates = [(i, r) for i, r in enumerate(data["rules"]) if i not in broken]
    compiler = compiler or Templates()
    rules = _compile(candidates, problems, registry, compiler)
    if problems.items:
        raise ConfigError(problems.lines())
    used = frozenset(
        call.action for rule in rules for call in rule.do if isinstance(call, ActionCall)
    )
    return RuleSet(tuple(rules), filename, used, compiler)


def _schema_problem(error: ValidationError, problems: _Problems) -> None:
    if _field_condition_problem(error, problems) or _wait_problem(error, problems):
        return
    if error.validator in ("anyOf", "oneOf") and error.context:
        deepest = best_match(error.context)
        if len(deepest.absolute_path) > 0 or deepest.validator != "type":
            error = deepest
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        schema = error.schema if isinstance(error.schema, dict) else {}
        allowed = set(schema.get("properties", {}))
        for key in error.instance:
            if key not in allowed:
                problems.add(
                    (*path, key),
                    f"unknown key {key!r} (expected one of: {', '.join(sorted(allowed))})",
                    key=True,
                )
        return
    if error.validator == "required":
        problems.add(path, f"missing {error.message.split(' is a required')[0]}")
        return
    where = ".".join(str(p) for p in path) or "the file"
    problems.add(path, f"{where}: {error.message}")


def _wait_problem(error: ValidationError, problems: _Problems) -> bool:
    """Say what is wrong with a step meant as a wait (the schema would say
    what an action step lacks); False when ``error`` is about something else."""
    instance = error.instance
    if (
        error.validator != "anyOf"
        or not isinstance(instance, dict)
        or "action" in instance
        or not {"wait", "until"} & set(instance)
    ):
        return False
    path = tuple(error.absolute_path)
    unknown = sorted(set(instance) - {"wait", "until", "timezone"})
    if unknown:
        for key in unknown:
            problems.add((*path, key), f"unknown key {key!r} in a wait", key=True)
    elif {"wait", "until"} <= set(instance):
        problems.add(path, "a wait takes wait: (how long) or until: (when), not both")
    elif "wait" in instance:
        problems.add((*path, "wait"), "wait: takes a duration like 7d or a number of seconds")
    else:
        problems.add((*path, "until"), "until: takes a date or date-time (a template)")
    return True


def _field_condition_problem(error: ValidationError, problems: _Problems) -> bool:
    """Say what is wrong with a condition meant as ``field:`` + operator in the
    user's words (the schema's would be about the other shapes a condition
    may take); False when ``error`` is about something else."""
    instance = error.instance
    if error.validator != "anyOf" or not isinstance(instance, dict) or "field" not in instance:
        return False
    path = tuple(error.absolute_path)
    others = [k for k in instance if k != "field"]
    unknown = [k for k in others if k not in OPERATORS]
    for key in unknown:
        close = difflib.get_close_matches(str(key), OPERATORS, n=1)
        hint = f", did you mean `{close[0]}`?" if close else f" (one of: {', '.join(OPERATORS)})"
        problems.add((*path, key), f"unknown operator `{key}`{hint}", key=True)
    operators = [k for k in others if k in OPERATORS]
    if not unknown and not operators:
        problems.add(path, f"a field condition needs an operator: {', '.join(OPERATORS)}")
    elif len(operators) > 1:
        problems.add(path, f"one operator per condition, not {len(operators)}: use all: [...]")
    elif not isinstance(instance["field"], str) or not instance["field"]:
        problems.add((*path, "field"), "field must be a dotted path like record.job_title")
    return bool(unknown or len(operators) != 1 or not isinstance(instance["field"], str))


def _compile(
    raw_rules: list[tuple[int, dict[str, Any]]],
    problems: _Problems,
    registry: ActionRegistry,
    compiler: Templates,
) -> list[Rule]:
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, raw in raw_rules:
        base: tuple[str | int, ...] = ("rules", index)
        rule_id = raw["id"]
        if rule_id in seen:
            line, _ = problems.located.position(("rules", seen[rule_id], "id"))
            problems.add((*base, "id"), f"duplicate rule id {rule_id!r} (first at line {line})")
        seen.setdefault(rule_id, index)
        on = raw.get("on", ())
        when = tuple(
            _condition(c, (*base, "when", i), problems, compiler)
            for i, c in enumerate(raw.get("when", []))
        )
        calls: list[Step] = []
        for i, step in enumerate(raw["do"]):
            where = (*base, "do", i)
            if "action" not in step:
                calls.append(_wait(step, where, problems, compiler))
                continue
            params = step.get("with", {})
            if step["action"] == "wait":
                problems.add(
                    (*where, "action"),
                    "a wait is a step of its own: write `- wait: 7d` or `- until: <date>`",
                )
                continue
            for sub_path, message in registry.check(step["action"], params, templated=True):
                target = (
                    (*where, "action")
                    if not sub_path and "unknown action" in message
                    else (*where, "with", *sub_path)
                )
                problems.add(target, f"action {step['action']!r}: {message}")
            _check_templates(params, (*where, "with"), problems, compiler)
            calls.append(ActionCall(step["action"], params))
        line, column = problems.located.position(base)
        rules.append(
            Rule(
                id=rule_id,
                on=(on,) if isinstance(on, str) else tuple(on),
                description=raw.get("description", ""),
                object=raw.get("object"),
                list=raw.get("list"),
                enabled=raw.get("enabled", True),
                when=when,
                do=tuple(calls),
                recheck=raw.get("recheck", True),
                cancel_on=_cancel_on(
                    raw.get("cancel_on"), (*base, "cancel_on"), problems, compiler
                ),
                on_retrigger=raw.get("on_retrigger", "replace"),
                schedule=_schedule(raw, base, problems),
                origin=f"{problems.filename}:{line}:{column}",
            )
        )
    return rules


def _schedule(
    raw: dict[str, Any], path: tuple[str | int, ...], problems: _Problems
) -> Schedule | None:
    if "schedule" not in raw:
        for key in ("timezone", "query", "catch_up"):
            if key in raw:
                problems.add((*path, key), f"{key}: belongs with schedule:")
        return None
    if "query" not in raw:
        problems.add((*path, "schedule"), "a schedule needs a query: (the records it runs on)")
        return None
    problem = schedules.check_cron(raw["schedule"])
    if problem:
        problems.add((*path, "schedule"), problem)
    timezone = raw.get("timezone", "UTC")
    try:
        waits.zone(timezone)
    except ValueError as exc:
        problems.add((*path, "timezone"), str(exc))
    query = raw["query"]
    if len({"object", "list"} & set(query)) != 1:
        problems.add(
            (*path, "query"), "a query names an object: (its records) or a list: (its entries)"
        )
    sorts = query.get("sorts")
    return Schedule(
        cron=raw["schedule"],
        timezone=timezone,
        catch_up=raw.get("catch_up", True),
        query=Query(
            object=query.get("object"),
            list=query.get("list"),
            filter=query.get("filter"),
            sorts=tuple(sorts) if sorts is not None else None,
            limit=query.get("limit"),
        ),
    )


def _cancel_on(
    raw: dict[str, Any] | None,
    path: tuple[str | int, ...],
    problems: _Problems,
    compiler: Templates,
) -> CancelOn | None:
    if raw is None:
        return None
    on = raw["on"]
    when = tuple(
        _condition(c, (*path, "when", i), problems, compiler)
        for i, c in enumerate(raw.get("when", []))
    )
    return CancelOn((on,) if isinstance(on, str) else tuple(on), when)


def _wait(
    raw: dict[str, Any], path: tuple[str | int, ...], problems: _Problems, compiler: Templates
) -> WaitStep:
    timezone = raw.get("timezone", "UTC")
    try:
        waits.zone(timezone)
    except ValueError as exc:
        problems.add((*path, "timezone"), str(exc))
        timezone = "UTC"  # one problem said once: the until: below is read in UTC
    if "until" in raw:
        _check_template(raw["until"], (*path, "until"), problems, compiler)
        if not templates.is_template(raw["until"]):
            # A fixed moment is checked now, not when the first event needs it.
            try:
                waits.moment(str(raw["until"]), timezone, 0.0)
            except templates.TemplateProblem as exc:
                problems.add((*path, "until"), str(exc))
        return WaitStep(until=raw["until"], timezone=timezone)
    try:
        seconds = waits.duration(raw["wait"])
    except ValueError as exc:
        problems.add((*path, "wait"), str(exc))
        seconds = 0.0
    return WaitStep(seconds=seconds, timezone=timezone)


def _condition(
    raw: Any, path: tuple[str | int, ...], problems: _Problems, compiler: Templates
) -> Condition:
    if isinstance(raw, str):
        _check_template(raw, path, problems, compiler)
        return TemplateCondition(raw)
    for kind in ("any", "all"):
        if kind in raw:
            return Group(
                kind,
                tuple(
                    _condition(c, (*path, kind, i), problems, compiler)
                    for i, c in enumerate(raw[kind])
                ),
            )
    if "not" in raw:
        return Group("not", (_condition(raw["not"], (*path, "not"), problems, compiler),))
    operator = next(op for op in OPERATORS if op in raw)
    field_path = raw["field"]
    root = field_path.split(".", 1)[0]
    if root not in _FIELD_ROOTS:
        problems.add(
            (*path, "field"),
            f"field {field_path!r} must start with one of: {', '.join(sorted(_FIELD_ROOTS))}",
        )
    value = raw[operator]
    pattern = None
    if operator == "matches":
        try:
            pattern = re.compile(str(value))
        except re.error as exc:
            problems.add((*path, operator), f"bad regular expression: {exc}")
    elif operator == "in" and not isinstance(value, list):
        problems.add((*path, operator), "'in' takes a list")
    elif operator == "exists" and not isinstance(value, bool):
        problems.add((*path, operator), "'exists' takes true or false")
    return FieldCondition(field_path, operator, value, pattern)


def _check_templates(
    value: Any, path: tuple[str | int, ...], problems: _Problems, compiler: Templates
) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _check_templates(sub, (*path, key), problems, compiler)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            _check_templates(sub, (*path, i), problems, compiler)
    elif templates.is_template(value):
        _check_template(value, path, problems, compiler)


def _check_template(
    text: str, path: tuple[str | int, ...], problems: _Problems, compiler: Templates
) -> None:
    try:
        compiler.check(text)
    except templates.TemplateProblem as exc:
        problems.add(path, str(exc))
