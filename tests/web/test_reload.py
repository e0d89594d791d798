from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from attio_automate.assembly import load_plugins
from attio_automate.rules.reload import RulesReloader

pytestmark = pytest.mark.anyio

ONE = "version: 1\nrules:\n  - id: a\n    on: record.created\n    do: []\n"
TWO = ONE + "  - id: b\n    on: record.updated\n    do: []\n"


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await anyio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_file_changes_reload_and_bad_files_are_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(ONE)
    plugins = load_plugins(rules_path=rules, entry_points=False)
    reloader = RulesReloader(rules, plugins.rules, plugins.actions)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(reloader.watch_file, 0.02)
        rules.write_text(TWO)
        await eventually(lambda: reloader.reloaded == 1)
        assert [r.id for r in plugins.rules.rules.rules] == ["a", "b"]
        rules.write_text("version: 1\nrules:\n  - id: broken\n")
        await eventually(lambda: reloader.refused == 1)
        assert [r.id for r in plugins.rules.rules.rules] == ["a", "b"]  # kept
        tasks.cancel_scope.cancel()


@pytest.mark.parametrize(
    "broken",
    [
        # An alias bomb: a few hundred bytes asking for billions of items.
        'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
        + "".join(
            f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
            for n, p in zip("bcdefghi", "abcdefgh", strict=True)
        ),
        # Nested 3,000 deep: past the interpreter's stack.
        "x: " + "[" * 3000 + "]" * 3000 + "\n",
        # Saved half-written.
        ONE[: len(ONE) // 2],
        # Not text at all.
        "\udcff",
    ],
)
def test_a_reload_that_fails_for_any_reason_keeps_the_old_rules(
    tmp_path: Path, broken: str
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(TWO)
    plugins = load_plugins(rules_path=rules, entry_points=False)
    outcomes: list[str] = []
    reloader = RulesReloader(rules, plugins.rules, plugins.actions, on_reload=outcomes.append)
    rules.write_bytes(broken.encode("utf-8", "surrogateescape"))
    assert reloader.reload() is False
    assert [r.id for r in plugins.rules.rules.rules] == ["a", "b"]
    assert outcomes == ["refused"]
