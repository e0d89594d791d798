"""Benchmark: many rules' waits falling due at the same second, several runners.

A fresh PostgreSQL schema holds ``--waits`` waits (10,000), each stored as the
rule's ``wait`` step stores it, all due at the same second a little after the
runners are up; ``--runners`` runners (3) share the store and one rate-limit
budget, against one fake Attio (its own process) enforcing 25 writes/s and
100 reads/s.  When a wait is due, its runner fetches the record again and
the rule goes on: one note per wait, naming the wait.

Measured from the fake's own request log:

- ``fired_once`` / ``fired_twice``: waits whose note was written once / more
  than once (``--waits`` minus ``fired_once`` never fired);
- ``p99_late_s``: how late each wait's note came beyond what the write limit
  forces, p99.  The limit the runners keep is Attio's 25 writes/s times their
  ``attio.rate_limit_fraction`` (0.98, the default): the n-th note of the burst
  cannot come before due + n/(0.98 * 25) s.  What is left is the scheduler's
  own lateness: claiming, fetching, queueing;
- ``p99_late_vs_attio_limit_s``: the same against Attio's full 25/s, which
  adds the 2% the runners leave unused (about 8 s by the 10,000th note);
- ``http_429``: answers the fake refused.

Run: ``python bench/waits.py [--waits 10000] [--runners 3] [--people 100] [--busy N]
[--fraction F]`` (``--busy 2``: two processes spin beside the runners for the
whole run, the fake running at a higher priority than they do)
(PostgreSQL on 127.0.0.1:5432, database ``test``; 10,000 waits take about
seven minutes, the write limit's 400 s and then some).  Last line:
``{"waits", "fired_once", "fired_twice", "p99_late_s", "http_429"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

# Run as a script, bench/ is on sys.path.
from ratelimit import busy_loops

from attio_automate.store import open_store_url
from attio_automate.store.base import NewEvent
from attio_automate.testing.servers import fake_attio_process, runner_process

WRITE_LIMIT, READ_LIMIT = 25, 100
KEY, SECRET = "waits-key", "waits-secret"
PG = "postgresql://127.0.0.1:5432/test"
RULES = """
version: 1
rules:
  - id: nudge
    on: record.created
    object: people
    recheck: false
    do:
      - wait: 1h
      - action: add_note
        with: {title: Nudge, content: "for {{ event.wait.from }}"}
"""
#: The share of Attio's limits the runners use (the runner's default, said aloud).
FRACTION = 0.98
CONFIG = """
dispatcher: {{concurrency: 16, poll_seconds: 0.2, lease_seconds: 30}}
attio: {{schema_ttl: 3600, rate_limit_fraction: {fraction}}}
"""
#: Seconds after the runners are up that every wait falls due.
LEAD = 5.0


async def store_waits(
    url: str, people_object: str, records: list[str], count: int, due: float
) -> None:
    """What ``count`` rules' wait steps would have stored, all due at ``due``."""
    store = open_store_url(url)
    await store.open()
    stamp = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    batch = []
    for n in range(count):
        record_id = records[n % len(records)]
        origin = f"bench-{n}:0"
        key = f"wait:{origin}:nudge:1"
        payload = {
            "event_type": "record.created",
            "id": {"workspace_id": "w", "object_id": people_object, "record_id": record_id},
            "actor": {"type": "workspace-member", "id": "m"},
            "wait": {
                "rule": "nudge",
                "step": 1,
                "due_at": stamp,
                "from": origin,
                "group": f"nudge|{origin}",
            },
        }
        batch.append(NewEvent(key, key, "wait", payload, None, due, due))
        if len(batch) == 500:
            await store.insert_events(batch)
            batch = []
    if batch:
        await store.insert_events(batch)
    await store.close()


async def drop_schema(schema: str) -> None:
    connection = await asyncpg.connect(PG)
    await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    await connection.close()


def p99(ordered: list[float]) -> float | None:
    return round(ordered[max(int(len(ordered) * 0.99) - 1, 0)], 2) if ordered else None


