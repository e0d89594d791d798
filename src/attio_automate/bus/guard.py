"""Keeping one plugin's failure from stopping the others, inside pluggy's loop.

pluggy stops calling a hook's implementations at the first one that raises.
Each implementation is therefore registered through a guard: the guard runs
it with the plugin's name in :func:`current_plugin` (so the bus, not the
plugin, says who planned an action or registered one), and turns an
exception into a :class:`HookFailure` reported to whoever is calling the hook
(:func:`collecting`).  pluggy still does the calling: ``tryfirst``/``trylast``,
wrappers, ``firstresult`` and tracing all work.  Wrappers are registered
unguarded: they see the call and its outcome as pluggy gives them.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import pluggy

JSON = dict[str, Any]

_PLUGIN: ContextVar[str | None] = ContextVar("attio_automate_plugin", default=None)
_FAILURES: ContextVar[list[HookFailure] | None] = ContextVar(
    "attio_automate_hook_failures", default=None
)


@dataclass(frozen=True)
class HookFailure:
    """One plugin's implementation of ``hook`` raised ``error``."""

    plugin: str
    hook: str
    error: BaseException

    def to_json(self) -> JSON:
        return {
            "plugin": self.plugin,
            "hook": self.hook,
            "error": f"{type(self.error).__name__}: {self.error}",
        }


def current_plugin() -> str | None:
    """The name of the plugin whose hook implementation is running, if any."""
    return _PLUGIN.get()


@contextlib.contextmanager
def collecting() -> Iterator[list[HookFailure]]:
    """Collect the failures of guarded implementations called inside the block."""
    failures: list[HookFailure] = []
    token = _FAILURES.set(failures)
    try:
        yield failures
    finally:
        _FAILURES.reset(token)


def _report(plugin: str, hook: str, exc: Exception) -> None:
    failures = _FAILURES.get()
    if failures is None:
        # Called outside the bus (pm.hook.x() by hand): plain pluggy behaviour.
        raise exc
    failures.append(HookFailure(plugin, hook, exc))


class PluginExit(RuntimeError):
    """A plugin called ``sys.exit()``: its own failure, not the runner's stop."""

    def __init__(self, exit: SystemExit) -> None:
        super().__init__(f"the plugin called sys.exit({exit.code!r})")


def _guard(fn: Callable[..., Any], plugin: str, hook: str) -> Callable[..., Any]:
    async def awaited(awaitable: Awaitable[Any]) -> Any:
        token = _PLUGIN.set(plugin)
        try:
            return await awaitable
        except Exception as exc:
            _report(plugin, hook, exc)
            return None
        except SystemExit as exc:
            _report(plugin, hook, PluginExit(exc))
            return None
        finally:
            _PLUGIN.reset(token)

    # pluggy passes arguments by position, in the order of the original's
    # parameters (read through ``__wrapped__``).
    @functools.wraps(fn)
    def guarded(*args: Any) -> Any:
        token = _PLUGIN.set(plugin)
        try:
            result = fn(*args)
        except Exception as exc:
            _report(plugin, hook, exc)
            return None
        except SystemExit as exc:
            _report(plugin, hook, PluginExit(exc))
            return None
        finally:
            _PLUGIN.reset(token)
        if inspect.isawaitable(result):
            return awaited(result)
        return result

    return guarded


class StandIn:
    """What is registered with pluggy in a plugin's place: the same hook
    implementations, guarded.  ``plugin`` is the plugin itself."""

    def __init__(self, plugin: object) -> None:
        self.plugin = plugin

    def __repr__(self) -> str:
        return f"<guarded {self.plugin!r}>"


class GuardedPluginManager(pluggy.PluginManager):
    """A plugin manager that registers every plugin through a guard.

    ``register``, ``unregister``, ``is_registered`` and ``get_plugin`` speak
    of the plugins themselves; pluggy holds their stand-ins.
    """

    def register(self, plugin: object, name: str | None = None) -> str | None:
        if isinstance(plugin, StandIn):
            return super().register(plugin, name)
        name = name or self.get_canonical_name(plugin)
        stand_in = StandIn(plugin)
        for attr in dir(plugin):
            opts = super().parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            fn = getattr(plugin, attr)
            wrapper = opts.get("wrapper") or opts.get("hookwrapper")
            hook = opts.get("specname") or attr
            impl = fn if wrapper else _guard(fn, name, hook)
            if impl is not fn:
                setattr(impl, f"{self.project_name}_impl", opts)
            setattr(stand_in, attr, impl)
        return super().register(stand_in, name)

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        stand_in = self._stand_in(plugin) if plugin is not None else None
        removed = super().unregister(stand_in, name)
        return removed.plugin if isinstance(removed, StandIn) else removed

    def is_registered(self, plugin: object) -> bool:
        return self._stand_in(plugin) is not None

    def get_plugin(self, name: str) -> Any:
        found = super().get_plugin(name)
        return found.plugin if isinstance(found, StandIn) else found

    def _stand_in(self, plugin: object) -> Any:
        if isinstance(plugin, StandIn):
            return plugin
        for _, registered in super().list_name_plugin():
            if isinstance(registered, StandIn) and registered.plugin is plugin:
                return registered
        return None
