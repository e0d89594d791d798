"""Evaluating conditions, with the reason each holds or fails."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attio_automate.rules.model import Condition, FieldCondition, Group, TemplateCondition
from attio_automate.rules.templates import Templates

_MISSING = object()


def lookup(context: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path`` (``record.name.full_name``), or None."""
    current: Any = context
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            current = _MISSING
        if current is _MISSING:
            return None
    return current


def holds(
    condition: Condition, context: Mapping[str, Any], templates: Templates
) -> tuple[bool, str]:
    """Whether ``condition`` holds, and why (raises TemplateProblem on a bad template)."""
    if isinstance(condition, TemplateCondition):
        value = templates.evaluate(condition.template, context)
        verdict = bool(value)
        return verdict, f"{condition.template.strip()} is {'true' if verdict else 'false'}"
    if isinstance(condition, Group):
        return _group(condition, context, templates)
    return _field(condition, context)


def _group(group: Group, context: Mapping[str, Any], templates: Templates) -> tuple[bool, str]:
    if group.kind == "not":
        verdict, reason = holds(group.items[0], context, templates)
        return not verdict, f"not ({reason})"
    reasons = []
    for item in group.items:
        verdict, reason = holds(item, context, templates)
        if group.kind == "any" and verdict:
            return True, f"any: {reason}"
        if group.kind == "all" and not verdict:
            return False, f"all: {reason}"
        reasons.append(reason)
    if group.kind == "any":
        return False, "none of: " + "; ".join(reasons)
    return True, "all of: " + "; ".join(reasons)


def _field(condition: FieldCondition, context: Mapping[str, Any]) -> tuple[bool, str]:
    actual = lookup(context, condition.field)
    expected = condition.value
    op = condition.operator
    shown = f"{condition.field} = {actual!r}"
    if op == "exists":
        present = actual is not None and actual != [] and actual != ""
        verdict = present == bool(expected)
        return verdict, f"{condition.field} {'exists' if present else 'does not exist'}"
    if op == "equals":
        verdict = actual == expected
        return verdict, f"{shown} {'equals' if verdict else 'does not equal'} {expected!r}"
    if op == "not_equals":
        verdict = actual != expected
        return verdict, f"{shown} {'differs from' if verdict else 'equals'} {expected!r}"
    if op == "in":
        verdict = actual in expected if isinstance(expected, list) else False
        return verdict, f"{shown} {'is' if verdict else 'is not'} in {expected!r}"
    if op == "contains":
        verdict = _contains(actual, expected)
        return verdict, f"{shown} {'contains' if verdict else 'does not contain'} {expected!r}"
    if op == "matches":
        verdict = (
            isinstance(actual, str)
            and condition.pattern is not None
            and condition.pattern.search(actual) is not None
        )
        return verdict, f"{shown} {'matches' if verdict else 'does not match'} /{expected}/"
    verdict = _compare(actual, expected, op)
    word = "greater than" if op == "gt" else "less than"
    return verdict, f"{shown} {'is' if verdict else 'is not'} {word} {expected!r}"


def _contains(actual: Any, expected: Any) -> bool:
    """Substring for text (ignoring case), membership for lists."""
    if isinstance(actual, str):
        return isinstance(expected, str) and expected.casefold() in actual.casefold()
    if isinstance(actual, list):
        folded = expected.casefold() if isinstance(expected, str) else expected
        return any((a.casefold() if isinstance(a, str) else a) == folded for a in actual)
    return False


def _compare(actual: Any, expected: Any, op: str) -> bool:
    numbers = (int, float)
    both_numbers = (
        isinstance(actual, numbers)
        and isinstance(expected, numbers)
        and not isinstance(actual, bool)
    )
    both_text = isinstance(actual, str) and isinstance(expected, str)
    if not (both_numbers or both_text):
        return False
    return bool(actual > expected) if op == "gt" else bool(actual < expected)
