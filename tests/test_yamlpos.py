"""YAML with positions, bounded: no aliases, no deep nesting."""

from __future__ import annotations

import time

import pytest

from attio_automate.yamlpos import MAX_DEPTH, YamlError, load


def test_positions_are_kept() -> None:
    located = load("a:\n  b: [1, 2]\n")
    assert located.data == {"a": {"b": [1, 2]}}
    assert located.position(("a", "b", 1)) == (2, 10)
    assert located.position(("a", "b"), key=True) == (2, 3)


def test_an_alias_bomb_is_refused_at_once() -> None:
    text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for n, p in zip("bcdefghi", "abcdefgh", strict=True)
    )
    started = time.process_time()
    with pytest.raises(YamlError) as caught:
        load(text)
    assert time.process_time() - started < 0.5
    assert caught.value.message == "aliases (*name) are not allowed: write the value out"
    assert (caught.value.line, caught.value.column) == (2, 8)


def test_deep_nesting_is_refused_with_its_position() -> None:
    with pytest.raises(YamlError) as caught:
        load("x:\n  " + "[" * 5000 + "]" * 5000 + "\n")
    assert caught.value.message == f"nested deeper than {MAX_DEPTH} levels"
    assert caught.value.line == 2
    ok = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert load(ok).data is not None
