"""Processing one event: enrich, let every plugin decide, run the actions.

The same path serves the runner, dry runs and rule tests; only the client it
talks to differs.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from attio_automate.actions.registry import ActionRegistry
from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.bus.bus import HookBus, HookFailure
from attio_automate.bus.context import (
    ActionContext,
    ActionOutcome,
    EventContext,
    Interest,
    WaitKeeper,
)
from attio_automate.bus.planning import resolve_refs
from attio_automate.bus.plans import PlannedAction
from attio_automate.cache.records import RecordReader
from attio_automate.errors import ActionError
from attio_automate.events import AttioEvent
from attio_automate.processing.enrich import fetch, resolve
from attio_automate.processing.failures import Failure, classify
from attio_automate.processing.ledger import Ledger
from attio_automate.processing.results import EventResult
from attio_automate.store.base import LedgerEntry

JSON = dict[str, Any]


_LOOP_GUARD = "loop guard: made by our own API token"


class EventProcessor:
    """Runs events through enrichment, the bus and the actions.

    No exception escapes :meth:`process` (but cancellation): each ends the
    event in a defined state, ``retry`` or ``failed``, as
    :func:`~attio_automate.processing.failures.classify` says.
    """

    def __init__(
        self,
        *,
        bus: HookBus,
        actions: ActionRegistry,
        attio: AttioClient,
        schema: SchemaCache,
        own_actor_ids: Collection[str] = (),
        loop_guard: bool = True,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        remember_token: Callable[[str], Awaitable[None]] | None = None,
        records: RecordReader | None = None,
    ) -> None:
        self.settings = settings or {}
        #: Records and entries, through the record cache when there is one.
        self.records = records or RecordReader(attio)
        #: Where rules' waits are kept until due (the store's inbox, in a runner).
        self.waits: WaitKeeper | None = None
        #: Tells other runners about a schema change ("schema:objects:<id>").
        self.announce: Callable[[str], Awaitable[None]] | None = None
        self.bus = bus
        self.actions = actions
        self.attio = attio
        self.schema = schema
        self.own_actor_ids = set(own_actor_ids)
        self.loop_guard = loop_guard
        #: The plugin that still sees events the runner's own writes caused
        #: (the sync mirror: it must hold what Attio holds); None: nobody does.
        self.own_events_to: str | None = None
        #: Stores a token id the client learnt is ours, so the loop guard
        #: knows it after a restart too.
        self.remember_token = remember_token
        self._clock = clock
        #: Epoch seconds: when an event is taken to be received, if not given.
        self.wall_clock = wall_clock

    def is_own(self, actor: Mapping[str, Any]) -> bool:
        """Whether ``actor`` is the runner's own API token (the loop guard)."""
        if actor.get("type") != "api-token":
            return False
        token = actor.get("id")
        return token in self.own_actor_ids or token in self.attio.token_ids

    async def enrich(
        self, event: AttioEvent, *, key: str, received_at: float, audience: str | None = None
    ) -> EventContext:
        """The event with slugs resolved and, when a plugin or rule that
        needs it wants the event, its record (or entry) fetched; only the
        ``audience`` plugin is asked, when there is one."""
        ctx = await resolve(
            event,
            key=key,
            attio=self.attio,
            schema=self.schema,
            received_at=received_at,
            settings=self.settings,
            announce=self.announce,
            records=self.records,
        )
        ctx.identify = self.actions.identity
        ctx.audience = audience
        wanted, needs_record = await self._wanted(ctx)
        ctx.wanted = wanted
        if needs_record:
            await fetch(ctx)
        return ctx

    async def decide(self, ctx: EventContext) -> list[Failure]:
        """Let every plugin that wants it look at ``ctx`` and plan; the
        failures (also in the trace's ``errors``), classified."""
        # A rule's wait that fell due, or a scheduled run, is the rules' own
        # business: plugins saw the events they came from when they arrived.
        only = "rules" if ctx.event.rules_only else ctx.audience
        hook_failures = await self.bus.call("handle_event", only=only, event=ctx)
        return [_noted(ctx, failure) for failure in hook_failures]

    async def process(
        self,
        event: AttioEvent,
        *,
        key: str,
        received_at: float | None = None,
        ledger: Ledger | None = None,
        force: bool = False,
        before_action: Callable[[PlannedAction], Awaitable[None]] | None = None,
    ) -> EventResult:
        """Process ``event``; ``ledger`` skips actions done before unless ``force``.

        ``received_at`` (epoch seconds, now by default) is the event's time as
        templates see it.
        """
        audience = None
        if self.loop_guard and self.is_own(event.actor):
            if self.own_events_to is None:
                return EventResult("skipped", None, reason=_LOOP_GUARD)
            audience = self.own_events_to
        if received_at is None:
            received_at = self.wall_clock()
        try:
            return await self._process(
                event, key, received_at, ledger, force, before_action, audience
            )
        except Exception as exc:
            # Every expected failure is handled inside; this is a bug of ours,
            # and it still ends the event in a defined state.
            return EventResult.failure(classify(exc), "processing failed")
        finally:
            await self._remember_tokens()

    async def _process(
        self,
        event: AttioEvent,
        key: str,
        received_at: float,
        ledger: Ledger | None,
        force: bool,
        before_action: Callable[[PlannedAction], Awaitable[None]] | None,
        audience: str | None = None,
    ) -> EventResult:
        try:
            ctx = await self.enrich(event, key=key, received_at=received_at, audience=audience)
        except Exception as exc:
            return EventResult.failure(classify(exc), "enrichment failed")
        if not ctx.wanted:
            if audience is not None:
                return EventResult("skipped", ctx, reason=_LOOP_GUARD)
            return EventResult("done", ctx, reason="no rule or plugin wants this event")
        await self.decide(ctx)
        result = EventResult("done", ctx)
        made: dict[str, Any] = {}
        for planned in ctx.plans:
            outcome = await self._run(ctx, planned, ledger, force, before_action, made)
            made[planned.key] = outcome.result
            result.outcomes.append(outcome)
            ctx.trace.actions.append(_outcome_json(outcome))
            for hook_failure in await self.bus.call("action_finished", event=ctx, outcome=outcome):
                _noted(ctx, hook_failure)
            if outcome.status == "failed":
                assert outcome.error is not None
                failure = Failure.from_json(outcome.error)
                where = f"action {planned.action} ({planned.source}) failed"
                elsewhere = any(e.get("permanent") for e in ctx.trace.errors)
                return result.ended(failure, where, permanent_elsewhere=elsewhere)
        permanent = [e for e in ctx.trace.errors if e.get("permanent")]
        retryable = [e for e in ctx.trace.errors if e.get("retryable")]
        if permanent or retryable:
            first = (permanent or retryable)[0]
            who = f"rule {first['rule']}" if first.get("rule") else f"plugin {first.get('plugin')}"
            result.status = "failed" if permanent else "retry"
            result.reason = f"{who}: {first['error']}"
            result.error = first
            result.outage = not permanent and all(e.get("outage") for e in retryable)
        elif ctx.gone and not ctx.plans:
            result.reason = "gone: the record no longer exists"
        return result

    async def _wanted(self, ctx: EventContext) -> tuple[bool, bool]:
        """Whether any plugin wants the event, and whether one needs its record."""
        if ctx.event.rules_only:
            return True, True  # the rule judges the record as it is now
        hook = self.bus.manager.hook
        handlers = {impl.plugin_name for impl in hook.handle_event.get_hookimpls()}
        declared = {impl.plugin_name for impl in hook.wanted_events.get_hookimpls()}
        if ctx.audience is not None:
            declared &= {ctx.audience}
            handlers &= {ctx.audience}
            if not handlers:
                return False, False
        if handlers - declared:
            return True, True
        answers, failures = await self.bus.call_for_results("wanted_events", only=ctx.audience)
        if failures:
            for failure in failures:
                _noted(ctx, failure)
            # Not knowing what a plugin wants: give it everything.
            return True, True
        interests: list[Interest] = []
        for answer in answers:
            interests.extend([answer] if isinstance(answer, Interest) else answer)
        event_type = ctx.event.event_type
        matching = [i for i in interests if i.matches(event_type, ctx.object, ctx.list)]
        return bool(matching), any(i.record for i in matching)

    async def _remember_tokens(self) -> None:
        new = self.attio.token_ids - self.own_actor_ids
        for token in sorted(new):
            self.own_actor_ids.add(token)
            if self.remember_token is not None:
                try:
                    await self.remember_token(token)
                except Exception:
                    # Known in this process already; the next write teaches it again.
                    self.own_actor_ids.discard(token)

    async def _run(
        self,
        ctx: EventContext,
        planned: PlannedAction,
        ledger: Ledger | None,
        force: bool,
        before_action: Callable[[PlannedAction], Awaitable[None]] | None,
        made: Mapping[str, Any] | None = None,
    ) -> ActionOutcome:
        started = self._clock()
        try:
            try:
                # What earlier actions of this event made, where a plan refers to it.
                params = resolve_refs(planned.params, made or {})
            except (KeyError, TypeError) as missing:
                raise ActionError(
                    f"refers to the result of {missing}, which this event has not made"
                ) from None
            earlier = None if ledger is None or force else await _earlier(ledger, planned)
            if earlier is not None and earlier.state == "done":
                return ActionOutcome(planned, "skipped", result=earlier.result)
            context = ActionContext(
                self.attio,
                self.schema,
                ctx,
                planned.key,
                intent_at=earlier.at if earlier is not None else None,
                own_tokens=frozenset(self.own_actor_ids | self.attio.token_ids),
                claimed=_claims(ledger, planned),
                waits=self.waits,
            )
            action = self.actions.get(planned.action)
            if action is None:
                raise ActionError(f"unknown action {planned.action!r}")
            problems = self.actions.check(planned.action, params, templated=False)
            if problems:
                path, message = problems[0]
                where = ".".join(str(p) for p in path)
                raise ActionError(f"bad parameters{' at ' + where if where else ''}: {message}")
            if earlier is not None and not action.idempotent:
                # Interrupted after the intent: find out before repeating a create.
                if action.reconcile is None:
                    raise ActionError(
                        f"{planned.action} may already have happened (interrupted run) and "
                        "cannot be checked: verify in Attio, then retry with --force"
                    )
                found = await action.reconcile(context, params)
                if found is not None:
                    if ledger is not None:
                        await ledger.record(planned.key, planned.action, found)
                    return ActionOutcome(
                        planned, "done", result=found, seconds=self._clock() - started
                    )
            if before_action is not None:
                await before_action(planned)
            if ledger is not None and not action.idempotent:
                await ledger.intend(planned.key, planned.action)
            result = await action.fn(context, params)
            if ledger is not None:
                await ledger.record(planned.key, planned.action, result)
        except Exception as exc:
            return ActionOutcome(
                planned, "failed", error=_describe(exc), seconds=self._clock() - started
            )
        return ActionOutcome(planned, "done", result=result, seconds=self._clock() - started)


