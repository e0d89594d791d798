"""What hooks receive: the event being handled, planned actions, outcomes."""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Literal, Protocol

from attio_automate.bus.guard import current_plugin
from attio_automate.bus.planning import PlannedActivity, PlannedContacts, PlannedPipeline
from attio_automate.bus.plans import PlannedAction
from attio_automate.events import AttioEvent
from attio_automate.services import Services

if TYPE_CHECKING:
    from attio_automate.attio.client import AttioClient
    from attio_automate.attio.schema import SchemaCache
    from attio_automate.cache.records import RecordReader

JSON = dict[str, Any]


#: Seconds Attio's clock may run behind ours when comparing creation times.
_CLOCK_SLACK = 5.0


def params_digest(params: Mapping[str, Any]) -> str:
    """A short digest of an action's rendered parameters: equal parameters,
    equal digest, whatever the order of their keys."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Interest:
    """Which events a plugin's ``handle_event`` wants (see ``wanted_events``).

    ``event_types`` are globs (``record.*``); ``objects`` object slugs (for
    list-entry events the parent object's slug or the list's own), ``lists``
    list slugs; None leaves that open.  ``record`` says whether the plugin
    reads the record or entry: only then is it fetched from Attio.
    """

    event_types: tuple[str, ...] = ("*",)
    objects: tuple[str, ...] | None = None
    lists: tuple[str, ...] | None = None
    record: bool = True

    def matches(self, event_type: str, object: str | None, list: str | None) -> bool:
        """Whether an event of ``event_type`` about ``object``/``list`` is wanted."""
        if not any(fnmatchcase(event_type, pattern) for pattern in self.event_types):
            return False
        if self.objects is not None and object not in self.objects and list not in self.objects:
            return False
        return self.lists is None or list in self.lists


def _same_identity(key: str, base: str) -> bool:
    """Whether ``key`` is ``base`` or its n-th repetition (``base#n``)."""
    if key == base:
        return True
    return key.startswith(base + "#") and key[len(base) + 1 :].isdigit()


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
    #: Whether any plugin or rule wants this event (otherwise nobody is asked).
    wanted: bool = True
    #: When the runner received the event (epoch seconds): ``now()`` in
    #: templates, so a retry renders the same parameters as the first try.
    received_at: float = 0.0
    #: Whether the record (or entry) was fetched: only when a plugin or rule
    #: that needs it wants this event.
    fetched: bool = False
    plans: builtins.list[PlannedAction] = field(default_factory=builtins.list)
    trace: Trace = field(default_factory=Trace)
    #: Plugin settings from the configuration, by plugin name.
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: An action's own identity for its parameters (see ``register(identity=)``).
    identify: Callable[[str, Mapping[str, Any]], str | None] | None = None
    #: Records and entries through the record cache (None: straight from Attio).
    records: RecordReader | None = None
    #: The one plugin this event is for, when it is not for all of them (an
    #: event the runner's own write caused reaches only the mirror).
    audience: str | None = None

    def settings_for(self, plugin: str) -> Mapping[str, Any]:
        """This plugin's settings (empty when it has none)."""
        return self.settings.get(plugin, {})

    @property
    def contacts(self) -> PlannedContacts:
        """People and companies: reads now (cached), writes planned."""
        return PlannedContacts(self, self._services().contacts)

    @property
    def pipeline(self) -> PlannedPipeline:
        """Records in lists by stage: reads now, writes planned."""
        return PlannedPipeline(self, self._services().pipeline)

    @property
    def activity(self) -> PlannedActivity:
        """Notes and tasks: reads now, writes planned."""
        return PlannedActivity(self, self._services().activity)

    def _services(self) -> Services:
        return Services.over(self.attio, self.schema, self.records)

    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        *,
        key: str | None = None,
        source: str | None = None,
    ) -> PlannedAction:
        """Ask for ``action`` to run with ``params`` once this event's plugins are done.

        The plan is credited to the plugin whose hook is running (the bus
        knows it); ``source`` is for plugins that decide on behalf of named
        parts of themselves (the rules engine names each rule).  ``key``
        names what makes this action itself when its parameters do not
        (parameters that hold a time, say): a retry skips the action only
        when the ledger has the same action with the same key, or with the
        same parameters when there is no key.
        """
        source = source or current_plugin() or "unknown"
        params = dict(params)
        identity = key or (self.identify(action, params) if self.identify else None)
        base = f"{self.key}:{source}:{action}:{identity or params_digest(params)}"
        same = sum(1 for p in self.plans if _same_identity(p.key, base))
        index = sum(1 for p in self.plans if p.source == source)
        planned = PlannedAction(
            base if same == 0 else f"{base}#{same + 1}",
            action,
            params,
            source,
            legacy_key=f"{self.key}:{source}:{index}",
        )
        self.plans.append(planned)
        return planned

    def now(self) -> datetime:
        """The moment the event was received, as templates' ``now()`` sees it."""
        return datetime.fromtimestamp(self.received_at, UTC)

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
            "now": self.now,
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


