"""Templates cannot ask for unbounded memory or time, at render or at check."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import jinja2
import pytest

from attio_automate.errors import TemplateProblem
from attio_automate.rules.model import ActionCall
from attio_automate.rules.sandbox import MAX_SIZE
from attio_automate.rules.templates import Templates, make_environment

CONTEXT: dict[str, Any] = {"record": {"job_title": "Founder", "tags": ["a", "b"]}}


def render(text: str) -> Any:
    templates = Templates()
    templates.check(text)
    return templates.evaluate(text, CONTEXT)


@pytest.mark.parametrize(
    "text",
    [
        "{{ record.job_title * 10**8 }}",
        "{{ 'a' * 10**9 }}",
        "{{ 'a' * 1000000000 }}",
        "{{ record.tags * 1000000 }}",
        "{{ 7 ** 100000 }}",
        "{{ '%1000000000d' % 1 }}",
        "{{ 'a' | center(1000000000) }}",
        "{{ record.job_title | center(1000000000) }}",
        "{{ record.job_title.ljust(1000000000) }}",
        "{{ record.job_title | indent(1000000000) }}",
        "{{ ('a' * 10000) | replace('a', 'a' * 10000) }}",
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "{% for a in range(90000) %}{{ a }}{% endfor %}",
    ],
)
def test_huge_results_are_refused_quickly(text: str) -> None:
    started = time.process_time()
    with pytest.raises(TemplateProblem):
        render(text)
    assert time.process_time() - started < 1.0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ lipsum(1000) }}", "unknown name lipsum"),
        ("{% set ns = namespace(x='a') %}{{ ns.x }}", "unknown name namespace"),
        ("{% macro f(x) %}{{ f(x ~ x) }}{% endmacro %}{{ f('a') }}", "macros are not allowed"),
        ("{{ record.__class__ }}", "`__class__`: names starting with _"),
        ("{{ record['_secret'] }}", "`_secret`: names starting with _"),
    ],
)
def test_what_rules_may_not_use_is_refused_when_they_load(text: str, problem: str) -> None:
    with pytest.raises(TemplateProblem, match=problem):
        Templates().check(text)


def test_ordinary_templates_still_work() -> None:
    assert render("{{ record.job_title * 2 }}") == "FounderFounder"
    assert render("{{ 2 ** 10 }}") == 1024
    assert render("{{ '%05d' % 42 }}") == "00042"
    assert render("{% for t in record.tags %}{{ t }}{% endfor %}") == "ab"
    assert render("{{ record.job_title | center(11) }}") == "  Founder  "
    assert len(render("{{ 'x' * " + str(MAX_SIZE) + " }}")) == MAX_SIZE
    assert render("{% for a in range(3) %}{{ a }}{% endfor %}") == "012"


def test_templates_compile_when_the_rules_load_never_per_event() -> None:
    from attio_automate.assembly import load_plugins
    from attio_automate.examples import example_path
    from attio_automate.rules.loader import load_rules_file
    from attio_automate.rules.sandbox import BoundedEnvironment

    class Counting(BoundedEnvironment):
        compiled = 0

        def _compile(self, source: str, filename: str) -> Any:
            Counting.compiled += 1
            return super()._compile(source, filename)

    base = make_environment()
    env = Counting(undefined=jinja2.StrictUndefined, autoescape=False)
    env.globals.update(base.globals)
    env.filters.update(base.filters)
    registry = load_plugins(entry_points=False).actions
    rules = load_rules_file(example_path(), registry=registry, compiler=Templates(env))
    at_load = Counting.compiled
    assert at_load > 0
    context = {
        "record": {"job_title": "Founder", "name": {"full_name": "Ada"}, "email_addresses": []},
        "previous": "Lead",
        "rule": {"id": "x", "description": ""},
        "now": lambda: __import__("datetime").datetime(2026, 1, 1),
    }
    for rule in rules.rules:
        for call in rule.do:
            if not isinstance(call, ActionCall):
                continue
            # A name this context lacks may fail; compiling is what is counted.
            with contextlib.suppress(TemplateProblem):
                rules.templates.render_params(call.params, context)
    assert Counting.compiled == at_load
