"""One test per hook (the meta-test below keeps it that way)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.bus import hookspecs
from attio_automate.bus.bus import HookBus
from attio_automate.bus.context import ActionContext, ActionOutcome, AppContext, EventContext
from attio_automate.bus.manager import build_plugin_manager
from attio_automate.events import AttioEvent
from attio_automate.runtime import build_processor, load_plugins
from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio
DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def hook_names() -> list[str]:
    return sorted(
        name
        for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(getattr(hookspecs, name), "attio_automate_spec")
    )


def spec_signature(name: str) -> str:
    function = getattr(hookspecs, name)
    signature = inspect.signature(function)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
    return f"{name}({params}) -> {signature.return_annotation}"


def test_every_hook_has_a_test() -> None:
    tests = {name for name in globals() if name.startswith("test_hook_")}
    missing = [h for h in hook_names() if f"test_hook_{h}" not in tests]
    assert hook_names()
    assert missing == []


def test_every_hook_is_documented_with_its_signature() -> None:
    documented = set(re.findall(r"^### `(.+)`$", DOCS.read_text(), flags=re.MULTILINE))
    missing = [spec_signature(h) for h in hook_names() if spec_signature(h) not in documented]
    assert missing == []


class Recorder:
    """A plugin recording what it was called with."""

    PLUGIN_NAME = "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    @hookspecs.hookimpl
    def register_actions(self, register: Any) -> None:
        async def echo(ctx: ActionContext, params: Any) -> Any:
            return {"echo": params["text"], "key": ctx.key}

        register(
            "recorder.echo",
            echo,
            schema={"type": "object", "required": ["text"]},
            description="Echo the text",
        )

    @hookspecs.hookimpl
    async def startup(self, app: AppContext) -> None:
        self.calls.append(("startup", app.settings_for("recorder")))

    @hookspecs.hookimpl
    def shutdown(self, app: AppContext) -> None:
        self.calls.append(("shutdown", None))

    @hookspecs.hookimpl
    async def handle_event(self, event: EventContext) -> None:
        self.calls.append(("handle_event", event.event.event_type))
        event.plan(
            "recorder.echo",
            {"text": event.record["name"]["first_name"]},  # type: ignore[index]
            source="recorder",
        )

    @hookspecs.hookimpl
    def action_finished(self, event: EventContext, outcome: ActionOutcome) -> None:
        self.calls.append(
            ("action_finished", (outcome.planned.action, outcome.status, outcome.result))
        )


class Broken:
    PLUGIN_NAME = "broken"

    @hookspecs.hookimpl
    def handle_event(self, event: EventContext) -> None:
        raise RuntimeError("broken plugin")

    @hookspecs.hookimpl
    async def action_finished(self, event: EventContext, outcome: ActionOutcome) -> None:
        raise ValueError("broken observer")


async def run_one(fake: FakeAttio, client: AttioClient, *plugins: object) -> Any:
    from attio_automate.actions import builtin
    from attio_automate.actions.registry import ActionRegistry
    from attio_automate.rules.engine import RulesEngine
    from attio_automate.rules.model import RuleSet
    from attio_automate.runtime import Plugins

    manager = build_plugin_manager(builtins=[builtin, *plugins], entry_points=False)
    bus = HookBus(manager)
    actions, failures = ActionRegistry.from_bus(bus)
    assert failures == []
    loaded = Plugins(bus, actions, RulesEngine(RuleSet()))
    person = fake.workspace.create_record("people", {"name": "Ada Lovelace"})
    event = AttioEvent("record.created", {"object_id": "people", "record_id": person.id})
    return await build_processor(loaded, attio=client).process(event, key="k")


async def test_hook_register_actions(fake_attio: FakeAttio, attio_client: AttioClient) -> None:
    manager = build_plugin_manager(builtins=[Recorder()], entry_points=False)
    from attio_automate.actions.registry import ActionRegistry

    registry, failures = ActionRegistry.from_bus(HookBus(manager))
    assert failures == []
    action = registry.get("recorder.echo")
    assert action is not None
    assert (action.plugin, action.description) == ("recorder", "Echo the text")
    assert (
        registry.check("recorder.echo", {}, templated=False)[0][1]
        == "'text' is a required property"
    )


async def test_hook_startup(attio_client: AttioClient) -> None:
    recorder = Recorder()
    bus = HookBus(build_plugin_manager(builtins=[recorder], entry_points=False))
    app = AppContext(attio_client, SchemaCache(attio_client), {"recorder": {"level": 3}})
    assert await bus.call("startup", app=app) == []
    assert recorder.calls == [("startup", {"level": 3})]


async def test_hook_shutdown(attio_client: AttioClient) -> None:
    recorder = Recorder()
    bus = HookBus(build_plugin_manager(builtins=[recorder], entry_points=False))
    app = AppContext(attio_client, SchemaCache(attio_client))
    assert await bus.call("shutdown", app=app) == []
    assert recorder.calls == [("shutdown", None)]


async def test_hook_handle_event(fake_attio: FakeAttio, attio_client: AttioClient) -> None:
    recorder = Recorder()
    result = await run_one(fake_attio, attio_client, recorder, Broken())
    assert ("handle_event", "record.created") in recorder.calls
    # the broken plugin's error is in the trace; the recorder still acted
    assert {
        "plugin": "broken",
        "hook": "handle_event",
        "error": "RuntimeError: broken plugin",
    } in result.trace()["errors"]
    assert result.status == "done"
    assert result.outcomes[0].result == {"echo": "Ada", "key": "k:recorder:0"}


async def test_hook_action_finished(fake_attio: FakeAttio, attio_client: AttioClient) -> None:
    recorder = Recorder()
    result = await run_one(fake_attio, attio_client, Broken(), recorder)
    assert (
        "action_finished",
        ("recorder.echo", "done", {"echo": "Ada", "key": "k:recorder:0"}),
    ) in recorder.calls
    assert any(e["hook"] == "action_finished" for e in result.trace()["errors"])


def test_misspelled_hook_fails_at_startup() -> None:
    from attio_automate.bus.manager import PluginLoadError

    class Typo:
        @hookspecs.hookimpl
        def handle_evnet(self, event: Any) -> None: ...

    with pytest.raises(PluginLoadError, match="handle_evnet"):
        build_plugin_manager(builtins=[Typo()], entry_points=False)


def test_plugins_load_from_paths(tmp_path: Path) -> None:
    plugin = tmp_path / "greeter.py"
    plugin.write_text(
        "from attio_automate import hookimpl\n"
        "PLUGIN_NAME = 'greeter'\n"
        "async def greet(ctx, params):\n    return {}\n"
        "@hookimpl\n"
        "def register_actions(register):\n"
        "    register('greeter.greet', greet, description='hi')\n"
    )
    loaded = load_plugins(plugin_paths=[plugin], entry_points=False)
    assert loaded.actions.get("greeter.greet") is not None
    assert ("greeter", ["register_actions"]) in loaded.bus.plugins()


def test_plugins_are_found_through_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "ep_plugin_example"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from attio_automate import hookimpl\n"
        "async def ping(ctx, params):\n    return 'pong'\n"
        "@hookimpl\ndef register_actions(register):\n    register('ep.ping', ping)\n"
    )
    dist = tmp_path / "ep_plugin_example-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-plugin-example\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[attio_automate]\nep = ep_plugin_example\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = load_plugins(entry_points=True)
    action = loaded.actions.get("ep.ping")
    assert action is not None
    assert action.plugin == "ep"


def test_bad_plugin_path_is_a_clear_error(tmp_path: Path) -> None:
    from attio_automate.errors import ConfigError

    with pytest.raises(ConfigError, match="does not exist"):
        load_plugins(plugin_paths=[tmp_path / "missing.py"], entry_points=False)
    broken = tmp_path / "broken.py"
    broken.write_text("raise ImportError('no such thing')\n")
    with pytest.raises(ConfigError, match="failed to import"):
        load_plugins(plugin_paths=[broken], entry_points=False)


def test_duplicate_action_names_are_refused(tmp_path: Path) -> None:
    from attio_automate.errors import ConfigError

    plugin = tmp_path / "dup.py"
    plugin.write_text(
        "from attio_automate import hookimpl\n"
        "async def f(ctx, params):\n    return {}\n"
        "@hookimpl\ndef register_actions(register):\n    register('add_note', f)\n"
    )
    with pytest.raises(ConfigError, match="registered twice"):
        load_plugins(plugin_paths=[plugin], entry_points=False)
