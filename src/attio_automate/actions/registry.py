"""The action registry: every action rules can use, with its parameter schema.

Plugins register actions through the ``register_actions`` hook; the registry
validates names, refuses duplicates, and checks parameters against each
action's JSON Schema (when rules load, and again once templates rendered).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from attio_automate.bus.bus import HookBus, HookFailure
from attio_automate.bus.context import ActionFn, ReconcileFn
from attio_automate.errors import ActionError

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")
_ANY_OBJECT: Mapping[str, Any] = {"type": "object"}


@dataclass(frozen=True)
class ActionDef:
    """One registered action."""

    name: str
    fn: ActionFn
    schema: Mapping[str, Any]
    description: str
    plugin: str
    #: Running it twice has the effect of running it once (an assert, a PUT).
    idempotent: bool
    #: For non-idempotent actions: did an interrupted run happen after all?
    reconcile: ReconcileFn | None
    validator: Draft202012Validator = field(repr=False, compare=False, hash=False)


class ActionRegistry:
    """Actions by name."""

    def __init__(self) -> None:
        self._actions: dict[str, ActionDef] = {}

    @classmethod
    def from_bus(cls, bus: HookBus) -> tuple[ActionRegistry, list[HookFailure]]:
        """Ask every plugin to register its actions; return the registry and
        the plugins that failed to (a failure does not stop the others)."""
        registry = cls()
        failures: list[HookFailure] = []
        for impl in reversed(bus.manager.hook.register_actions.get_hookimpls()):

            def register(
                name: str,
                fn: ActionFn,
                *,
                schema: Mapping[str, Any] | None = None,
                description: str = "",
                idempotent: bool = False,
                reconcile: ReconcileFn | None = None,
                _plugin: str = impl.plugin_name,
            ) -> None:
                registry.add(
                    name,
                    fn,
                    schema=schema,
                    description=description,
                    plugin=_plugin,
                    idempotent=idempotent,
                    reconcile=reconcile,
                )

            try:
                impl.function(register)
            except Exception as exc:
                failures.append(HookFailure(impl.plugin_name, "register_actions", exc))
        return registry, failures

    def add(
        self,
        name: str,
        fn: ActionFn,
        *,
        schema: Mapping[str, Any] | None = None,
        description: str = "",
        plugin: str = "",
        idempotent: bool = False,
        reconcile: ReconcileFn | None = None,
    ) -> None:
        """Register one action; a bad name, schema or a duplicate raises ``ActionError``."""
        if not _NAME.match(name):
            raise ActionError(f"action name {name!r} must look like 'name' or 'plugin.name'")
        if name in self._actions:
            raise ActionError(
                f"action {name!r} is registered twice "
                f"(by {self._actions[name].plugin or '?'} and {plugin or '?'})"
            )
        if not callable(fn):
            raise ActionError(f"action {name!r}: {fn!r} is not callable")
        schema = schema or _ANY_OBJECT
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise ActionError(f"action {name!r} has an invalid schema: {exc.message}") from exc
        self._actions[name] = ActionDef(
            name,
            fn,
            schema,
            description,
            plugin,
            idempotent,
            reconcile,
            Draft202012Validator(schema),
        )

    def get(self, name: str) -> ActionDef | None:
        return self._actions.get(name)

    def names(self) -> list[str]:
        return sorted(self._actions)

    def __iter__(self) -> Any:
        return iter(sorted(self._actions.values(), key=lambda a: a.name))

    def check(
        self, name: str, params: Any, *, templated: bool
    ) -> list[tuple[list[str | int], str]]:
        """Problems with ``params`` for action ``name``: ``(path, message)`` pairs.

        With ``templated``, strings holding ``{{ }}`` stand for values not known
        yet, so type and format errors on them are not counted.
        """
        action = self._actions.get(name)
        if action is None:
            known = ", ".join(self.names()) or "none"
            return [([], f"unknown action {name!r} (known: {known})")]
        problems = []
        for error in action.validator.iter_errors(params):
            if templated and _is_template(error.instance):
                continue
            problems.append((list(error.absolute_path), error.message))
        return problems


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)
