"""Benchmark: what deciding costs, in CPU and in Attio reads.

Runs the example rules (``rules.example.yaml``) against an in-process fake
Attio holding a few people, deals and sales entries:

- ``events_per_s_cpu``: events decided (judged by every rule through the
  bus, actions rendered and planned; nothing run) per second of this
  process's CPU time.  The events are a mix the example rules match; each is
  enriched once before the clock starts, so the fake's work of serving the
  record reads is not counted, then decided many times.
- ``reads_per_event_unmatched``: Attio reads per event that no rule or
  plugin wants (companies created, notes, tasks), through the whole
  processor.  It should be 0: nobody wants the record, so nobody fetches it.

Run: ``python bench/decide.py [--events N]``.  The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import anyio

from attio_automate.assembly import build_processor, load_plugins
from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.ratelimit import RateLimits
from attio_automate.bus.context import EventContext
from attio_automate.events import AttioEvent
from attio_automate.processing.ledger import MemoryLedger
from attio_automate.testing import FakeAttio
from attio_automate.testing.fake import entries

RULES = Path(__file__).resolve().parent.parent / "rules.example.yaml"
MEMBER = {"type": "workspace-member", "id": "bench-member"}
KEY = "bench-key"


def seed(fake: FakeAttio) -> tuple[list[AttioEvent], list[AttioEvent]]:
    """Records in the fake; events the rules match, and events nobody wants."""
    w = fake.workspace
    people = w.objects["people"]
    deals = w.objects["deals"]
    founder = w.create_record(
        "people",
        {
            "name": "Ada Lovelace",
            "email_addresses": ["ada@analytical.example"],
            "job_title": "CTO",
        },
        actor=MEMBER,
    )
    w.update_record("people", founder.id, {"job_title": "Founder"}, mode="replace", actor=MEMBER)
    deal = w.create_record(
        "deals", {"name": "Strategic expansion", "stage": "Lead", "value": 90000}, actor=MEMBER
    )
    w.update_record("deals", deal.id, {"stage": "Won 🎉"}, mode="replace", actor=MEMBER)
    entry = entries.create_entry(
        w,
        "sales",
        {"parent_record_id": founder.id, "parent_object": "people", "entry_values": {}},
        actor=MEMBER,
    )
    entries.update_entry(w, "sales", entry.id, {"stage": "Customer"}, mode="replace", actor=MEMBER)
    company = w.create_record("companies", {"name": "Initech"}, actor=MEMBER)
    job_title = people.attributes["job_title"].id
    stage = deals.attributes["stage"].id
    sales = w.lists["sales"]
    matching = [
        AttioEvent("record.created", {"object_id": people.id, "record_id": founder.id}, MEMBER),
        AttioEvent(
            "record.updated",
            {"object_id": people.id, "record_id": founder.id, "attribute_id": job_title},
            MEMBER,
        ),
        AttioEvent("record.created", {"object_id": deals.id, "record_id": deal.id}, MEMBER),
        AttioEvent(
            "record.updated",
            {"object_id": deals.id, "record_id": deal.id, "attribute_id": stage},
            MEMBER,
        ),
        AttioEvent(
            "list-entry.updated",
            {
                "list_id": sales.id,
                "entry_id": entry.id,
                "parent_object_id": people.id,
                "parent_record_id": founder.id,
                "attribute_id": sales.attributes["stage"].id,
            },
            MEMBER,
        ),
    ]
    unmatched = [
        AttioEvent(
            "record.created",
            {"object_id": w.objects["companies"].id, "record_id": company.id},
            MEMBER,
        ),
        AttioEvent(
            "record.updated",
            {
                "object_id": w.objects["companies"].id,
                "record_id": company.id,
                "attribute_id": w.objects["companies"].attributes["name"].id,
            },
            MEMBER,
        ),
        AttioEvent(
            "note.created",
            {"note_id": "n-1", "parent_object_id": people.id, "parent_record_id": founder.id},
            MEMBER,
        ),
        AttioEvent("task.created", {"task_id": "t-1"}, MEMBER),
    ]
    return matching, unmatched


def reads(fake: FakeAttio) -> int:
    return sum(1 for r in fake.requests if r["method"] == "GET" or r["path"].endswith("/query"))


async def measure(events: int) -> dict[str, Any]:
    fake = FakeAttio(api_key=KEY)
    matching, unmatched = seed(fake)
    plugins = load_plugins(rules_path=RULES, entry_points=False)
    settings = ClientSettings(
        base_url="http://fake-attio/v2",
        rate_limits=RateLimits(reads_per_second=1e6, writes_per_second=1e6, fraction=1),
    )
    async with AttioClient(api_key=KEY, settings=settings, transport=fake.transport()) as attio:
        processor = build_processor(plugins, attio=attio)
        # Warm the schema cache, as a running runner's would be.
        for obj in fake.workspace.objects:
            await processor.schema.attributes("objects", obj)
        for lst in fake.workspace.lists:
            await processor.schema.attributes("lists", lst)

        contexts: list[EventContext] = []
        for index, event in enumerate(matching):
            ctx = await processor.enrich(event, key=f"m{index}", received_at=time.time())
            contexts.append(ctx)
        planned = 0
        started = time.process_time()
        for n in range(events):
            ctx = contexts[n % len(contexts)]
            ctx.plans.clear()
            ctx.trace.decisions.clear()
            await processor.decide(ctx)
            planned += len(ctx.plans)
        cpu = time.process_time() - started

        before = reads(fake)
        ledger = MemoryLedger()
        for index, event in enumerate(unmatched * 25):
            result = await processor.process(event, key=f"u{index}", ledger=ledger)
            assert result.status == "done", result.reason
        unmatched_reads = (reads(fake) - before) / (len(unmatched) * 25)
    return {
        "events": events,
        "actions_planned": planned,
        "cpu_s": round(cpu, 3),
        "ms_cpu_per_event": round(cpu / events * 1000, 3),
        "events_per_s_cpu": round(events / cpu, 1),
        "reads_per_event_unmatched": round(unmatched_reads, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    figures = anyio.run(measure, args.events)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
