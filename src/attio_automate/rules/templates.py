"""Templates in rules: a sandboxed Jinja2 where an undefined name is an error.

Each template is compiled once, when its rules load (:class:`Templates`
keeps them for as long as that rule set lives), never while an event waits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from attio_automate.errors import TemplateProblem
from attio_automate.rules.sandbox import (
    MAX_SIZE,
    BoundedEnvironment,
    forbidden_nodes,
    iteration_budget,
    rendering,
)

__all__ = ["CONTEXT_NAMES", "TemplateProblem", "Templates", "is_template", "make_environment"]

#: Names a rule's templates may use.
CONTEXT_NAMES = frozenset(
    {"event", "actor", "object", "list", "record", "entry", "changed", "previous", "rule"}
)
_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.DOTALL)


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
    """The sandbox rules render in (bounded: see :mod:`.sandbox`): ``now()``,
    ``| add_days(n)``, ``| iso``."""
    env = BoundedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.globals["now"] = lambda: datetime.now(UTC)
    env.filters["add_days"] = _add_days
    env.filters["iso"] = _iso
    return env


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


Compiled = Callable[[Mapping[str, Any]], Any]


class Templates:
    """Compiles templates in ``env`` once and evaluates them many times.

    Every failure while rendering, whatever raised it (Jinja, the sandbox,
    a filter given the wrong kind of value), is a :class:`TemplateProblem`
    naming the template.
    """

    def __init__(self, env: SandboxedEnvironment | None = None) -> None:
        self.env = env or make_environment()
        self._compiled: dict[str, Compiled] = {}

    def check(self, text: str) -> None:
        """Raise :class:`TemplateProblem` if ``text`` does not parse or uses
        unknown names; compile it for later."""
        try:
            ast = self.env.parse(text)
            names = meta.find_undeclared_variables(ast)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(f"bad template: {exc.message}") from None
        unknown = names - CONTEXT_NAMES - set(self.env.globals)
        if unknown:
            listed = ", ".join(sorted(unknown))
            raise TemplateProblem(
                f"unknown name {listed} in template (known: {', '.join(sorted(CONTEXT_NAMES))})"
            )
        forbidden = forbidden_nodes(ast) or _private_access(ast)
        if forbidden:
            raise TemplateProblem(forbidden)
        self._compile(text)

    def evaluate(self, text: str, context: Mapping[str, Any]) -> Any:
        """The value of ``{{ expression }}`` as Python (a bool, number, list...);
        a string for text around or between expressions."""
        compiled = self._compiled.get(text) or self._compile(text)
        try:
            with iteration_budget():
                value = compiled(context)
            if isinstance(value, str | list | tuple | dict) and len(value) > MAX_SIZE:
                raise TemplateProblem(
                    f"template {text.strip()!r}: its value passes the size limit of {MAX_SIZE}"
                )
            return value
        except TemplateProblem:
            raise
        except Exception as exc:
            raise TemplateProblem(f"template {text.strip()!r}: {_explain(exc)}") from None

    def render(self, text: str, context: Mapping[str, Any]) -> str:
        """``text`` rendered as a string."""
        return str(self.evaluate(text, context)) if is_template(text) else text

    def render_params(self, params: Any, context: Mapping[str, Any]) -> Any:
        """``params`` with every template rendered; a whole ``{{ x }}`` keeps x's type."""
        if isinstance(params, Mapping):
            return {k: self.render_params(v, context) for k, v in params.items()}
        if isinstance(params, list):
            return [self.render_params(v, context) for v in params]
        if is_template(params):
            value = self.evaluate(params, context)
            return value.isoformat() if isinstance(value, datetime) else value
        return params

    def _compile(self, text: str) -> Compiled:
        try:
            compiled = self._build(text)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(f"bad template: {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise TemplateProblem(f"template {text.strip()!r}: {exc}") from None
        except Exception as exc:  # a bound met while Jinja folded constants
            raise TemplateProblem(f"template {text.strip()!r}: {_explain(exc)}") from None
        self._compiled[text] = compiled
        return compiled

    def _build(self, text: str) -> Compiled:
        match = _WHOLE_EXPRESSION.match(text)
        if match is None or "{{" in match.group(1) or "{%" in text:
            # Text around or between expressions: the result is a string.
            template = self.env.from_string(text)
            return lambda context: rendering(template.generate(**context))
        expression = self.env.compile_expression(match.group(1), undefined_to_none=False)

        def value(context: Mapping[str, Any]) -> Any:
            result = expression(**context)
            if isinstance(result, jinja2.Undefined):
                # A bare undefined name: make StrictUndefined say so now, not later.
                result._fail_with_undefined_error()
            return result

        return value


def _private_access(ast: nodes.Template) -> str | None:
    """Attributes starting with ``_`` are out of the sandbox's reach: say so
    when the rules load, not when an event comes."""
    for node in ast.find_all(nodes.Getattr):
        if node.attr.startswith("_"):
            return f"`{node.attr}`: names starting with _ are not reachable in templates"
    for item in ast.find_all(nodes.Getitem):
        if isinstance(item.arg, nodes.Const) and str(item.arg.value).startswith("_"):
            return f"`{item.arg.value}`: names starting with _ are not reachable in templates"
    return None


def _explain(exc: Exception) -> str:
    if isinstance(exc, jinja2.TemplateError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
