"""Helpers actions share: which record to act on, and short results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attio_automate.bus.context import ActionContext
from attio_automate.errors import ActionError


def target_record(ctx: ActionContext, params: Mapping[str, Any]) -> tuple[str, str]:
    """``(object slug, record id)`` from ``params`` or, by default, the event's record."""
    obj = params.get("object") or ctx.event.object
    record_id = params.get("record_id")
    if record_id is None and ctx.event.record is not None:
        record_id = ctx.event.record.get("record_id")
        obj = params.get("object") or ctx.event.record.get("object") or obj
    if not obj or not record_id:
        raise ActionError("this event has no record to act on: give 'object' and 'record_id'")
    return str(obj), str(record_id)


def summary(kind: str, data: Mapping[str, Any], id_key: str) -> dict[str, Any]:
    """A short result for traces: the new thing's id and link."""
    result: dict[str, Any] = {kind: data.get("id", {}).get(id_key)}
    if data.get("web_url"):
        result["web_url"] = data["web_url"]
    return result
