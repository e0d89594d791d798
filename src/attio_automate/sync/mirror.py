"""The mirror as a built-in plugin: Attio's record and entry events, through
the inbox, applied to the mirror tables.

Events reach it like any plugin's, so the inbox's promises hold for the
mirror too: per-record order, nothing acknowledged lost (a runner that was
down catches up from the inbox), retried when the sync database is away.
Its writes are planned actions (``sync.mirror``), so they are traced and
dry-runnable.  It also sees the events the runner's own writes cause (the
loop guard keeps those from every other plugin and rule): the mirror must
hold what Attio holds, whoever changed it.

Applying an event writes the record or entry as Attio has it now (fetched
for the event, never older than it), so applying one twice, or late, leaves
the row as it should be.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from attio_automate.attio.schema import Target
from attio_automate.bus.context import (
    ActionContext,
    EventContext,
    Interest,
    RegisterAction,
)
from attio_automate.bus.hookspecs import hookimpl
from attio_automate.clock import Clock, SystemClock
from attio_automate.sync.database import SyncDatabase
from attio_automate.sync.outbox import Outbox
from attio_automate.sync.push import PUSH_SCHEMA, push_row
from attio_automate.sync.rows import row_for
from attio_automate.sync.spec import MirrorSpec, SyncSpec

PLUGIN_NAME = "sync"

_MIRROR_SCHEMA = {
    "type": "object",
    "properties": {
        "table": {"type": "string"},
        "key": {"type": "string"},
        "op": {"enum": ["upsert", "delete", "merge"]},
        "into": {"type": "string"},
    },
    "required": ["table", "key", "op"],
    "additionalProperties": False,
}


class SyncPlugin:
    """The mirror (and, through :mod:`attio_automate.sync.push`, the
    outbox's pushes) on the bus.  ``database`` is set when the runner opens
    the sync database; until then no event reaches it."""

    PLUGIN_NAME = PLUGIN_NAME

    def __init__(self, spec: SyncSpec) -> None:
        self.spec = spec
        self.database: SyncDatabase | None = None
        #: The outbox of that database, once it is open.
        self.outbox: Outbox | None = None
        #: The runner's clock (when a row was synced).
        self.clock: Clock = SystemClock()

    def attach(self, database: SyncDatabase, clock: Clock) -> None:
        """Start mirroring into ``database`` (open) and pushing its outbox."""
        self.database = database
        self.clock = clock
        self.outbox = Outbox(database, clock)

    @hookimpl
    def register_actions(self, register: RegisterAction) -> None:
        register(
            "sync.mirror",
            self._apply,
            schema=_MIRROR_SCHEMA,
            description="apply an Attio change to the mirror table (built-in sync)",
            idempotent=True,
        )
        register(
            "sync.push",
            self._push,
            schema=PUSH_SCHEMA,
            description="upsert an outbox row into Attio (built-in sync)",
            # An assert: running it again after a crash writes the same values.
            idempotent=True,
        )

    @hookimpl
    def wanted_events(self) -> list[Interest]:
        objects = tuple(m.object for m in self.spec.mirrors if m.object is not None)
        lists = tuple(m.list for m in self.spec.mirrors if m.list is not None)
        wanted = []
        if objects:
            wanted.append(Interest(event_types=("record.*",), objects=objects))
        if lists:
            wanted.append(Interest(event_types=("list-entry.*",), lists=lists))
        wanted.append(Interest(event_types=("outbox.push",), record=False))
        return wanted

    @hookimpl
    def handle_event(self, event: EventContext) -> None:
        if self.database is None:
            return
        if event.event.event_type == "outbox.push":
            row = int(event.event.id.get("outbox_id", 0))
            event.plan("sync.push", {"row": row}, source=PLUGIN_NAME)
            return
        if event.event.reconciled is not None:
            # The reconcile that found this change wrote the row already.
            event.trace.notes.append(
                f"synthetic: found by reconcile {event.event.reconciled.get('run')}"
            )
            return
        for params in self.decide(event):
            event.plan("sync.mirror", params, source=PLUGIN_NAME)

    def decide(self, event: EventContext) -> list[dict[str, Any]]:
        """What the event does to the mirror (as ``sync.mirror`` parameters)."""
        kind = event.event.event_type
        ids = event.event.id
        if kind.startswith("list-entry.") and event.list is not None:
            mirror = self.spec.mirror_for(list=event.list)
            key = ids.get("entry_id")
        elif kind.startswith("record.") and event.object is not None:
            mirror = self.spec.mirror_for(object=event.object)
            key = ids.get("record_id")
        else:
            return []
        if mirror is None or not key:
            return []
        base = {"table": mirror.table, "key": str(key)}
        if kind == "record.merged":
            # Attio keeps ``record_id`` and merges ``duplicate_record_id`` into it.
            loser = ids.get("duplicate_record_id")
            merges = [{"table": mirror.table, "key": str(loser), "op": "merge", "into": key}]
            live = [] if event.gone else [{**base, "op": "upsert"}]
            return merges + live if loser else live
        if kind.endswith(".deleted") or event.gone:
            return [{**base, "op": "delete"}]
        return [{**base, "op": "upsert"}]

    async def _apply(self, ctx: ActionContext, params: Mapping[str, Any]) -> Any:
        database = self.database
        if database is None:
            raise RuntimeError("the sync database is not open")
        mirror = next(m for m in self.spec.mirrors if m.table == params["table"])
        now = datetime.fromtimestamp(ctx.event.received_at, UTC)
        synced = datetime.fromtimestamp(self.clock.time(), UTC)
        op = params["op"]
        if op in ("delete", "merge"):
            found = await database.mark_deleted(
                mirror, params["key"], at=synced, merged_into=params.get("into")
            )
            return {"table": mirror.table, op: params["key"], "was_mirrored": found}
        item = _item(ctx.event, mirror)
        if item is None:
            # Gone since the event came: its own delete event follows.
            return {"table": mirror.table, "skipped": params["key"], "reason": "gone"}
        target: Target = "lists" if mirror.is_list else "objects"
        attributes = await ctx.schema.attributes(target, mirror.source)
        await database.upsert(mirror, [row_for(mirror, attributes, item, synced_at=synced)])
        return {"table": mirror.table, "upserted": params["key"], "as_of": now.isoformat()}

    async def _push(self, ctx: ActionContext, params: Mapping[str, Any]) -> Any:
        if self.outbox is None:
            raise RuntimeError("the sync database is not open")
        return await push_row(
            ctx, int(params["row"]), outbox=self.outbox, conflicts=self.spec.conflicts
        )


def _item(event: EventContext, mirror: MirrorSpec) -> dict[str, Any] | None:
    """The record or entry the event fetched, in Attio's form again."""
    if mirror.is_list:
        entry = event.entry
        if entry is None:
            return None
        return {
            "id": {"entry_id": entry["entry_id"]},
            "parent_record_id": entry.get("parent_record_id"),
            "parent_object": event.object,
            "entry_values": entry.get("raw") or {},
        }
    record = event.record
    if record is None:
        return None
    return {"id": {"record_id": record["record_id"]}, "values": record.get("raw") or {}}
