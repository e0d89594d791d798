"""attio-automate plugin: write every event and every finished action as JSON lines.

An observer: it plans nothing.  Each line is one JSON object with ``kind``
(``startup``, ``event``, ``action`` or ``shutdown``) and ``at`` (UTC time).
The file is the ``path`` setting of the ``jsonl_log`` plugin; without one
the plugin stays quiet (installing it must not start writing files into
whatever folder a runner happens to run in).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import anyio

from attio_automate import ActionOutcome, AppContext, EventContext, Interest, hookimpl

PLUGIN_NAME = "jsonl_log"
log = logging.getLogger(PLUGIN_NAME)


def log_path(settings: Mapping[str, Any]) -> anyio.Path | None:
    path = settings.get("path")
    return anyio.Path(str(path)) if path else None


async def append(path: anyio.Path | None, kind: str, **fields: Any) -> None:
    """Append one line; each write is whole, so lines from concurrent events do not mix."""
    if path is None:
        return
    line = json.dumps(
        {"kind": kind, "at": datetime.now(UTC).isoformat(), **fields},
        ensure_ascii=False,
        default=str,
    )
    async with await path.open("a", encoding="utf-8") as handle:
        await handle.write(line + "\n")


@hookimpl
async def startup(app: AppContext) -> None:
    path = log_path(app.settings_for(PLUGIN_NAME))
    if path is None:
        log.warning("jsonl_log is installed but has no path setting: it writes nothing")
        return
    await path.parent.mkdir(parents=True, exist_ok=True)
    await append(path, "startup")


@hookimpl
async def shutdown(app: AppContext) -> None:
    await append(log_path(app.settings_for(PLUGIN_NAME)), "shutdown")


@hookimpl
def wanted_events() -> Interest:
    """Every event, but never the record: logging one costs Attio no read."""
    return Interest(record=False)


@hookimpl
async def handle_event(event: EventContext) -> None:
    await append(
        log_path(event.settings_for(PLUGIN_NAME)),
        "event",
        key=event.key,
        event=event.event.to_json(),
        object=event.object,
        list=event.list,
        record_id=event.event.id.get("record_id") or event.event.id.get("parent_record_id"),
        gone=event.gone,
    )


@hookimpl
async def action_finished(event: EventContext, outcome: ActionOutcome) -> None:
    await append(
        log_path(event.settings_for(PLUGIN_NAME)),
        "action",
        event_key=event.key,
        key=outcome.planned.key,
        action=outcome.planned.action,
        source=outcome.planned.source,
        status=outcome.status,
        result=outcome.result,
        error=outcome.error,
        seconds=round(outcome.seconds, 4),
    )
