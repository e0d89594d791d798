"""The plugins and rules a runner (or a rule tool) works with, and the
event processor over them."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attio_automate.actions import builtin
from attio_automate.actions.registry import ActionRegistry
from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.bus.bus import HookBus
from attio_automate.bus.manager import PluginLoadError, build_plugin_manager
from attio_automate.cache.records import RecordCache, RecordReader
from attio_automate.errors import ConfigError
from attio_automate.processing.processor import EventProcessor
from attio_automate.rules.engine import RulesEngine
from attio_automate.rules.loader import load_rules_file
from attio_automate.rules.model import RuleSet
from attio_automate.settings import Settings
from attio_automate.sync.mirror import SyncPlugin
from attio_automate.sync.spec import SyncSpec


@dataclass
class Plugins:
    """The plugin manager, its bus and the actions plugins registered."""

    bus: HookBus
    actions: ActionRegistry
    rules: RulesEngine
    #: The mirror and the outbox's pushes, when the configuration has ``sync:``.
    sync: SyncPlugin | None = None


def load_plugins(
    *,
    rules_path: str | Path | None = None,
    plugin_paths: Sequence[str | Path] = (),
    entry_points: bool = True,
    sync: SyncSpec | None = None,
) -> Plugins:
    """Load built-in and installed plugins (the sync plugin too, given a
    ``sync`` configuration), then the rules (checked against the actions they
    registered).  Raises :class:`ConfigError` for any problem."""
    engine = RulesEngine(RuleSet())
    mirror = SyncPlugin(sync) if sync is not None else None
    builtins: list[object] = [builtin, engine, *([mirror] if mirror else [])]
    try:
        manager = build_plugin_manager(
            builtins=builtins, paths=plugin_paths, entry_points=entry_points
        )
    except PluginLoadError as exc:
        raise ConfigError([str(exc)]) from exc
    bus = HookBus(manager)
    actions, failures = ActionRegistry.from_bus(bus)
    if failures:
        raise ConfigError(
            [f"plugin {f.plugin} failed to register its actions: {f.error}" for f in failures]
        )
    if rules_path is not None:
        engine.replace(load_rules_file(rules_path, registry=actions))
    return Plugins(bus, actions, engine, mirror)


def load_plugins_for(settings: Settings) -> Plugins:
    """The plugins and rules the settings name (the sync plugin with ``sync:``)."""
    return load_plugins(
        rules_path=settings.rules.path,
        plugin_paths=settings.plugins.paths,
        entry_points=settings.plugins.installed,
        sync=settings.sync.spec(),
    )


def build_processor(
    plugins: Plugins,
    *,
    attio: AttioClient,
    schema: SchemaCache | None = None,
    own_actor_ids: Collection[str] = (),
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    cache: RecordCache | None = None,
) -> EventProcessor:
    """An event processor over ``plugins`` talking to ``attio`` (plugin
    authors' tests use this too), reading records through ``cache`` if given."""
    return EventProcessor(
        bus=plugins.bus,
        actions=plugins.actions,
        attio=attio,
        schema=schema or SchemaCache(attio),
        own_actor_ids=own_actor_ids,
        settings=settings,
        records=RecordReader(attio, cache),
    )
