"""The hooks plugins implement.  Each is documented in ``docs/plugins.md``.

Implement them with :data:`hookimpl`::

    from attio_automate import hookimpl

    @hookimpl
    def register_actions(register):
        register("greet", greet, schema={"type": "object"})

Hooks may be plain functions or ``async def``; the bus awaits the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from attio_automate.bus.context import ActionOutcome, AppContext, EventContext, RegisterAction

PROJECT = "attio_automate"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorator marking a plugin's hook implementations.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_actions(register: RegisterAction) -> None:
    """Register actions rules can use: ``register(name, fn, schema=..., description=...)``.

    Called once when the runner builds its action registry (sync only).
    """


@hookspec
def startup(app: AppContext) -> Any:
    """The runner is starting: open what the plugin needs (may be async)."""


@hookspec
def shutdown(app: AppContext) -> Any:
    """The runner is stopping: close what ``startup`` opened (may be async)."""


@hookspec
def handle_event(event: EventContext) -> Any:
    """Look at one event and plan actions with ``event.plan(...)`` (may be async).

    Called for every event, after enrichment; a raise is recorded in the
    event's trace and does not stop the other plugins.
    """


@hookspec
def action_finished(event: EventContext, outcome: ActionOutcome) -> Any:
    """An action ran (or failed, or was skipped as done); observe it (may be async)."""
