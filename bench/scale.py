"""Benchmark: 1, 2 and 3 runners sharing PostgreSQL, against one fake Attio.

For each number of runners: a fresh schema and a fake Attio (its own process)
enforcing 25 writes/s and 100 reads/s; the runners (`attio-automate serve`,
each its own process) share the database and one rate-limit budget in it.
First 4,000 signed webhooks of a type no rule handles are sent, split across
the runners, from 16 keep-alive connections per runner: acknowledged
deliveries per second, all runners together, is the ingest figure.  Then 600
webhooks (one new person each; the rule adds a note) are sent and drained:
aggregate write utilization (notes per second at the fake over its limit)
and 429 answers.

Runners are meant to run on hosts of their own.  Here they share one
machine, so each is held to ``--runner-cpu`` of a core (0.35 by default) by a
cgroup quota, as a container's CPU limit would hold it: adding a runner adds
CPU as adding a host would, and the database, the load generator and the fake
keep what is left.  ``--runner-cpu 0`` lifts the limit (then, on a small
machine, the machine is what gets measured).  ``cpu_busy`` is the share of
the machine's CPU time in use during the ingest.

Run: ``python bench/scale.py`` (about 2 minutes; root for the cgroup; PostgreSQL
on 127.0.0.1:5432, database ``test``).  Last line: ``{"runs": [{"runners",
"runner_cpu", "ingest_events_per_s", "cpu_busy", "write_utilization",
"http_429", "peak_writes_in_a_second", "slots_given_up"}, ...]}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import asyncpg
import httpx
from _cpu_limit import CpuLimitUnavailable, cpu_limited
from _loadgen import LoadResult, post, run_load

from attio_automate.attio.ratelimit import is_read_request
from attio_automate.delivery import sign
from attio_automate.testing.servers import fake_attio_process, runner_process

EVENTS = 600  # each needs a write: the drain is about the shared budget
PINGS = 4_000  # need no Attio call: the ingest figure is about receiving
CONNECTIONS_PER_RUNNER = 16
WRITE_LIMIT, READ_LIMIT = 25, 100
KEY, SECRET = "scale-key", "scale-secret"
PG = "postgresql://127.0.0.1:5432/test"
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
dispatcher: {concurrency: 16, poll_seconds: 0.2, lease_seconds: 30}
attio: {schema_ttl: 3600, rate_limit_fraction: 0.96}
"""


async def ingest(ports: list[int], bodies: list[bytes], label: str) -> LoadResult:
    share = len(bodies) // len(ports)
    started = time.perf_counter()

    async def to_runner(index: int, port: int) -> LoadResult:
        mine = bodies[index * share : (index + 1) * share]

        def request(n: int) -> bytes:
            body = mine[n]
            return post(
                "/webhooks/attio",
                body,
                {"Attio-Signature": sign(body, SECRET), "Idempotency-Key": f"{label}-{index}-{n}"},
            )

        return await run_load(
            "127.0.0.1",
            port,
            requests=len(mine),
            connections=CONNECTIONS_PER_RUNNER,
            make_request=request,
        )

    results = await asyncio.gather(*(to_runner(i, p) for i, p in enumerate(ports)))
    total = LoadResult(ok=sum(r.ok for r in results), failed=sum(r.failed for r in results))
    total.elapsed = time.perf_counter() - started
    return total


async def drop_schema(schema: str) -> None:
    connection = await asyncpg.connect(PG)
    await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    await connection.close()


