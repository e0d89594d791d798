"""A scheduled rule's run: its query's records (or a list's entries), each
queued as an event.

Each record (or entry) of the run becomes an event in the inbox
(``record.scheduled`` or ``list-entry.scheduled``), keyed by the rule, the
run (when it was due) and the record or entry.  So the dispatcher takes them on
like webhooks (in per-record order, once across runners, retried, traced),
and a run interrupted part-way is simply run again: what was queued already
is not queued twice, and what was done is not done twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.events import AttioEvent
from attio_automate.rules.model import Query, Rule
from attio_automate.store.base import NewEvent, Store

#: Records queued per store write.
BATCH = 200


async def queue_run(
    rule: Rule, due: float, *, store: Store, attio: AttioClient, schema: SchemaCache
) -> tuple[int, int]:
    """Queue the run of ``rule`` due at ``due``: (records or entries found, events new)."""
    if rule.schedule is None:
        raise ValueError(f"rule {rule.id} has no schedule")
    stamp = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = new = 0
    batch: list[NewEvent] = []
    async for event_type, ids, subject in _subjects(rule.schedule.query, attio, schema):
        payload = {
            "event_type": event_type,
            "id": ids,
            "actor": {"type": "system", "id": None},
            "schedule": {"rule": rule.id, "run": stamp},
        }
        batch.append(
            NewEvent(
                f"schedule:{rule.id}:{stamp}:{subject}",
                # In order with the webhooks about the same record or entry.
                AttioEvent.from_json(payload).ordering_key,
                event_type,
                payload,
                None,
                # The run's time: now() in the rule's templates.
                due,
            )
        )
        found += 1
        if len(batch) >= BATCH:
            new += sum(await store.insert_events(batch))
            batch = []
    if batch:
        new += sum(await store.insert_events(batch))
    return found, new


async def _subjects(
    query: Query, attio: AttioClient, schema: SchemaCache
) -> AsyncIterator[tuple[str, dict[str, Any], str]]:
    """(event type, the event's ids, the subject's id) of each record or entry
    the query finds, page by page at the client's pace."""
    sorts = list(query.sorts) if query.sorts is not None else None
    if query.list is not None:
        lst = await schema.list(query.list)
        parent = await schema.object(lst.parent_object)
        entries = attio.query_entries(lst.slug, filter=query.filter, sorts=sorts, limit=query.limit)
        async for entry in entries:
            entry_id = str(entry["id"]["entry_id"])
            ids = {
                "list_id": lst.id,
                "entry_id": entry_id,
                "parent_object_id": parent.id,
                "parent_record_id": entry.get("parent_record_id"),
            }
            yield "list-entry.scheduled", ids, entry_id
        return
    obj = await schema.object(str(query.object))
    records = attio.query_records(obj.slug, filter=query.filter, sorts=sorts, limit=query.limit)
    async for record in records:
        record_id = str(record["id"]["record_id"])
        yield "record.scheduled", {"object_id": obj.id, "record_id": record_id}, record_id
