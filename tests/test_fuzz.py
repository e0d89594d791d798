"""Property-based tests: whatever arrives, the parsers answer with a value or
their own clear error, never a crash, and never store what a store refuses.

Derandomized (the same examples every run), so the suite's verdict does not
depend on luck; a new seed is a one-line change when hunting.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attio_automate.assembly import load_plugins
from attio_automate.delivery import WebhookRejected, parse_delivery, sign
from attio_automate.errors import ConfigError, TemplateProblem
from attio_automate.rules.loader import load_rules
from attio_automate.rules.templates import Templates
from attio_automate.testing.fake import FakeAttio
from attio_automate.testing.fake.model import FakeAttioError
from attio_automate.yamlpos import YamlError, load

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

#: Any text, lone surrogates and NUL included (what a JSON escape can carry).
any_text = st.text(st.characters(exclude_categories=[]), max_size=12)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


E = TypeVar("E", bound=BaseException)
T = TypeVar("T")


def attempt(expected: type[E], call: Callable[[], T]) -> tuple[T | None, E | None]:
    """``call()``'s value, or the ``expected`` error it raised (any other
    exception fails the test, as it should)."""
    try:
        return call(), None
    except expected as error:
        return None, error


def _stored_fine(payload: Any) -> None:
    """What a delivery hands the store can be kept by both stores: JSON
    without NaN, and text without NUL or lone surrogates (JSONB refuses both)."""
    json.dumps(payload, allow_nan=False)
    stack = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            assert "\x00" not in item
            item.encode("utf-8")
        elif isinstance(item, dict):
            stack.extend([*item.keys(), *item.values()])
        elif isinstance(item, list):
            stack.extend(item)


@FUZZ
@given(body=st.binary(max_size=400))
def test_any_bytes_are_events_or_a_clear_refusal(body: bytes) -> None:
    events, rejected = attempt(
        WebhookRejected,
        lambda: parse_delivery(
            {"attio-signature": sign(body, "s")}, body, secrets=["s"], received_at=1.0
        ),
    )
    if rejected is not None:
        assert rejected.status in (400, 401, 413)
        return
    for event in events or []:
        _stored_fine(dict(event.payload))


event_shapes = st.fixed_dictionaries(
    {
        "event_type": st.text(min_size=1, max_size=20),
        "id": st.dictionaries(any_text, json_values, max_size=4),
    },
    optional={"actor": st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=3)},
)


@FUZZ
@given(events=st.lists(event_shapes | json_values, max_size=3))
def test_any_envelope_is_events_or_a_clear_refusal(events: list[Any]) -> None:
    body = json.dumps({"events": events}).encode()  # NaN and lone surrogates pass dumps
    parsed, rejected = attempt(
        WebhookRejected,
        lambda: parse_delivery(
            {"attio-signature": sign(body, "s")}, body, secrets=["s"], received_at=1.0
        ),
    )
    if rejected is not None:
        assert rejected.status == 400
        return
    assert parsed is not None
    assert len(parsed) == len(events)
    for event in parsed:
        _stored_fine(dict(event.payload))


yaml_text = st.text(
    alphabet=string.ascii_letters + string.digits + " :-[]{}&*!|>'\"#,.\n\t%@`?",
    max_size=200,
)


@FUZZ
@given(text=yaml_text)
def test_any_text_is_yaml_or_a_located_error(text: str) -> None:
    _, error = attempt(YamlError, lambda: load(text))
    if error is not None:
        assert error.line >= 1
        assert error.column >= 1


_REGISTRY = load_plugins(entry_points=False).actions

rule_fragments = st.sampled_from(
    [
        "version: 1\n",
        "rules:\n",
        "  - id: r\n",
        "    on: record.created\n",
        "    on: [record.*]\n",
        "    object: people\n",
        "    when:\n",
        "      - field: record.job_title\n",
        "        contains: Founder\n",
        "        contain: x\n",
        "      - '{{ record.x * 10 }}'\n",
        "    do:\n",
        "      - action: add_note\n",
        "        with: {title: t, content: '{{ record.name }}'}\n",
        "        with: {title: 3}\n",
        "      - action: nope\n",
        "  - &a x\n",
        "  - *a\n",
        "[[[[\n",
        "    enabled: maybe\n",
    ]
)


@FUZZ
@given(parts=st.lists(rule_fragments, max_size=12))
def test_any_rules_file_loads_or_names_its_problems(parts: list[str]) -> None:
    _, error = attempt(
        ConfigError, lambda: load_rules("".join(parts), filename="r.yaml", registry=_REGISTRY)
    )
    if error is not None:
        assert error.problems
        assert all(p.startswith("r.yaml") for p in error.problems)


template_pieces = st.sampled_from(
    [
        "{{ ",
        " }}",
        "{% for x in range(1000) %}",
        "{% endfor %}",
        "{% if record %}",
        "{% endif %}",
        "record.job_title",
        "record.tags",
        " * ",
        " ** ",
        " % ",
        " ~ ",
        "99999",
        "'ab'",
        " | center(99999)",
        " | add_days(1)",
        " | iso",
        " | length",
        ".ljust(99999)",
        "now()",
        "(",
        ")",
        "[0]",
        "__class__",
        "text",
    ]
)


@FUZZ
@given(pieces=st.lists(template_pieces, max_size=10))
def test_any_template_renders_or_is_a_template_problem(pieces: list[str]) -> None:
    text = "".join(pieces)
    templates = Templates()
    context = {"record": {"job_title": "Founder", "tags": ["a", "b"]}}
    try:
        templates.check(text)
        value = templates.evaluate(text, context)
    except TemplateProblem:
        return
    if isinstance(value, str | list):
        assert len(value) <= 100_000


_FAKE = FakeAttio()


@FUZZ
@given(
    obj=st.sampled_from(["people", "companies", "deals"]),
    values=st.dictionaries(
        st.sampled_from(
            ["name", "email_addresses", "job_title", "domains", "stage", "value", "company", "x"]
        ),
        json_values,
        max_size=3,
    ),
)
def test_the_fakes_value_parsing_answers_like_attio(obj: str, values: dict[str, Any]) -> None:
    workspace = _FAKE.workspace
    _, error = attempt(
        FakeAttioError, lambda: workspace.parse_values(workspace.get_object(obj), values)
    )
    if error is not None:
        assert 400 <= error.status_code < 500
