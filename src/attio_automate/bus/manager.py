"""Building the plugin manager: hook specs, built-in plugins, installed ones.

There is no module-level manager: each app and each test builds its own.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

import pluggy

from attio_automate.bus import hookspecs
from attio_automate.bus.guard import GuardedPluginManager
from attio_automate.errors import AttioAutomateError

#: Entry-point group installed plugins declare themselves in.
ENTRY_POINT_GROUP = "attio_automate"


class PluginLoadError(AttioAutomateError):
    """A plugin could not be loaded or implements hooks that do not exist."""


def build_plugin_manager(
    *,
    builtins: Iterable[object] = (),
    paths: Sequence[str | Path] = (),
    entry_points: bool = True,
) -> pluggy.PluginManager:
    """A plugin manager with ``builtins``, the plugins at ``paths`` (files or
    packages) and, when ``entry_points``, every installed plugin.

    Raises :class:`PluginLoadError` for a path that does not load and for hook
    implementations no spec declares (a misspelled hook fails here, at start-up).
    """
    manager = GuardedPluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for plugin in builtins:
        name = getattr(plugin, "PLUGIN_NAME", None) or getattr(plugin, "__name__", None)
        manager.register(plugin, name=name)
    for path in paths:
        module = _load_path(Path(path))
        manager.register(module, name=getattr(module, "PLUGIN_NAME", module.__name__))
    if entry_points:
        try:
            manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:  # a broken installed plugin: say which
            raise PluginLoadError(f"an installed plugin failed to load: {exc!r}") from exc
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(str(exc)) from exc
    return manager


def _load_path(path: Path) -> ModuleType:
    """Import a plugin from a ``.py`` file or a package directory."""
    target = path / "__init__.py" if path.is_dir() else path
    if not target.is_file():
        raise PluginLoadError(f"plugin path {path} does not exist")
    name = f"attio_automate_plugin_{path.stem.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(
        name, target, submodule_search_locations=[str(path)] if path.is_dir() else None
    )
    if spec is None or spec.loader is None:
        raise PluginLoadError(f"cannot import plugin from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise PluginLoadError(f"plugin {path} failed to import: {exc!r}") from exc
    return module
