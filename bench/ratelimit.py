"""Benchmark: how much of Attio's rate limits one client uses, and 429s.

Starts the fake Attio in its own process on loopback enforcing 25 writes/s
and 100 reads/s per clock second, pushes 600 writes and 1,200 reads through
one shared client from 50 concurrent tasks (25 writing, 25 reading), and
measures from the fake's own request log:

- utilization: requests per second achieved (first to last request of the
  kind, as the fake received them) divided by the limit;
- http_429: answers the fake refused with 429.

Run: ``python bench/ratelimit.py [--busy N]`` (about 25 seconds).  With
``--busy N``, N processes spin beside the client for the whole run (a busy
machine: on 2 cores, ``--busy 2`` leaves the client and the fake to fight for
the CPU).  The last line is one JSON object: ``write_utilization``,
``read_utilization``, ``http_429`` (and ``busy``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import anyio

from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.ratelimit import RateLimits
from attio_automate.testing.servers import fake_attio_process

WRITES = 600
READS = 1_200
TASKS = 50
WRITE_LIMIT = 25
READ_LIMIT = 100
KEY = "bench-key"


def utilization(log: list[dict[str, Any]], kind: str, limit: int) -> tuple[float, int, float]:
    times = sorted(float(r["time"]) for r in log if r["kind"] == kind and r["status"] != 429)
    span = times[-1] - times[0]
    rate = (len(times) - 1) / span if span > 0 else 0.0
    return rate / limit, len(times), span


async def push(base_url: str) -> dict[str, int]:
    settings = ClientSettings(
        base_url=base_url,
        rate_limits=RateLimits(reads_per_second=READ_LIMIT, writes_per_second=WRITE_LIMIT),
    )
    done = {"writes": 0, "reads": 0}
    writes = iter(range(WRITES))
    reads = iter(range(READS))
    async with AttioClient(api_key=KEY, settings=settings) as attio:

        async def writer() -> None:
            for n in writes:
                await attio.assert_record(
                    "people",
                    matching_attribute="email_addresses",
                    values={"email_addresses": [{"email_address": f"person{n}@bench.example"}]},
                )
                done["writes"] += 1

        async def reader() -> None:
            for n in reads:
                if n % 2:
                    await attio.list_objects()
                else:
                    async for _ in attio.query_records("people", page_size=1, limit=1):
                        pass
                done["reads"] += 1

        async with anyio.create_task_group() as tasks:
            for _ in range(TASKS // 2):
                tasks.start_soon(writer)
                tasks.start_soon(reader)
        done["client_429"] = attio.rate_limiter.rate_limited
    return done


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[None]:
    """``count`` processes spinning on a core each until the block ends."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=0, help="spinning processes beside it")
    args = parser.parse_args()
    with (
        busy_loops(args.busy),
        fake_attio_process(
            reads_per_second=READ_LIMIT, writes_per_second=WRITE_LIMIT, api_key=KEY
        ) as fake,
    ):
        started = time.monotonic()
        done = anyio.run(push, fake.base_url)
        elapsed = time.monotonic() - started
        log = fake.requests()
    write_util, write_n, write_span = utilization(log, "write", WRITE_LIMIT)
    read_util, read_n, read_span = utilization(log, "read", READ_LIMIT)
    refused = sum(1 for r in log if r["status"] == 429)
    print(
        f"pushed {done['writes']} writes and {done['reads']} reads from {TASKS} tasks "
        f"in {elapsed:.1f}s"
    )
    print(f"writes: {write_n} in {write_span:.2f}s = {write_util:.3f} of {WRITE_LIMIT}/s")
    print(f"reads:  {read_n} in {read_span:.2f}s = {read_util:.3f} of {READ_LIMIT}/s")
    print(f"429 answers: {refused} (client saw {done['client_429']})")
    print(
        json.dumps(
            {
                "write_utilization": round(write_util, 4),
                "read_utilization": round(read_util, 4),
                "http_429": refused,
                "busy": args.busy,
            }
        )
    )


if __name__ == "__main__":
    main()
