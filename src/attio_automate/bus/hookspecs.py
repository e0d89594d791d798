"""The hooks plugins implement.  Each is documented in ``docs/plugins.md``.

Implement them with :data:`hookimpl`::

    from attio_automate import hookimpl

    @hookimpl
    def register_actions(register):
        register("greet", greet, schema={"type": "object"})

Hooks may be plain functions or ``async def``; the bus awaits the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from attio_automate.bus.context import (
        ActionOutcome,
        AppContext,
        EventContext,
        Interest,
        RegisterAction,
    )

PROJECT = "attio_automate"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorator marking a plugin's hook implementations.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_actions(register: RegisterAction) -> None:
    """Register the actions rules and plugins can plan.

    :param register: ``register(name, fn, *, schema=None, description="",
        idempotent=False, reconcile=None, identity=None)``, once per action:

        - ``name``: ``"plugin.action"`` (built-ins are bare); a duplicate is refused.
        - ``fn``: ``async def fn(ctx: ActionContext, params) -> result``; the
          result must be JSON-serialisable (it goes into the trace).
        - ``schema``: JSON Schema of ``params``, checked when rules load and
          again after templates render.
        - ``description``: one line for ``attio-automate plugins``.
        - ``idempotent``: running it twice has the effect of running it once
          (an assert, a PUT); a run interrupted after it may have happened is
          simply run again.
        - ``reconcile``: for actions that are not idempotent, ``async def
          reconcile(ctx, params) -> result or None`` finds out whether an
          interrupted run happened after all (its result) or not (None).
          Without it, an interrupted run goes to the dead letter for a person
          to check rather than risk doing it twice.
        - ``identity``: ``identity(params) -> str | None``: what makes two runs
          the same action when not every parameter does (a deadline computed
          from the time, say).  By default every rendered parameter does.

    Sync only; called once, when the runner builds its action registry.
    """


@hookspec
def startup(app: AppContext) -> Any:
    """The runner is starting: open what the plugin needs.

    :param app: the shared ``attio`` client, the ``schema`` cache and the plugin
        ``settings`` from the configuration (``app.settings_for("name")``).

    Sync or async; called once, before any event.
    """


@hookspec
def shutdown(app: AppContext) -> Any:
    """The runner is stopping: close what ``startup`` opened.

    :param app: the same ``AppContext`` ``startup`` had.

    Sync or async; called once, after the last event.
    """


@hookspec
def wanted_events() -> Interest | Sequence[Interest] | None:
    """Say which events this plugin's ``handle_event`` wants.

    Return one ``Interest`` (or several): event type globs, object and list
    slugs, and whether the record is needed.  Events nobody wants are not
    fetched from Attio, and ``handle_event`` is not called for them.  A
    plugin that implements ``handle_event`` but not this hook wants every
    event, with its record.

    Sync or async; asked for each event (keep it cheap).
    """


@hookspec
def handle_event(event: EventContext) -> Any:
    """Look at one event and plan actions with ``event.plan(...)``.

    :param event: the event, enriched: ``event`` (Attio's), ``key``,
        ``object``, ``list``, ``record``, ``entry``, ``changed``,
        ``previous``, ``gone``, ``attio``, ``schema``, ``trace``.

    Sync or async; called for every event some plugin wants (see
    ``wanted_events``).  A raise is recorded in the event's trace and does
    not stop the other plugins; the event then ends as that error says:
    tried again later (Attio unavailable, a timeout) or in the dead letter.
    """


@hookspec
def action_finished(event: EventContext, outcome: ActionOutcome) -> Any:
    """Observe how a planned action ended.

    :param event: the event the action was planned for.
    :param outcome: ``status`` (``done``, ``failed``, or ``skipped`` as done
        before), ``result``, ``error``, ``seconds`` and the ``planned`` action.

    Sync or async; called after each planned action.  A raise is recorded in
    the trace and ends the event as the error says, like ``handle_event``.
    """
