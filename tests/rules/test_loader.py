"""Rules files: every problem named with FILE:LINE:COL, all at once."""

from __future__ import annotations

import pytest

from attio_automate.assembly import load_plugins
from attio_automate.errors import ConfigError
from attio_automate.examples import example_path
from attio_automate.rules.loader import load_rules, load_rules_file


@pytest.fixture(scope="module")
def registry():  # type: ignore[no-untyped-def]
    return load_plugins(entry_points=False).actions


def problems(text: str, registry) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as caught:
        load_rules(text, filename="r.yaml", registry=registry)
    return caught.value.problems


GOOD = """\
version: 1
rules:
  - id: one
    on: record.created
    object: people
    when:
      - field: record.job_title
        contains: Founder
    do:
      - action: add_note
        with: {title: Hi, content: "{{ record.name.full_name }}"}
"""


def test_the_example_rules_load(registry) -> None:  # type: ignore[no-untyped-def]
    rules = load_rules_file(example_path(), registry=registry)
    assert len(rules.rules) >= 5
    assert {
        "upsert_record",
        "update_record",
        "add_to_list",
        "add_note",
        "create_task",
    } <= rules.actions_used


def test_a_good_file_loads_with_on_read_as_text(registry) -> None:  # type: ignore[no-untyped-def]
    rules = load_rules(GOOD, registry=registry)
    assert rules.rules[0].on == ("record.created",)
    assert rules.rules[0].origin == "<rules>:3:5"


def test_unknown_action_points_at_the_action(registry) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("action: add_note", "action: add_note_typo")
    assert problems(text, registry) == [
        "r.yaml:10:17: action 'add_note_typo': unknown action 'add_note_typo' (known: "
        "add_note, add_to_list, cancel_waits, complete_task, create_task, update_entry, "
        "update_record, upsert_record, wait)"
    ]


def test_bad_parameter_points_at_the_parameter(registry) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("{title: Hi,", "{title: 3, colour: red,")
    found = problems(text, registry)
    assert (
        "r.yaml:11:15: action 'add_note': Additional properties are not allowed "
        "('colour' was unexpected)" in found
    )
    assert "r.yaml:11:23: action 'add_note': 3 is not of type 'string'" in found


def test_bad_template_and_unknown_name(registry) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("{{ record.name.full_name }}", "{{ record.name.full_name")
    assert problems(text, registry)[0].startswith("r.yaml:11:36: bad template:")
    text = GOOD.replace("record.name.full_name", "recrod.name")
    assert problems(text, registry) == [
        "r.yaml:11:36: unknown name recrod in template (known: actor, changed, entry, event, "
        "list, object, previous, record, rule)"
    ]


def test_duplicate_rule_id(registry) -> None:  # type: ignore[no-untyped-def]
    text = GOOD + GOOD.split("rules:\n", 1)[1]
    assert problems(text, registry) == ["r.yaml:12:9: duplicate rule id 'one' (first at line 3)"]


def test_unknown_key_points_at_the_key(registry) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("    object: people\n", "    object: people\n    colour: red\n")
    assert problems(text, registry) == [
        "r.yaml:6:5: unknown key 'colour' (expected one of: cancel_on, catch_up, description, "
        "do, enabled, id, list, object, on, on_retrigger, query, recheck, schedule, timezone, "
        "when)"
    ]


def test_missing_keys_and_bad_shapes(registry) -> None:  # type: ignore[no-untyped-def]
    assert problems("version: 1\nrules:\n  - id: x\n    do: []\n", registry) == [
        "r.yaml:3:5: missing 'on'"
    ]
    assert problems("version: 2\nrules: []\n", registry) == ["r.yaml:1:10: version: 1 was expected"]
    assert problems("", registry) == [
        "r.yaml:1:1: the file is empty: expected 'version: 1' and 'rules:'"
    ]


