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
from attio_automate.bus.context import ActionFn, IdentityFn, ReconcileFn
from attio_automate.bus.guard import current_plugin
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
    #: What makes two runs the same action, when not all of its parameters.
    identity: IdentityFn | None
    validator: Draft202012Validator = field(repr=False, compare=False, hash=False)


class ActionRegistry:
    """Actions by name."""

    def __init__(self) -> None:
        self._actions: dict[str, ActionDef] = {}

    @classmethod
    def from_bus(cls, bus: HookBus) -> tuple[ActionRegistry, list[HookFailure]]:
        """Ask every plugin to register its actions; return the registry and
        the plugins that failed to (a failure does not stop the others).

        The hook is called through pluggy; the bus knows which plugin is
        registering, so an action is always credited to its own plugin.
        """
        registry = cls()

        def register(
            name: str,
            fn: ActionFn,
            *,
            schema: Mapping[str, Any] | None = None,
            description: str = "",
            idempotent: bool = False,
            reconcile: ReconcileFn | None = None,
            identity: IdentityFn | None = None,
        ) -> None:
            registry.add(
                name,
                fn,
                schema=schema,
                description=description,
                plugin=current_plugin() or "",
                idempotent=idempotent,
                reconcile=reconcile,
                identity=identity,
            )

        failures = bus.call_sync("register_actions", register=register)
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
        identity: IdentityFn | None = None,
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
            identity,
            Draft202012Validator(schema),
        )

    def identity(self, name: str, params: Mapping[str, Any]) -> str | None:
        """The action's own identity for ``params``, if it declared one."""
        action = self._actions.get(name)
        if action is None or action.identity is None:
            return None
        return action.identity(params)

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
