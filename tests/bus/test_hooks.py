"""One test per hook (the meta-test below keeps it that way)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from attio_automate.assembly import Plugins, build_processor, load_plugins
from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.bus import hookspecs
from attio_automate.bus.bus import HookBus
from attio_automate.bus.context import (
    ActionContext,
    ActionOutcome,
    AppContext,
    EventContext,
    Interest,
)
from attio_automate.bus.manager import build_plugin_manager
from attio_automate.events import AttioEvent
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
    errors = result.trace()["errors"]
    assert {
        "plugin": "broken",
        "hook": "handle_event",
        "error": "RuntimeError: broken plugin",
        "retryable": False,
        "permanent": True,
    } in errors
    assert result.outcomes[0].result == {"echo": "Ada", "key": result.outcomes[0].planned.key}
    # the plan is credited to the plugin that made it, by the bus
    assert result.outcomes[0].planned.source == "recorder"
    # a plugin bug is permanent: the event goes to the dead letter, saying why
    assert result.status == "failed"
    assert result.reason == "plugin broken: RuntimeError: broken plugin"


async def test_hook_action_finished(fake_attio: FakeAttio, attio_client: AttioClient) -> None:
    recorder = Recorder()
    result = await run_one(fake_attio, attio_client, Broken(), recorder)
    key = result.outcomes[0].planned.key
    assert ("action_finished", ("recorder.echo", "done", {"echo": "Ada", "key": key})) in (
        recorder.calls
    )
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


class Picky:
    """Wants new people only, and says so."""

    PLUGIN_NAME = "picky"

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookspecs.hookimpl
    def wanted_events(self) -> Interest:
        return Interest(event_types=("record.created",), objects=("people",))

    @hookspecs.hookimpl
    def handle_event(self, event: EventContext) -> None:
        self.seen.append(event.object or "")


async def test_hook_wanted_events(fake_attio: FakeAttio, attio_client: AttioClient) -> None:
    from attio_automate.actions.registry import ActionRegistry
    from attio_automate.rules.engine import RulesEngine
    from attio_automate.rules.model import RuleSet

    picky = Picky()
    bus = HookBus(build_plugin_manager(builtins=[picky], entry_points=False))
    actions, _ = ActionRegistry.from_bus(bus)
    processor = build_processor(Plugins(bus, actions, RulesEngine(RuleSet())), attio=attio_client)
    w = fake_attio.workspace
    company = w.create_record("companies", {"name": "Initech"})
    person = w.create_record("people", {"name": "Ada Lovelace"})
    await processor.schema.attributes("objects", "companies")
    await processor.schema.attributes("objects", "people")
    before = len(fake_attio.requests)
    unwanted = AttioEvent(
        "record.created", {"object_id": w.objects["companies"].id, "record_id": company.id}
    )
    result = await processor.process(unwanted, key="c")
    assert (result.status, result.reason) == ("done", "no rule or plugin wants this event")
    assert len(fake_attio.requests) == before  # not fetched
    assert picky.seen == []
    wanted = AttioEvent(
        "record.created", {"object_id": w.objects["people"].id, "record_id": person.id}
    )
    result = await processor.process(wanted, key="p")
    assert result.status == "done"
    assert picky.seen == ["people"]
    assert result.context is not None
    assert result.context.record is not None  # Interest(record=True): fetched
    assert len(fake_attio.requests) == before + 1


def test_register_arguments_are_documented() -> None:
    from attio_automate.bus.context import RegisterAction

    section = DOCS.read_text().split("### `register_actions", 1)[1].split("\n### ", 1)[0]
    params = list(inspect.signature(RegisterAction.__call__).parameters)[1:]
    assert {"idempotent", "reconcile", "identity"} <= set(params)
    missing = [p for p in params if f"- `{p}`:" not in section]
    assert missing == []


def test_hookspec_docstrings_document_every_parameter() -> None:
    missing = []
    for name in hook_names():
        function = getattr(hookspecs, name)
        for param in inspect.signature(function).parameters:
            if f":param {param}:" not in (function.__doc__ or ""):
                missing.append(f"{name}({param})")
    assert missing == []


class Order:
    """Calls are recorded in one list shared by the plugins below."""

    def __init__(self) -> None:
        self.calls: list[str] = []


def ordered_plugins(order: Order) -> list[object]:
    class Early:
        PLUGIN_NAME = "early"

        @hookspecs.hookimpl(tryfirst=True)
        def startup(self, app: AppContext) -> None:
            order.calls.append("early")

    class Late:
        PLUGIN_NAME = "late"

        @hookspecs.hookimpl(trylast=True)
        def startup(self, app: AppContext) -> None:
            order.calls.append("late")

    class Wrapper:
        PLUGIN_NAME = "wrapper"

        @hookspecs.hookimpl(wrapper=True)
        def startup(self, app: AppContext) -> Any:
            order.calls.append("before")
            result = yield
            order.calls.append("after")
            return result

    class Failing:
        PLUGIN_NAME = "failing"

        @hookspecs.hookimpl
        def startup(self, app: AppContext) -> None:
            order.calls.append("failing")
            raise RuntimeError("startup broke")

    return [Late(), Failing(), Wrapper(), Early()]


async def test_hooks_run_through_pluggy_with_wrappers_order_and_tracing(
    attio_client: AttioClient,
) -> None:
    order = Order()
    manager = build_plugin_manager(builtins=ordered_plugins(order), entry_points=False)
    traced: list[str] = []
    manager.trace.root.setwriter(traced.append)
    undo = manager.enable_tracing()
    failures = await HookBus(manager).call(
        "startup", app=AppContext(attio_client, SchemaCache(attio_client))
    )
    undo()
    # tryfirst first, trylast last, the wrapper around them all, and the
    # failing plugin in between without stopping the late one
    assert order.calls == ["before", "early", "failing", "late", "after"]
    assert [(f.plugin, f.hook, str(f.error)) for f in failures] == [
        ("failing", "startup", "startup broke")
    ]
    assert any("startup" in line for line in traced)


async def test_firstresult_hooks_stop_at_the_first_answer() -> None:
    class Spec:
        @hookspecs.hookspec(firstresult=True)
        def pick(self) -> Any:
            """A hook for this test: the first answer wins."""

    class First:
        @hookspecs.hookimpl(tryfirst=True)
        def pick(self) -> Any:
            raise ValueError("no answer from me")

    class Second:
        @hookspecs.hookimpl
        async def pick(self) -> Any:
            return "second"

    class Third:
        @hookspecs.hookimpl(trylast=True)
        def pick(self) -> Any:
            raise AssertionError("never asked: the second answered")

    manager = build_plugin_manager(entry_points=False)
    manager.add_hookspecs(Spec)
    for plugin in (First(), Second(), Third()):
        manager.register(plugin)
    results, failures = await HookBus(manager).call_for_results("pick")
    assert results == ["second"]
    assert [str(f.error) for f in failures] == ["no answer from me"]


def test_guarded_plugins_are_still_themselves() -> None:
    recorder = Recorder()
    manager = build_plugin_manager(builtins=[recorder], entry_points=False)
    assert manager.is_registered(recorder)
    assert manager.get_plugin("recorder") is recorder
    assert HookBus(manager).plugin("recorder") is recorder
    assert manager.unregister(recorder) is recorder
    assert not manager.is_registered(recorder)