def test_bad_conditions(registry) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("contains: Founder", "matches: '(unclosed'")
    assert problems(text, registry)[0].startswith("r.yaml:8:18: bad regular expression")
    text = GOOD.replace("field: record.job_title", "field: nothing.job_title")
    assert problems(text, registry)[0].startswith(
        "r.yaml:7:16: field 'nothing.job_title' must start with one of"
    )
    text = GOOD.replace("contains: Founder", "contains: Founder\n        equals: x")
    assert problems(text, registry)[0].startswith("r.yaml:7:9:")


def test_yaml_syntax_errors_have_positions(registry) -> None:  # type: ignore[no-untyped-def]
    found = problems("version: 1\nrules:\n  - id: x\n    on: [a\n", registry)
    assert found[0].startswith("r.yaml:5:1: invalid YAML")
    found = problems("version: 1\nversion: 1\n", registry)
    assert found == ["r.yaml:2:1: duplicate key 'version'"]


def test_unreadable_file_is_a_config_error(tmp_path, registry) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="cannot read"):
        load_rules_file(tmp_path / "missing.yaml", registry=registry)


def test_a_misspelled_operator_is_named_with_a_suggestion(registry) -> None:  # type: ignore[no-untyped-def]
    typo = GOOD.replace("contains: Founder", "contain: Founder")
    assert problems(typo, registry) == [
        "r.yaml:8:9: unknown operator `contain`, did you mean `contains`?"
    ]
    nonsense = GOOD.replace("contains: Founder", "resembles: Founder")
    assert problems(nonsense, registry) == [
        "r.yaml:8:9: unknown operator `resembles` (one of: equals, not_equals, in, contains, "
        "matches, exists, gt, lt)"
    ]
    two = GOOD.replace("contains: Founder", "contains: Founder\n        equals: CEO")
    assert problems(two, registry) == [
        "r.yaml:7:9: one operator per condition, not 2: use all: [...]"
    ]
    none = GOOD.replace("        contains: Founder\n", "")
    assert problems(none, registry) == [
        "r.yaml:7:9: a field condition needs an operator: equals, not_equals, in, contains, "
        "matches, exists, gt, lt"
    ]


def test_a_template_error_of_any_kind_is_kept_to_its_rule(registry) -> None:  # type: ignore[no-untyped-def]
    from attio_automate.bus.context import EventContext
    from attio_automate.events import AttioEvent
    from attio_automate.rules.engine import RulesEngine

    text = GOOD.replace("{{ record.name.full_name }}", "{{ record.job_title | add_days(1) }}")
    text += GOOD.split("rules:\n", 1)[1].replace("id: one", "id: two")
    engine = RulesEngine(load_rules(text, filename="r.yaml", registry=registry))
    ctx = EventContext(
        event=AttioEvent("record.created", {}),
        key="k",
        attio=None,  # type: ignore[arg-type]
        schema=None,  # type: ignore[arg-type]
        object="people",
        record={"job_title": "Founder", "name": {"full_name": "Ada"}},
    )
    one, two = engine.decide(ctx)
    assert (one.rule, one.matched) == ("one", False)
    assert one.error is not None
    assert "ValueError" in one.error
    assert (two.rule, two.matched, two.error) == ("two", True, None)


def test_a_query_names_an_object_or_a_list(registry) -> None:  # type: ignore[no-untyped-def]
    def scheduled(query: str) -> str:
        return (
            "version: 1\nrules:\n  - id: s\n    schedule: '0 9 * * *'\n"
            f"    query: {query}\n    do: []\n"
        )

    (rule,) = load_rules(scheduled("{list: sales, filter: {stage: Lead}}"), registry=registry).rules
    assert rule.schedule is not None
    assert (rule.schedule.query.list, rule.schedule.query.object) == ("sales", None)
    message = "r.yaml:5:12: a query names an object: (its records) or a list: (its entries)"
    assert problems(scheduled("{object: deals, list: sales}"), registry) == [message]
    assert problems(scheduled("{filter: {stage: Lead}}"), registry) == [message]
