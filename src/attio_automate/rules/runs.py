"""A scheduled rule's run: its query's records, each queued as an event.

Each record of the run becomes an event in the inbox, keyed by the rule,
the run (when it was due) and the record.  So the dispatcher takes them on
like webhooks (in per-record order, once across runners, retried, traced),
and a run interrupted part-way is simply run again: what was queued already
is not queued twice, and what was done is not done twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.rules.model import Rule
from attio_automate.store.base import NewEvent, Store

#: Records queued per store write.
BATCH = 200


async def queue_run(
    rule: Rule, due: float, *, store: Store, attio: AttioClient, schema: SchemaCache
) -> tuple[int, int]:
    """Queue the run of ``rule`` due at ``due``: (records found, events new)."""
    if rule.schedule is None:
        raise ValueError(f"rule {rule.id} has no schedule")
    query = rule.schedule.query
    obj = await schema.object(query.object)
    stamp = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = new = 0
    batch: list[NewEvent] = []
    records = attio.query_records(
        obj.slug,
        filter=query.filter,
        sorts=list(query.sorts) if query.sorts is not None else None,
        limit=query.limit,
    )
    async for record in records:
        record_id = str(record["id"]["record_id"])
        payload = {
            "event_type": "record.scheduled",
            "id": {"object_id": obj.id, "record_id": record_id},
            "actor": {"type": "system", "id": None},
            "schedule": {"rule": rule.id, "run": stamp},
        }
        batch.append(
            NewEvent(
                f"schedule:{rule.id}:{stamp}:{record_id}",
                f"record:{record_id}",
                "record.scheduled",
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
