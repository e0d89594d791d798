"""Enrichment: from an event's ids to slugs, then (only for events someone
wants) the record, what changed and its former value."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.attio.values import simplify_value, simplify_values
from attio_automate.bus.context import EventContext
from attio_automate.cache.records import RecordReader
from attio_automate.errors import AttioAPIError
from attio_automate.events import AttioEvent

JSON = dict[str, Any]


async def resolve(
    event: AttioEvent,
    *,
    key: str,
    attio: AttioClient,
    schema: SchemaCache,
    received_at: float,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    announce: Callable[[str], Awaitable[None]] | None = None,
    records: RecordReader | None = None,
) -> EventContext:
    """The event with its object and list slugs resolved (through the schema
    cache: no read once it is warm), nothing fetched yet.  Schema events
    invalidate the schema cache, here and, through ``announce``, everywhere."""
    ctx = EventContext(
        event=event,
        key=key,
        attio=attio,
        schema=schema,
        settings=settings or {},
        received_at=received_at,
        records=records,
    )
    ids = event.id
    family = event.family
    if family in ("object-attribute", "list-attribute"):
        if family == "object-attribute":
            target, identifier = "objects", ids.get("object_id")
            schema.invalidate("objects", identifier)
        else:
            target, identifier = "lists", ids.get("list_id")
            schema.invalidate("lists", identifier)
        if announce is not None:
            # Every other runner forgets it too.
            await announce(f"schema:{target}:{identifier or ''}")
        return ctx
    if family == "record" and "object_id" in ids:
        ctx.object = (await schema.object(ids["object_id"])).slug
        ctx.gone = event.event_type.endswith(".deleted")
    elif family == "list-entry" and "list_id" in ids:
        lst = await schema.list(ids["list_id"])
        ctx.list, ctx.object = lst.slug, lst.parent_object
        ctx.gone = event.event_type.endswith(".deleted") or not ids.get("entry_id")
    elif ids.get("parent_object_id") and ids.get("parent_record_id"):
        ctx.object = (await schema.object(ids["parent_object_id"])).slug
    return ctx


async def fetch(ctx: EventContext) -> None:
    """Fetch what ``ctx``'s event is about: the record (and for
    ``record.updated`` what changed and its former value), or the entry and
    its parent record.

    A record or entry that no longer exists leaves ``record``/``entry`` None
    and sets ``gone``: a 404 is an answer, not an outage.
    """
    ctx.fetched = True
    event, ids = ctx.event, ctx.event.id
    family = event.family
    deleted = event.event_type.endswith(".deleted")
    if family == "record" and ctx.object is not None:
        record_id = ids.get("record_id")
        if record_id and not deleted:
            ctx.record = await _record(ctx, ctx.object, record_id)
            if ctx.record is not None and event.event_type == "record.updated":
                await _changed(ctx, ids.get("attribute_id"))
    elif family == "list-entry" and ctx.list is not None:
        entry_id = ids.get("entry_id")
        if entry_id and not deleted:
            ctx.entry = await _entry(ctx, ctx.list, entry_id)
        parent = ids.get("parent_record_id") or (ctx.entry or {}).get("parent_record_id")
        if parent and ctx.object:
            ctx.record = await _record(ctx, ctx.object, parent, mark_gone=False)
    elif ctx.object is not None and ids.get("parent_record_id"):
        ctx.record = await _record(ctx, ctx.object, ids["parent_record_id"], mark_gone=False)


async def _record(
    ctx: EventContext, obj: str, record_id: str, *, mark_gone: bool = True
) -> JSON | None:
    reader = ctx.records or RecordReader(ctx.attio)
    try:
        # Never a copy older than the event: it may be what the event changed.
        raw = await reader.record(obj, record_id, not_before=ctx.received_at)
    except AttioAPIError as exc:
        if exc.status_code != 404:
            raise
        ctx.gone = ctx.gone or mark_gone
        ctx.trace.notes.append(f"record {obj}/{record_id} is gone (404)")
        return None
    attributes = (await ctx.schema.attributes("objects", obj)).by_slug
    return {
        **simplify_values(raw.get("values", {}), attributes),
        "record_id": record_id,
        "object": obj,
        "web_url": raw.get("web_url"),
        "raw": raw.get("values", {}),
    }


async def _entry(ctx: EventContext, lst: str, entry_id: str) -> JSON | None:
    reader = ctx.records or RecordReader(ctx.attio)
    try:
        raw = await reader.entry(lst, entry_id, not_before=ctx.received_at)
    except AttioAPIError as exc:
        if exc.status_code != 404:
            raise
        ctx.gone = True
        ctx.trace.notes.append(f"entry {lst}/{entry_id} is gone (404)")
        return None
    attributes = (await ctx.schema.attributes("lists", lst)).by_slug
    return {
        **simplify_values(raw.get("entry_values", {}), attributes),
        "entry_id": entry_id,
        "list": lst,
        "parent_record_id": raw.get("parent_record_id"),
        "raw": raw.get("entry_values", {}),
    }


async def _changed(ctx: EventContext, attribute_id: str | None) -> None:
    """``changed`` (the attribute's slug) and ``previous`` (its former value)."""
    if not attribute_id or ctx.object is None or ctx.record is None:
        return
    attribute = (await ctx.schema.attributes("objects", ctx.object)).get(attribute_id)
    if attribute is None:
        # Created since the schema was cached: look again once.
        ctx.schema.invalidate("objects", ctx.object)
        attribute = (await ctx.schema.attributes("objects", ctx.object)).get(attribute_id)
    if attribute is None:
        return
    ctx.changed = attribute.slug
    history = await ctx.attio.attribute_values(
        ctx.object, ctx.record["record_id"], attribute.slug, show_historic=True
    )
    ended = [v for v in history if v.get("active_until")]
    if not ended:
        ctx.previous = [] if attribute.is_multiselect else None
        return
    last = max(v["active_until"] for v in ended)
    former = [simplify_value(v) for v in ended if v["active_until"] == last]
    ctx.previous = former if attribute.is_multiselect else former[0]
