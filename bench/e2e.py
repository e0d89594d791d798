"""Benchmark: from a webhook's receipt to the action's arrival at Attio.

The fake Attio runs in its own process enforcing 25 writes/s and 100 reads/s
per clock second; the runner (`attio-automate serve`, SQLite) in another.
Each event is a new person; the rule adds a note (one read to enrich, one
write to act).  Three phases:

1. 60 s at 50% of the write limit (12.5 events/s, open loop): p50/p99 from
   sending the webhook to the note arriving at the fake (its request log).
2. 60 s at 90% (22.5 events/s): p99.
3. A burst of 2,000 events: write utilization while draining (notes per
   second at the fake over the limit), 429 answers, and time to drain.

Run: ``python bench/e2e.py`` (about 4 minutes; ``--short`` for 10 s phases
and a 400-event burst).  Last line: ``p50_ms_at_50``, ``p99_ms_at_50``,
``p99_ms_at_90``, ``write_utilization``, ``http_429``, ``drain_s``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from attio_automate.testing.servers import fake_attio_process, runner_process
from attio_automate.testing.webhooks import delivery, record_event, signed_headers

KEY = "e2e-key"
SECRET = "e2e-secret"
WRITE_LIMIT = 25
READ_LIMIT = 100
RULES = """
version: 1
rules:
  - id: welcome
    on: record.created
    object: people
    do:
      - action: add_note
        with: {title: Welcome, content: "for {{ record.record_id }}"}
"""
CONFIG = """
dispatcher: {concurrency: 16, poll_seconds: 0.05, lease_seconds: 30}
attio: {schema_ttl: 3600}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def offer(
    url: str, people: str, records: list[str], rate: float, sent: dict[str, float]
) -> None:
    """Open loop: one event every 1/rate seconds, whatever the answers take."""
    async with httpx.AsyncClient(timeout=30) as client:
        start = time.monotonic()
        tasks = []
        for n, record_id in enumerate(records):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_send(client, url, people, record_id, sent)))
        await asyncio.gather(*tasks)


async def burst(url: str, people: str, records: list[str], sent: dict[str, float]) -> None:
    queue = iter(records)
    async with httpx.AsyncClient(timeout=60) as client:

        async def worker() -> None:
            for record_id in queue:
                await _send(client, url, people, record_id, sent)

        await asyncio.gather(*(worker() for _ in range(32)))


async def _send(
    client: httpx.AsyncClient, url: str, people: str, record_id: str, sent: dict[str, float]
) -> None:
    body = delivery([record_event("record.created", people, record_id)])
    sent[record_id] = time.time()
    answer = await client.post(
        f"{url}/webhooks/attio",
        content=body,
        headers=signed_headers(body, SECRET, idempotency_key=record_id),
    )
    answer.raise_for_status()


def arrivals(log: list[dict[str, Any]]) -> dict[str, float]:
    return {
        r["body"]["data"]["parent_record_id"]: float(r["time"])
        for r in log
        if r["method"] == "POST" and r["path"] == "/v2/notes" and r["status"] == 200
    }


def wait_for_notes(fake: Any, expected: int, timeout: float) -> None:
    """Wait until the fake has answered ``expected`` note creations in all."""
    deadline = time.monotonic() + timeout
    while fake.count("POST", "/v2/notes") < expected and time.monotonic() < deadline:
        time.sleep(1.0)


