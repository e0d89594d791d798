"""Processing one event: enrich, let every plugin decide, run the actions.

The same path serves the runner, dry runs and rule tests; only the client it
talks to differs.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from attio_automate.actions.registry import ActionRegistry
from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.bus.bus import HookBus
from attio_automate.bus.context import ActionContext, ActionOutcome, EventContext, PlannedAction
from attio_automate.errors import (
    ActionError,
    AttioAutomateError,
    AttioError,
    AttioOutcomeUnknown,
)
from attio_automate.events import AttioEvent
from attio_automate.processing.enrich import enrich
from attio_automate.rules.templates import TemplateProblem
from attio_automate.store.base import LedgerEntry

JSON = dict[str, Any]
Status = Literal["done", "retry", "failed", "skipped"]


class Ledger(Protocol):
    """Remembers actions by key so a retried event skips what already happened.

    ``intend`` is written (durably) before a non-idempotent action runs;
    ``record`` once it is done.  An intent without a record means the runner
    stopped in between: the action may or may not have happened.
    """

    async def lookup(self, key: str) -> LedgerEntry | None: ...
    async def intend(self, key: str, action: str) -> None: ...
    async def record(self, key: str, action: str, result: Any) -> None: ...


class MemoryLedger:
    """A ledger in memory (tests, dry runs, the demo)."""

    def __init__(self) -> None:
        self.entries: dict[str, LedgerEntry] = {}

    async def lookup(self, key: str) -> LedgerEntry | None:
        return self.entries.get(key)

    async def intend(self, key: str, action: str) -> None:
        self.entries.setdefault(key, LedgerEntry(key, "intent", action, None))

    async def record(self, key: str, action: str, result: Any) -> None:
        self.entries[key] = LedgerEntry(key, "done", action, result)


@dataclass
class EventResult:
    """How processing one event ended.

    ``status``: ``done``; ``retry`` (Attio was unavailable: try later);
    ``failed`` (permanent: dead letter, ``reason`` says why); ``skipped``
    (the loop guard dropped it).
    """

    status: Status
    context: EventContext | None
    outcomes: list[ActionOutcome] = field(default_factory=list)
    reason: str = ""
    error: JSON | None = None

    def trace(self) -> JSON:
        data: JSON = {"status": self.status, "reason": self.reason}
        if self.context is not None:
            data.update(self.context.trace.to_json())
            data["object"] = self.context.object
            data["list"] = self.context.list
            data["changed"] = self.context.changed
            data["gone"] = self.context.gone
        if self.error:
            data["error"] = self.error
        return data


class EventProcessor:
    """Runs events through enrichment, the bus and the actions."""

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
    ) -> None:
        self.settings = settings or {}
        #: Tells other runners about a schema change ("schema:objects:<id>").
        self.announce: Callable[[str], Awaitable[None]] | None = None
        self.bus = bus
        self.actions = actions
        self.attio = attio
        self.schema = schema
        self.own_actor_ids = set(own_actor_ids)
        self.loop_guard = loop_guard
        self._clock = clock

    async def process(
        self,
        event: AttioEvent,
        *,
        key: str,
        ledger: Ledger | None = None,
        force: bool = False,
        before_action: Callable[[PlannedAction], Awaitable[None]] | None = None,
    ) -> EventResult:
        """Process ``event``; ``ledger`` skips actions done before unless ``force``."""
        actor = event.actor
        if (
            self.loop_guard
            and actor.get("type") == "api-token"
            and (actor.get("id") in self.own_actor_ids or actor.get("id") in self.attio.token_ids)
        ):
            return EventResult("skipped", None, reason="loop guard: made by our own API token")
        try:
            ctx = await enrich(
                event,
                key=key,
                attio=self.attio,
                schema=self.schema,
                settings=self.settings,
                announce=self.announce,
            )
        except AttioError as exc:
            return _error_result(None, exc, "enrichment")
        for failure in await self.bus.call("handle_event", event=ctx):
            ctx.trace.errors.append(failure.to_json())
        outcomes: list[ActionOutcome] = []
        result = EventResult("done", ctx, outcomes)
        for planned in ctx.plans:
            outcome = await self._run(ctx, planned, ledger, force, before_action)
            outcomes.append(outcome)
            ctx.trace.actions.append(_outcome_json(outcome))
            for failure in await self.bus.call("action_finished", event=ctx, outcome=outcome):
                ctx.trace.errors.append(failure.to_json())
            if outcome.status == "failed":
                assert outcome.error is not None
                retry = outcome.error.get("retryable", False)
                result.status = "retry" if retry else "failed"
                result.reason = (
                    f"action {planned.action} ({planned.source}) failed: "
                    f"{_error_text(outcome.error)}"
                )
                result.error = outcome.error
                return result
        permanent = [e for e in ctx.trace.errors if e.get("permanent")]
        if permanent:
            result.status = "failed"
            result.reason = f"rule {permanent[0].get('rule')}: {permanent[0]['error']}"
            result.error = permanent[0]
        elif ctx.gone and not ctx.plans:
            result.reason = "gone: the record no longer exists"
        return result

    async def _run(
        self,
        ctx: EventContext,
        planned: PlannedAction,
        ledger: Ledger | None,
        force: bool,
        before_action: Callable[[PlannedAction], Awaitable[None]] | None,
    ) -> ActionOutcome:
        earlier = None if ledger is None or force else await ledger.lookup(planned.key)
        if earlier is not None and earlier.state == "done":
            return ActionOutcome(planned, "skipped", result=earlier.result)
        started = self._clock()
        context = ActionContext(self.attio, self.schema, ctx, planned.key)
        try:
            action = self.actions.get(planned.action)
            if action is None:
                raise ActionError(f"unknown action {planned.action!r}")
            problems = self.actions.check(planned.action, planned.params, templated=False)
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
                found = await action.reconcile(context, planned.params)
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
            result = await action.fn(context, planned.params)
        except Exception as exc:
            return ActionOutcome(
                planned, "failed", error=_describe(exc), seconds=self._clock() - started
            )
        if ledger is not None:
            await ledger.record(planned.key, planned.action, result)
        return ActionOutcome(planned, "done", result=result, seconds=self._clock() - started)


def _describe(exc: Exception) -> JSON:
    if isinstance(exc, AttioError):
        # An unknown outcome is retried: the ledger's intent makes the retry
        # check Attio before repeating the write.
        retryable = exc.retryable or isinstance(exc, AttioOutcomeUnknown)
        data: JSON = {"kind": type(exc).__name__, "message": str(exc), "retryable": retryable}
        as_dict = getattr(exc, "as_dict", None)
        if callable(as_dict):
            data["attio"] = as_dict()
            data["message"] = getattr(exc, "message", str(exc))
        return data
    if isinstance(exc, AttioAutomateError | TemplateProblem):
        return {"kind": type(exc).__name__, "message": str(exc), "retryable": False}
    # A bug in an action: retrying the same input will not help.
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return {
        "kind": type(exc).__name__,
        "message": f"{exc} ({where.filename}:{where.lineno})",
        "retryable": False,
    }


def _error_text(error: JSON) -> str:
    """Attio's status and code with the message, when Attio refused."""
    attio = error.get("attio")
    if isinstance(attio, dict):
        return f"Attio {attio.get('status_code')} {attio.get('code')}: {attio.get('message')}"
    return str(error.get("message"))


def _error_result(ctx: EventContext | None, exc: AttioError, stage: str) -> EventResult:
    error = _describe(exc)
    status: Status = "retry" if exc.retryable else "failed"
    return EventResult(status, ctx, reason=f"{stage} failed: {_error_text(error)}", error=error)


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