async def _earlier(ledger: Ledger, planned: PlannedAction) -> LedgerEntry | None:
    """What the ledger holds for ``planned``: under its identity, or (for
    ledgers written before identities) at its position with the same action.
    Both are asked for at once: one round trip per action, as before."""
    keys = [planned.key] if planned.legacy_key is None else [planned.key, planned.legacy_key]
    found = await ledger.lookup(keys)
    if planned.key in found:
        return found[planned.key]
    legacy = found.get(planned.legacy_key or "")
    return legacy if legacy is not None and legacy.action == planned.action else None


def _claims(
    ledger: Ledger | None, planned: PlannedAction
) -> Callable[[str, str], Awaitable[bool]] | None:
    if ledger is None:
        return None

    async def claimed(field: str, value: str) -> bool:
        return await ledger.claimed(planned.action, field, value, except_key=planned.key)

    return claimed


def _noted(ctx: EventContext, hook_failure: HookFailure) -> Failure:
    """Classify a plugin's failure and put it in the trace."""
    failure = classify(hook_failure.error)
    entry = hook_failure.to_json()
    entry["retryable"] = failure.retryable
    entry["permanent"] = not failure.retryable
    if failure.outage:
        entry["outage"] = True
    if failure.attio is not None:
        entry["attio"] = failure.attio
    ctx.trace.errors.append(entry)
    return failure


def _describe(exc: Exception) -> JSON:
    return classify(exc).to_json()


def _outcome_json(outcome: ActionOutcome) -> JSON:
    data: JSON = {
        "key": outcome.planned.key,
        "action": outcome.planned.action,
        "source": outcome.planned.source,
        "params": dict(outcome.planned.params),
        "status": outcome.status,
        "seconds": round(outcome.seconds, 4),
    }
    if outcome.result is not None:
        data["result"] = outcome.result
    if outcome.error is not None:
        data["error"] = outcome.error
    return data