def cpu_times() -> tuple[int, int]:
    """Busy and total CPU time of the machine so far (jiffies, all cores)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def one_run(runners: int, runner_cpu: float) -> dict[str, float | int]:
    schema = f"scale_{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as tmp, fake_attio_process(api_key=KEY) as fake:
        people = fake.object_id("people", api_key=KEY)
        records = fake.create_people(EVENTS, api_key=KEY)
        httpx.post(
            f"{fake.control_url}/limits",
            json={"reads_per_second": READ_LIMIT, "writes_per_second": WRITE_LIMIT},
        )
        fake.clear_requests()
        (Path(tmp) / "rules.yaml").write_text(RULES)
        (Path(tmp) / "config.yaml").write_text(CONFIG)
        bodies = [
            json.dumps(
                {
                    "webhook_id": "scale",
                    "events": [
                        {
                            "event_type": "record.created",
                            "id": {
                                "workspace_id": "w",
                                "object_id": people,
                                "record_id": record_id,
                            },
                            "actor": {"type": "workspace-member", "id": "m"},
                        }
                    ],
                }
            ).encode()
            for record_id in records
        ]
        with ExitStack() as stack:
            processes = [
                stack.enter_context(
                    runner_process(
                        rules=str(Path(tmp) / "rules.yaml"),
                        config=str(Path(tmp) / "config.yaml"),
                        api_key=KEY,
                        webhook_secret=SECRET,
                        base_url=fake.base_url,
                        db_url=f"{PG}?search_path={schema}",
                    )
                )
                for _ in range(runners)
            ]
            if runner_cpu:
                for n, runner in enumerate(processes):
                    stack.enter_context(
                        cpu_limited(runner.process.pid, runner_cpu, f"attio-automate-scale-{n}")
                    )
            ports = [int(p.url.rsplit(":", 1)[1]) for p in processes]
            # Each ping its own subject, so they are dispatched side by side.
            pings_bodies = [
                json.dumps(
                    {
                        "webhook_id": "scale",
                        "events": [
                            {
                                "event_type": "bench.ping",
                                "id": {"workspace_id": "w", "record_id": f"ping-{n}"},
                                "actor": {"type": "workspace-member", "id": "m"},
                            }
                        ],
                    }
                ).encode()
                for n in range(PINGS + 300)
            ]
            asyncio.run(ingest(ports, pings_bodies[:300], "warm"))
            busy_before, total_before = cpu_times()
            pings = asyncio.run(ingest(ports, pings_bodies[300:], "ping"))
            busy_after, total_after = cpu_times()
            cpu_busy = (busy_after - busy_before) / max(total_after - total_before, 1)
            result = asyncio.run(ingest(ports, bodies, "note"))
            deadline = time.monotonic() + EVENTS / WRITE_LIMIT * 2 + 60
            while fake.count("POST", "/v2/notes") < result.ok and time.monotonic() < deadline:
                time.sleep(1.0)
            log = fake.requests()
            given_up = sum(slots_given_up(p.url) for p in processes)
    asyncio.run(drop_schema(schema))
    times = sorted(float(r["time"]) for r in log if r["path"] == "/v2/notes" and r["status"] == 200)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    utilization = (len(times) - 1) / span / WRITE_LIMIT if span else 0.0
    refused = sum(1 for r in log if r["status"] == 429)
    writes = sorted(
        float(r["time"]) for r in log if not is_read_request(str(r["method"]), str(r["path"]))
    )
    peak = peak_per_second(writes)
    # The limit is broken only if WRITE_LIMIT + 1 writes fit in under a second.
    tightest = min((b - a for a, b in zip(writes, writes[WRITE_LIMIT:], strict=False)), default=0.0)
    print(
        f"{runners} runner(s) at {runner_cpu or 'unlimited'} CPU each: "
        f"ingest {pings.per_second:.0f} events/s, machine CPU {cpu_busy:.0%} busy "
        f"({pings.ok} ok, {pings.failed} failed); {len(times)} notes in {span:.1f}s = "
        f"{utilization:.3f} of {WRITE_LIMIT} writes/s; at most {peak} writes in any second, "
        f"{WRITE_LIMIT + 1} writes in no less than {tightest * 1000:.0f} ms; "
        f"{given_up} shared slot(s) given up; "
        f"429s: {refused}",
        flush=True,
    )
    return {
        "runners": runners,
        "runner_cpu": runner_cpu,
        "ingest_events_per_s": round(pings.per_second, 1),
        "cpu_busy": round(cpu_busy, 3),
        "write_utilization": round(utilization, 4),
        "http_429": refused,
        "peak_writes_in_a_second": peak,
        "slots_given_up": given_up,
    }


def slots_given_up(runner_url: str) -> int:
    """Shared slots a runner gave up (it woke too late), from its metrics."""
    text = httpx.get(f"{runner_url}/metrics").text
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("attio_automate_rate_slots_given_up_total")
    )


def peak_per_second(times: list[float]) -> int:
    """The most of ``times`` (sorted) that fall within any one second."""
    peak, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runners", type=int, nargs="+", default=[1, 2, 3], help="runner counts to measure"
    )
    parser.add_argument(
        "--runner-cpu",
        type=float,
        default=0.35,
        help="cores each runner may use (a cgroup quota); 0 for no limit",
    )
    args = parser.parse_args()
    try:
        runs = [one_run(n, args.runner_cpu) for n in args.runners]
    except CpuLimitUnavailable as exc:
        parser.error(str(exc))
    print(json.dumps({"runs": runs}))


if __name__ == "__main__":
    main()
