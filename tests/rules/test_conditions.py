from __future__ import annotations

from typing import Any

import pytest

from attio_automate.rules.conditions import holds, lookup
from attio_automate.rules.model import FieldCondition, Group, TemplateCondition
from attio_automate.rules.templates import TemplateProblem, Templates

ENV = Templates()
CONTEXT: dict[str, Any] = {
    "record": {
        "job_title": "Co-Founder & CEO",
        "email_addresses": ["a@x.io", "b@y.io"],
        "value": 1200,
        "name": {"full_name": "Ada Lovelace"},
        "stage": None,
    },
    "changed": "stage",
    "previous": "Lead",
}


def field(path: str, op: str, value: Any) -> FieldCondition:
    import re

    return FieldCondition(path, op, value, re.compile(value) if op == "matches" else None)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (field("record.job_title", "contains", "founder"), True),
        (field("record.email_addresses", "contains", "B@Y.IO"), True),
        (field("record.email_addresses", "contains", "c@z.io"), False),
        (field("record.job_title", "equals", "Co-Founder & CEO"), True),
        (field("record.job_title", "not_equals", "CEO"), True),
        (field("previous", "in", ["Lead", "Qualified"]), True),
        (field("record.job_title", "matches", r"^Co-"), True),
        (field("record.value", "gt", 1000), True),
        (field("record.value", "lt", 1000), False),
        (field("record.value", "gt", "1000"), False),
        (field("record.stage", "exists", False), True),
        (field("record.missing.deeper", "exists", False), True),
        (field("record.email_addresses.1", "equals", "b@y.io"), True),
        (TemplateCondition("{{ record.email_addresses | length > 1 }}"), True),
        (Group("any", (field("record.value", "lt", 5), field("changed", "equals", "stage"))), True),
        (
            Group("all", (field("record.value", "lt", 5), field("changed", "equals", "stage"))),
            False,
        ),
        (Group("not", (field("changed", "equals", "stage"),)), False),
    ],
)
def test_operators(condition: Any, expected: bool) -> None:
    verdict, reason = holds(condition, CONTEXT, ENV)
    assert verdict is expected
    assert reason


def test_reasons_say_what_was_compared() -> None:
    verdict, reason = holds(field("record.job_title", "contains", "Engineer"), CONTEXT, ENV)
    assert not verdict
    assert reason == "record.job_title = 'Co-Founder & CEO' does not contain 'Engineer'"


def test_undefined_names_in_templates_are_errors() -> None:
    with pytest.raises(TemplateProblem, match="nickname"):
        holds(TemplateCondition("{{ record.nickname }}"), CONTEXT, ENV)
    with pytest.raises(TemplateProblem):
        ENV.render_params({"title": "Hi {{ record.nickname }}"}, CONTEXT)


def test_the_sandbox_refuses_unsafe_attribute_access() -> None:
    with pytest.raises(TemplateProblem):
        ENV.render_params({"x": "{{ record.__class__.__mro__ }}"}, CONTEXT)


def test_whole_expressions_keep_their_type() -> None:
    rendered = ENV.render_params(
        {
            "n": "{{ record.value * 2 }}",
            "s": "v={{ record.value }}",
            "both": "{{ changed }} → {{ previous }}",
            "list": ["{{ record.email_addresses }}"],
            "plain": 3,
        },
        CONTEXT,
    )
    assert rendered == {
        "n": 2400,
        "s": "v=1200",
        "both": "stage → Lead",
        "list": [["a@x.io", "b@y.io"]],
        "plain": 3,
    }


def test_lookup() -> None:
    assert lookup(CONTEXT, "record.name.full_name") == "Ada Lovelace"
    assert lookup(CONTEXT, "record.email_addresses.5") is None
