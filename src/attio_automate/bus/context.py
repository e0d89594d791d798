"""What hooks receive: the event being handled, planned actions, outcomes."""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from attio_automate.events import AttioEvent

if TYPE_CHECKING:
    from attio_automate.attio.client import AttioClient
    from attio_automate.attio.schema import SchemaCache

JSON = dict[str, Any]


@dataclass(frozen=True)
class PlannedAction:
    """An action a rule or plugin decided on, not yet run.

    ``key`` is unique per event, source and position (event key + source +
    index), so a retried event can skip what already happened.
    """

    key: str
    action: str
    params: Mapping[str, Any]
    source: str


@dataclass
class Trace:
    """Why an event did what it did: rule decisions, plugin errors, actions."""

    decisions: list[JSON] = field(default_factory=list)
    errors: list[JSON] = field(default_factory=list)
    actions: list[JSON] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> JSON:
        return {
            "decisions": self.decisions,
            "errors": self.errors,
            "actions": self.actions,
            "notes": self.notes,
        }


@dataclass
class EventContext:
    """One event, enriched, as plugins see it in ``handle_event``.

    ``record`` is the record the event is about (for list-entry events, the
    entry's parent record), simplified, with ``raw`` holding Attio's values
    and ``record_id`` its id; ``None`` when there is none or it is gone.
    """

    event: AttioEvent
    key: str
    attio: AttioClient
    schema: SchemaCache
    object: str | None = None
    list: str | None = None
    record: JSON | None = None
    entry: JSON | None = None
    changed: str | None = None
    previous: Any = None
    gone: bool = False
    plans: builtins.list[PlannedAction] = field(default_factory=builtins.list)
    trace: Trace = field(default_factory=Trace)
    #: Plugin settings from the configuration, by plugin name.
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def settings_for(self, plugin: str) -> Mapping[str, Any]:
        """This plugin's settings (empty when it has none)."""
        return self.settings.get(plugin, {})

    def plan(self, action: str, params: Mapping[str, Any], *, source: str) -> PlannedAction:
        """Ask for ``action`` to run with ``params`` once this event's plugins are done.

        ``source`` names the rule or plugin asking; its n-th plan for this
        event gets the key ``{event key}:{source}:{n}``.
        """
        index = sum(1 for p in self.plans if p.source == source)
        planned = PlannedAction(f"{self.key}:{source}:{index}", action, dict(params), source)
        self.plans.append(planned)
        return planned

    def template_context(self) -> JSON:
        """The names a rule's templates and conditions see (``rule`` added per rule)."""
        return {
            "event": self.event.to_json(),
            "actor": dict(self.event.actor),
            "object": self.object,
            "list": self.list,
            "record": self.record,
            "entry": self.entry,
            "changed": self.changed,
            "previous": self.previous,
        }


@dataclass(frozen=True)
class ActionOutcome:
    """How a planned action ended: ``done``, ``failed`` or ``skipped`` (done before)."""

    planned: PlannedAction
    status: Literal["done", "failed", "skipped"]
    result: Any = None
    error: JSON | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class AppContext:
    """What ``startup`` and ``shutdown`` receive.

    ``settings`` maps plugin names to their settings from the configuration.
    """

    attio: AttioClient
    schema: SchemaCache
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def settings_for(self, plugin: str) -> Mapping[str, Any]:
        """This plugin's settings (empty when it has none)."""
        return self.settings.get(plugin, {})


@dataclass(frozen=True)
class ActionContext:
    """What an action function receives besides its parameters.

    ``key`` identifies this run of the action (see :class:`PlannedAction`).
    """

    attio: AttioClient
    schema: SchemaCache
    event: EventContext
    key: str


#: An action: ``async def action(ctx, params) -> result`` (a JSON-able result).
ActionFn = Callable[[ActionContext, Mapping[str, Any]], Awaitable[Any]]
#: Finds out whether an action already happened: its earlier result, or None.
ReconcileFn = Callable[[ActionContext, Mapping[str, Any]], Awaitable[Any]]


class RegisterAction(Protocol):
    """The callback ``register_actions`` receives."""

    def __call__(
        self,
        name: str,
        fn: ActionFn,
        *,
        schema: Mapping[str, Any] | None = None,
        description: str = "",
        idempotent: bool = False,
        reconcile: ReconcileFn | None = None,
    ) -> None: ...
