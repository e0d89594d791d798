"""Templates in rules: a sandboxed Jinja2 where an undefined name is an error."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

#: Names a rule's templates may use.
CONTEXT_NAMES = frozenset(
    {"event", "actor", "object", "list", "record", "entry", "changed", "previous", "rule"}
)
_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.DOTALL)


class TemplateProblem(Exception):
    """A template that does not parse, names something unknown, or fails to render."""


def _add_days(value: Any, days: float) -> datetime:
    moment = (
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if not isinstance(value, datetime)
        else value
    )
    return moment + timedelta(days=days)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        moment: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return str(value)


def make_environment() -> SandboxedEnvironment:
    """The sandbox rules render in: ``now()``, ``| add_days(n)``, ``| iso``."""
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.globals["now"] = lambda: datetime.now(UTC)
    env.filters["add_days"] = _add_days
    env.filters["iso"] = _iso
    return env


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def check(env: SandboxedEnvironment, text: str) -> None:
    """Raise :class:`TemplateProblem` if ``text`` does not parse or uses unknown names."""
    try:
        ast = env.parse(text)
        # Compiling finds unknown filters and tests too.
        names = meta.find_undeclared_variables(ast)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"bad template: {exc.message}") from None
    unknown = names - CONTEXT_NAMES - set(env.globals)
    if unknown:
        listed = ", ".join(sorted(unknown))
        raise TemplateProblem(
            f"unknown name {listed} in template (known: {', '.join(sorted(CONTEXT_NAMES))})"
        )


def evaluate(env: SandboxedEnvironment, text: str, context: Mapping[str, Any]) -> Any:
    """The value of ``{{ expression }}`` as Python (a bool, number, list...)."""
    match = _WHOLE_EXPRESSION.match(text)
    if match is None or "{{" in match.group(1) or "{%" in text:
        # Text around or between expressions: the result is a string.
        return render(env, text, context)
    try:
        value = env.compile_expression(match.group(1), undefined_to_none=False)(**context)
        if isinstance(value, jinja2.Undefined):
            # A bare undefined name: make StrictUndefined say so now, not later.
            value._fail_with_undefined_error()
        return value
    except jinja2.TemplateError as exc:
        raise TemplateProblem(f"template {text.strip()!r}: {exc}") from None


def render(env: SandboxedEnvironment, text: str, context: Mapping[str, Any]) -> str:
    try:
        return str(env.from_string(text).render(**context))
    except jinja2.TemplateError as exc:
        raise TemplateProblem(f"template {text.strip()!r}: {exc}") from None


def render_params(env: SandboxedEnvironment, params: Any, context: Mapping[str, Any]) -> Any:
    """``params`` with every template rendered; a whole ``{{ x }}`` keeps x's type."""
    if isinstance(params, Mapping):
        return {k: render_params(env, v, context) for k, v in params.items()}
    if isinstance(params, list):
        return [render_params(env, v, context) for v in params]
    if is_template(params):
        value = evaluate(env, params, context)
        return value.isoformat() if isinstance(value, datetime) else value
    return params