def main() -> None:
    short = "--short" in sys.argv
    phase = 10.0 if short else 60.0
    burst_size = 400 if short else 2_000
    n50, n90 = int(phase * WRITE_LIMIT * 0.5), int(phase * WRITE_LIMIT * 0.9)
    with tempfile.TemporaryDirectory() as tmp, fake_attio_process(api_key=KEY) as fake:
        records = fake.create_people(n50 + n90 + burst_size, api_key=KEY)
        people = fake.object_id("people", api_key=KEY)
        httpx.post(
            f"{fake.control_url}/limits",
            json={"reads_per_second": READ_LIMIT, "writes_per_second": WRITE_LIMIT},
        )
        fake.clear_requests()
        (Path(tmp) / "rules.yaml").write_text(RULES)
        (Path(tmp) / "config.yaml").write_text(CONFIG)
        with runner_process(
            rules=str(Path(tmp) / "rules.yaml"),
            config=str(Path(tmp) / "config.yaml"),
            api_key=KEY,
            webhook_secret=SECRET,
            base_url=fake.base_url,
            db_url=f"sqlite:///{Path(tmp) / 'e2e.db'}",
        ) as runner:
            sent: dict[str, float] = {}
            at50, at90, bursted = records[:n50], records[n50 : n50 + n90], records[n50 + n90 :]
            asyncio.run(offer(runner.url, people, at50, WRITE_LIMIT * 0.5, sent))
            wait_for_notes(fake, len(at50), 30)
            asyncio.run(offer(runner.url, people, at90, WRITE_LIMIT * 0.9, sent))
            wait_for_notes(fake, len(at50) + len(at90), 60)
            burst_started = time.time()
            asyncio.run(burst(runner.url, people, bursted, sent))
            wait_for_notes(fake, len(records), burst_size / WRITE_LIMIT * 2 + 60)
            log = fake.requests()
    got = arrivals(log)
    lat50 = [got[r] - sent[r] for r in at50 if r in got]
    lat90 = [got[r] - sent[r] for r in at90 if r in got]
    burst_times = sorted(got[r] for r in bursted if r in got)
    span = burst_times[-1] - burst_times[0]
    utilization = (len(burst_times) - 1) / span / WRITE_LIMIT if span > 0 else 0.0
    refused = sum(1 for r in log if r["status"] == 429)
    drain = burst_times[-1] - burst_started
    missing = len(records) - len(arrivals(log))
    print(
        f"50% load ({WRITE_LIMIT * 0.5:.1f}/s for {phase:.0f}s): p50 "
        f"{percentile(lat50, 0.5) * 1000:.0f} ms, p99 {percentile(lat50, 0.99) * 1000:.0f} ms"
    )
    print(
        f"90% load ({WRITE_LIMIT * 0.9:.1f}/s for {phase:.0f}s): p50 "
        f"{percentile(lat90, 0.5) * 1000:.0f} ms, p99 {percentile(lat90, 0.99) * 1000:.0f} ms"
    )
    print(
        f"burst of {burst_size}: {len(burst_times)} notes in {span:.1f}s = "
        f"{utilization:.3f} of {WRITE_LIMIT} writes/s; drained {drain:.1f}s after it began"
    )
    print(f"429 answers: {refused}; events without their note: {missing}")
    writes = sorted(float(r["time"]) for r in log if r["kind"] == "write")
    gaps = [b - a for a, b in itertools.pairwise(writes)]
    if gaps:
        print(
            f"writes at the fake: closest two {min(gaps) * 1000:.1f} ms apart; "
            f"{sum(1 for g in gaps if g < 0.5 / WRITE_LIMIT)} pairs closer than half the pace"
        )
    for r in log:
        if r["status"] == 429:
            at = float(r["time"])
            near = [f"{(t - at) * 1000:+.0f}" for t in writes if abs(t - at) < 0.2]
            print(f"  429 at {at:.3f} ({r['kind']}); writes nearby (ms): {' '.join(near)}")
    print(
        json.dumps(
            {
                "p50_ms_at_50": round(percentile(lat50, 0.5) * 1000, 1),
                "p99_ms_at_50": round(percentile(lat50, 0.99) * 1000, 1),
                "p99_ms_at_90": round(percentile(lat90, 0.99) * 1000, 1),
                "write_utilization": round(utilization, 4),
                "http_429": refused,
                "drain_s": round(drain, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
