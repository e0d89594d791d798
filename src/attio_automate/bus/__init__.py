"""The hook bus: pluggy hook specs, the plugin manager, and async calling."""

from attio_automate.bus.bus import HookBus, HookFailure, await_me_maybe
from attio_automate.bus.context import (
    ActionContext,
    ActionFn,
    ActionOutcome,
    AppContext,
    EventContext,
    Interest,
    RegisterAction,
    Trace,
)
from attio_automate.bus.hookspecs import hookimpl
from attio_automate.bus.manager import ENTRY_POINT_GROUP, PluginLoadError, build_plugin_manager
from attio_automate.bus.planning import Planned
from attio_automate.bus.plans import PlannedAction

__all__ = [
    "ENTRY_POINT_GROUP",
    "ActionContext",
    "ActionFn",
    "ActionOutcome",
    "AppContext",
    "EventContext",
    "HookBus",
    "HookFailure",
    "Interest",
    "Planned",
    "PlannedAction",
    "PluginLoadError",
    "RegisterAction",
    "Trace",
    "await_me_maybe",
    "build_plugin_manager",
    "hookimpl",
]
