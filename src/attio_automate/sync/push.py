"""Pushing one outbox row to Attio: an upsert with assert on the row's
matching attribute, after a look for changes that crossed it.

A crossing is an attribute Attio changed after the application did (its
value's ``active_from`` is later than the row's ``changed_at``) to a value
other than the row's.  Under ``last_write_wins`` the later one stays: Attio's
values are left out of the write and the result says so (it is traced);
under ``queue`` nothing is written and the row waits as a conflict for
``sync conflicts resolve``.

The outcome goes on the row: ``done`` with the record id, ``failed`` with
Attio's code and message (a write Attio refused; ``sync outbox retry``
sends it again), or ``conflict``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from attio_automate.attio.client import AttioClient
from attio_automate.attio.values import simplify_value
from attio_automate.bus.context import ActionContext
from attio_automate.errors import ActionError, AttioAPIError
from attio_automate.sync.columns import parse_time
from attio_automate.sync.outbox import CONFLICT, DONE, FAILED, Outbox, match_value
from attio_automate.sync.spec import Conflicts

PUSH_SCHEMA = {
    "type": "object",
    "properties": {"row": {"type": "integer"}},
    "required": ["row"],
    "additionalProperties": False,
}


async def push_row(
    ctx: ActionContext, row_id: int, *, outbox: Outbox, conflicts: Conflicts
) -> dict[str, Any]:
    """Push outbox row ``row_id``; the outcome (also written on the row)."""
    row = await outbox.row(row_id)
    if row is None:
        raise ActionError(f"outbox row {row_id} is not there (deleted by the application?)")
    if row["status"] == DONE:
        # Done before a crash took the ledger's note with it.
        return {"row": row_id, "record_id": row["record_id"], "already": True}
    values = row["values"]
    if not isinstance(values, Mapping) or not values:
        return await _refuse(outbox, row_id, "invalid_values", "values must be a JSON object")
    obj, matching = str(row["object"]), str(row["matching_attribute"])
    resolved = (row.get("conflict") or {}).get("resolved")
    found = await current_record(ctx.attio, obj, matching, values)
    if found is not None and same_values_as(found, values):
        # Attio has these values already: a push that a crash interrupted
        # after Attio's answer, or a change made there too.  Nothing to write.
        record_id = str(found["id"]["record_id"])
        await outbox.set(row_id, status=DONE, record_id=record_id)
        return {"row": row_id, "record_id": record_id, "unchanged": True}
    kept: dict[str, Any] = {}
    if resolved != "local" and found is not None:
        crossed = _crossings(found, values, _aware(row["changed_at"]))
        if crossed and conflicts == "queue":
            await outbox.set(row_id, status=CONFLICT, conflict={"attributes": crossed})
            return {"row": row_id, "conflict": crossed}
        kept = {slug: crossed[slug] for slug in crossed if slug != matching}
    to_write = {slug: value for slug, value in values.items() if slug not in kept}
    try:
        record = await ctx.services.contacts.upsert(obj, matching, to_write)
    except AttioAPIError as exc:
        if not exc.retryable:
            await outbox.set(row_id, status=FAILED, error_code=exc.code, error_message=exc.message)
        raise
    await outbox.set(row_id, status=DONE, record_id=record.record_id)
    result: dict[str, Any] = {"row": row_id, "record_id": record.record_id}
    if kept:
        result["kept_attio"] = {
            slug: f"Attio's value from {c['attio_at']} is later than the local change "
            f"({c['local_at']}): last write wins"
            for slug, c in kept.items()
        }
    return result


async def _refuse(outbox: Outbox, row_id: int, code: str, message: str) -> dict[str, Any]:
    await outbox.set(row_id, status=FAILED, error_code=code, error_message=message)
    raise ActionError(f"outbox row {row_id}: {message}")


async def current_record(
    attio: AttioClient, obj: str, matching: str, values: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The record ``values`` match on ``matching``, as Attio has it now
    (None: not there yet)."""
    match = values.get(matching)
    first = match[0] if isinstance(match, list) and match else match
    if first is None:
        return None
    found = [r async for r in attio.query_records(obj, filter={matching: first}, limit=1)]
    return found[0] if found else None


def same_values_as(record: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether ``record`` holds every one of ``values`` (simple values) already."""
    return all(_same(_simple(record, slug), local) for slug, local in values.items())


def _simple(record: Mapping[str, Any], slug: str) -> list[Any]:
    current = (record.get("values") or {}).get(slug) or []
    return [simplify_value(v) for v in current if v.get("active_until") is None]


def _crossings(
    record: Mapping[str, Any], values: Mapping[str, Any], changed_at: datetime
) -> dict[str, dict[str, Any]]:
    """Attributes Attio changed, after ``changed_at``, to something else."""
    current = record.get("values") or {}
    crossed = {}
    for slug, local in values.items():
        active = [v for v in current.get(slug) or [] if v.get("active_until") is None]
        stamps = [parse_time(str(v["active_from"])) for v in active if v.get("active_from")]
        if not stamps or max(stamps) <= changed_at:
            continue
        theirs = [simplify_value(v) for v in active]
        if _same(theirs, local):
            continue
        crossed[slug] = {
            "local": local,
            "attio": theirs if len(theirs) != 1 else theirs[0],
            "local_at": changed_at.isoformat(),
            "attio_at": max(stamps).isoformat(),
        }
    return crossed


def _same(theirs: list[Any], local: Any) -> bool:
    """Whether Attio's simplified values are what the row says (loosely:
    as sets of text, names by their full form)."""
    mine = local if isinstance(local, list) else [local]

    def text(value: Any) -> str:
        if isinstance(value, Mapping):
            value = value.get("full_name") or value.get("record_id") or value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip().lower()

    return {text(v) for v in theirs} == {text(v) for v in mine if v is not None}


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = parse_time(value)
    if not isinstance(value, datetime):
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


__all__ = ["PUSH_SCHEMA", "current_record", "match_value", "push_row", "same_values_as"]
