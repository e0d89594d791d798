"""The hook bus: calls hooks through pluggy, awaits what async implementations
return in one place, and hands back the failures instead of raising them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pluggy

from attio_automate.bus.guard import HookFailure, StandIn, collecting

__all__ = ["HookBus", "HookFailure", "await_me_maybe"]


async def await_me_maybe(value: Any) -> Any:
    """``value``, awaited if it is awaitable: hooks may be sync or async."""
    if inspect.isawaitable(value):
        return await value
    return value


class HookBus:
    """Calls hooks on a plugin manager built by :func:`build_plugin_manager`.

    Calls go through ``manager.hook.<name>(...)``: pluggy orders the
    implementations (``tryfirst``/``trylast``, else the last registered
    first), runs wrappers and tracing, and stops at the first result of a
    ``firstresult`` hook.  Implementations are guarded (see
    :mod:`attio_automate.bus.guard`): one that raises is reported and the
    others still run.
    """

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager

    async def call(self, hook: str, *, only: str | None = None, **kwargs: Any) -> list[HookFailure]:
        """Call ``hook``, awaiting async implementations one after the other;
        return the failures.  ``only`` names the one plugin to call."""
        _, failures = await self.call_for_results(hook, only=only, **kwargs)
        return failures

    async def call_for_results(
        self, hook: str, *, only: str | None = None, **kwargs: Any
    ) -> tuple[list[Any], list[HookFailure]]:
        """Call ``hook``; return what the implementations returned (awaited,
        without the Nones; one value or none for a ``firstresult`` hook) and
        the failures.  ``only`` names the one plugin to call."""
        caller = getattr(self.manager.hook, hook)
        if only is not None:
            others = [p for p in self.manager.get_plugins() if self.manager.get_name(p) != only]
            caller = self.manager.subset_hook_caller(hook, remove_plugins=others)
        with collecting() as failures:
            try:
                returned = caller(**kwargs)
            except Exception as exc:
                # Only a wrapper can get here: implementations are guarded.
                failures.append(HookFailure("(hook wrapper)", hook, exc))
                returned = None
            results = []
            for value in _as_list(caller, returned):
                value = await await_me_maybe(value)
                if value is not None:
                    results.append(value)
        return results, failures

    def call_sync(self, hook: str, **kwargs: Any) -> list[HookFailure]:
        """Like :meth:`call` for hooks that must not be async (``register_actions``)."""
        caller = getattr(self.manager.hook, hook)
        with collecting() as failures:
            try:
                returned = caller(**kwargs)
            except Exception as exc:
                failures.append(HookFailure("(hook wrapper)", hook, exc))
                returned = None
            if any(inspect.isawaitable(value) for value in _as_list(caller, returned)):
                for value in _as_list(caller, returned):
                    _close(value)
                for impl in caller.get_hookimpls():
                    if inspect.iscoroutinefunction(inspect.unwrap(impl.function)):
                        error = TypeError(f"{hook} must not be async")
                        failures.append(HookFailure(impl.plugin_name, hook, error))
        return failures

    def plugins(self) -> list[tuple[str, list[str]]]:
        """Each registered plugin's name and the hooks it implements."""
        found = []
        for name, plugin in self.manager.list_name_plugin():
            hooks = sorted(c.name for c in self.manager.get_hookcallers(plugin) or [])
            found.append((name, hooks))
        return sorted(found)

    def plugin(self, name: str) -> object | None:
        """The plugin registered as ``name`` (itself, not its guard)."""
        found = self.manager.get_plugin(name)
        return found.plugin if isinstance(found, StandIn) else found


def _as_list(caller: Any, returned: Any) -> list[Any]:
    spec = caller.spec
    if spec is not None and spec.opts.get("firstresult"):
        return [] if returned is None else [returned]
    return list(returned or [])


def _close(awaitable: Any) -> None:
    close: Callable[[], None] | None = getattr(awaitable, "close", None)
    if close is not None:
        close()