class WaitKeeper(Protocol):
    """Where rules' waits are kept until they fall due."""

    async def keep(
        self, key: str, due: float, payload: Mapping[str, Any], *, group: str, policy: str
    ) -> bool:
        """Store a wait due at ``due`` in ``group`` (a rule and a record) under
        ``policy`` (``replace``, ``keep`` or ``parallel``); whether it was stored."""
        ...

    async def cancel(self, group: str, *, reason: str) -> int:
        """Cancel the pending waits of ``group``; how many."""
        ...


@dataclass(frozen=True)
class ActionContext:
    """What an action function receives besides its parameters.

    ``key`` identifies this run of the action (see :class:`PlannedAction`).
    For a ``reconcile`` function (an interrupted run may have happened):
    ``intent_at`` is when that run was about to start (epoch seconds),
    ``own_tokens`` the runner's own API token ids, and ``claimed(field,
    value)`` says whether another action's recorded result already is what
    was found, so nothing another event made is adopted as this one's.
    """

    attio: AttioClient
    schema: SchemaCache
    event: EventContext
    key: str
    intent_at: float | None = None
    own_tokens: frozenset[str] = frozenset()
    claimed: Callable[[str, str], Awaitable[bool]] | None = None
    #: Where rules' waits are kept (None where nothing is stored: dry runs).
    waits: WaitKeeper | None = None

    @property
    def services(self) -> Services:
        """The services, acting at once: an action is where a plan is carried out."""
        return Services.over(self.attio, self.schema, self.event.records)

    async def could_be_ours(self, field: str, found: Mapping[str, Any]) -> bool:
        """Whether ``found`` (a note, task or entry Attio returned, its id in
        ``found["id"][field]``) can be what this action's interrupted run made:
        made by our token, not before the run's intent, and no other action's
        result already."""
        actor = found.get("created_by_actor") or {}
        if actor.get("type") != "api-token":
            return False
        if self.own_tokens and actor.get("id") not in self.own_tokens:
            return False
        created = found.get("created_at")
        if self.intent_at is not None and isinstance(created, str):
            try:
                moment = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
            except ValueError:
                moment = None
            # A little slack for the two clocks: ours wrote the intent, Attio's the time.
            if moment is not None and moment < self.intent_at - _CLOCK_SLACK:
                return False
        identifier = (found.get("id") or {}).get(field)
        if self.claimed is not None and isinstance(identifier, str):
            return not await self.claimed(field, identifier)
        return True


#: An action: ``async def action(ctx, params) -> result`` (a JSON-able result).
ActionFn = Callable[[ActionContext, Mapping[str, Any]], Awaitable[Any]]
#: Finds out whether an action already happened: its earlier result, or None.
ReconcileFn = Callable[[ActionContext, Mapping[str, Any]], Awaitable[Any]]
#: What makes a run of an action the same action, from its parameters (a
#: string), when not every parameter does; None falls back to all of them.
IdentityFn = Callable[[Mapping[str, Any]], str | None]


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
        identity: IdentityFn | None = None,
    ) -> None: ...
