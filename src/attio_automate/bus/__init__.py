"""The hook bus: pluggy hook specs, the plugin manager, and async calling."""

from attio_automate.bus.bus import HookBus, HookFailure
from attio_automate.bus.context import (
    ActionContext,
    ActionFn,
    ActionOutcome,
    AppContext,
    EventContext,
    PlannedAction,
    RegisterAction,
    Trace,
)
from attio_automate.bus.hookspecs import hookimpl
from attio_automate.bus.manager import ENTRY_POINT_GROUP, PluginLoadError, build_plugin_manager

__all__ = [
    "ENTRY_POINT_GROUP",
    "ActionContext",
    "ActionFn",
    "ActionOutcome",
    "AppContext",
    "EventContext",
    "HookBus",
    "HookFailure",
    "PlannedAction",
    "PluginLoadError",
    "RegisterAction",
    "Trace",
    "build_plugin_manager",
    "hookimpl",
]