def run(args: argparse.Namespace) -> dict[str, Any]:
    schema = f"waits_{uuid.uuid4().hex[:10]}"
    url = f"{PG}?search_path={schema}"
    with (
        tempfile.TemporaryDirectory() as tmp,
        fake_attio_process(api_key=KEY) as fake,
        busy_loops(args.busy),
    ):
        if args.busy:
            # The load is the runners' machine's, not Attio's: Attio's servers
            # do not share its cores.  Starved of CPU, the fake would stamp the
            # requests queued behind a pause all at once, bursts no runner sent.
            os.setpriority(os.PRIO_PROCESS, fake.process.pid, -10)
        people = fake.object_id("people", api_key=KEY)
        records = fake.create_people(args.people, api_key=KEY)
        httpx.post(
            f"{fake.control_url}/limits",
            json={"reads_per_second": READ_LIMIT, "writes_per_second": WRITE_LIMIT},
        )
        (Path(tmp) / "rules.yaml").write_text(RULES)
        (Path(tmp) / "config.yaml").write_text(CONFIG.format(fraction=args.fraction))
        try:
            # The store's schema first (the runners would make it too), then the waits.
            asyncio.run(store_waits(url, people, records, 0, time.time()))
            with ExitStack() as stack:
                for _ in range(args.runners):
                    stack.enter_context(
                        runner_process(
                            rules=str(Path(tmp) / "rules.yaml"),
                            config=str(Path(tmp) / "config.yaml"),
                            api_key=KEY,
                            webhook_secret=SECRET,
                            base_url=fake.base_url,
                            db_url=url,
                        )
                    )
                fake.clear_requests()
                due = time.time() + LEAD
                asyncio.run(store_waits(url, people, records, args.waits, due))
                deadline = due + args.waits / WRITE_LIMIT * 2 + 120
                while fake.count("POST", "/v2/notes") < args.waits and time.time() < deadline:
                    time.sleep(1.0)
                time.sleep(2.0)  # anything written twice comes in now
                log = fake.requests()
        finally:
            asyncio.run(drop_schema(schema))
    notes = sorted(
        (
            r
            for r in log
            if r["method"] == "POST" and r["path"] == "/v2/notes" and r["status"] == 200
        ),
        key=lambda r: float(r["time"]),
    )
    per_wait = Counter(str(r["body"]["data"]["content"]) for r in notes)
    times = [float(r["time"]) for r in notes]
    ordered = sorted(t - (due + n / (WRITE_LIMIT * args.fraction)) for n, t in enumerate(times))
    against_attio = sorted(t - (due + n / WRITE_LIMIT) for n, t in enumerate(times))
    return {
        "waits": args.waits,
        "runners": args.runners,
        "fired_once": sum(1 for c in per_wait.values() if c == 1),
        "fired_twice": sum(1 for c in per_wait.values() if c > 1),
        "p99_late_s": p99(ordered),
        "median_late_s": round(statistics.median(ordered), 2) if ordered else None,
        "p99_late_vs_attio_limit_s": p99(against_attio),
        "http_429": sum(1 for r in log if r["status"] == 429),
        "busy": args.busy,
        "fraction": args.fraction,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waits", type=int, default=10_000)
    parser.add_argument("--runners", type=int, default=3)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--busy", type=int, default=0, help="spinning processes beside it")
    parser.add_argument(
        "--fraction", type=float, default=FRACTION, help="attio.rate_limit_fraction of the runners"
    )
    figures = run(parser.parse_args())
    print(
        f"{figures['waits']} waits due at once, {figures['runners']} runners: "
        f"{figures['fired_once']} fired once, {figures['fired_twice']} twice; "
        f"lateness beyond the write limit kept p99 {figures['p99_late_s']} s "
        f"({figures['p99_late_vs_attio_limit_s']} s against Attio's full limit), "
        f"{figures['http_429']} x 429"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
