"""The hook bus: calls every plugin's implementation, awaits the async ones,
and keeps one plugin's failure from stopping the others."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy

JSON = dict[str, Any]


@dataclass(frozen=True)
class HookFailure:
    """One plugin's implementation raised."""

    plugin: str
    hook: str
    error: BaseException

    def to_json(self) -> JSON:
        return {
            "plugin": self.plugin,
            "hook": self.hook,
            "error": f"{type(self.error).__name__}: {self.error}",
        }


class HookBus:
    """Calls hooks on a plugin manager.

    Implementations run in pluggy's order (``tryfirst``/``trylast`` honoured,
    otherwise the last registered first).  The awaitables that ``async``
    implementations return are awaited here, one after the other.
    """

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager

    async def call(self, hook: str, **kwargs: Any) -> list[HookFailure]:
        """Call every implementation of ``hook``; return the failures."""
        failures: list[HookFailure] = []
        caller = getattr(self.manager.hook, hook)
        for impl in reversed(caller.get_hookimpls()):
            try:
                result = impl.function(*[kwargs[name] for name in impl.argnames])
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                failures.append(HookFailure(impl.plugin_name, hook, exc))
        return failures

    def call_sync(self, hook: str, **kwargs: Any) -> list[HookFailure]:
        """Like :meth:`call` for hooks that must not be async (``register_actions``)."""
        failures: list[HookFailure] = []
        caller = getattr(self.manager.hook, hook)
        for impl in reversed(caller.get_hookimpls()):
            try:
                result = impl.function(*[kwargs[name] for name in impl.argnames])
                if inspect.isawaitable(result):
                    _close(result)
                    raise TypeError(f"{hook} must not be async")
            except Exception as exc:
                failures.append(HookFailure(impl.plugin_name, hook, exc))
        return failures

    def plugins(self) -> list[tuple[str, list[str]]]:
        """Each registered plugin's name and the hooks it implements."""
        found = []
        for name, plugin in self.manager.list_name_plugin():
            hooks = sorted(c.name for c in self.manager.get_hookcallers(plugin) or [])
            found.append((name, hooks))
        return sorted(found)


def _close(awaitable: Any) -> None:
    close: Callable[[], None] | None = getattr(awaitable, "close", None)
    if close is not None:
        close()
