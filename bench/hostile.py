"""Benchmark: signed webhooks under slow-body and stalled-body attacks.

Serves the fake Attio and the runner (SQLite, default limits) in processes of
their own on loopback, then for ``--seconds`` keeps up two attacks, each
from its own pool of unauthenticated connections:

- ``--slow`` connections each announce a 1,000-byte body and send it one
  byte a second (reconnecting when cut off);
- ``--stalled`` connections each send just under 1 MiB of body and stall.

Meanwhile a signed webhook goes in every 100 ms.  Measured: each webhook's
time to its answer, how many were not answered 200, and the runner's
resident memory (sampled from /proc every 100 ms).

Run: ``python bench/hostile.py [--slow 1000] [--stalled 300] [--seconds 20]``.
The last line is one JSON object: ``webhooks``, ``webhook_failures``,
``webhook_p50_ms``, ``webhook_p99_ms``, ``webhook_max_ms``, ``rss_mb_before``,
``rss_mb_peak``, ``rss_mb_after``, ``slow_cut_off``, ``stalled_refused``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from attio_automate.testing.servers import fake_attio_process, runner_process
from attio_automate.testing.webhooks import delivery, record_event, signed_headers

KEY = "hostile-bench-key"
SECRET = "hostile-bench-secret"
RULES = "version: 1\nrules: []\n"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def request_head(host: str, length: int) -> bytes:
    return (
        f"POST /webhooks/attio HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Attio-Signature: {'0' * 64}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


async def slow_client(host: str, port: int, until: float, cut: list[int]) -> None:
    """Sends a body one byte a second, reconnecting whenever it is cut off."""
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request_head(host, 1000))
            while time.monotonic() < until:
                writer.write(b" ")
                await writer.drain()
                try:
                    answer = await asyncio.wait_for(reader.read(64), timeout=1.0)
                except TimeoutError:
                    continue
                if answer:
                    cut[0] += 1
                break
            writer.close()
        except OSError:
            await asyncio.sleep(0.5)


async def stalled_client(host: str, port: int, until: float, refused: list[int]) -> None:
    """Sends just under 1 MiB of body, then nothing."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request_head(host, 1024 * 1024 - 1))
        writer.write(b"x" * (1024 * 1024 - 1024))
        await writer.drain()
        remaining = until - time.monotonic()
        answer = await asyncio.wait_for(reader.read(64), timeout=max(remaining, 0.1))
        if b" 503 " in answer[:16] or b" 408 " in answer[:16]:
            refused[0] += 1
        writer.close()
    except (OSError, TimeoutError):
        pass


async def attack(
    args: argparse.Namespace, runner_url: str, people: str, records: list[str], pid: int
) -> dict[str, Any]:
    host, port_text = runner_url.removeprefix("http://").split(":")
    port = int(port_text)
    until = time.monotonic() + args.seconds
    cut, refused = [0], [0]
    rss: list[float] = []
    latencies: list[float] = []
    failures = 0
    rss_before = rss_mb(pid)

    async def sample() -> None:
        while time.monotonic() < until + 1:
            rss.append(rss_mb(pid))
            await asyncio.sleep(0.1)

    async def webhooks() -> None:
        nonlocal failures
        async with httpx.AsyncClient(timeout=10) as http:
            for n in range(int(args.seconds * 10)):
                body = delivery([record_event("record.created", people, records[n % len(records)])])
                started = time.monotonic()
                try:
                    answer = await http.post(
                        f"{runner_url}/webhooks/attio",
                        content=body,
                        headers=signed_headers(body, SECRET, idempotency_key=f"bench-{n}"),
                    )
                    if answer.status_code != 200:
                        failures += 1
                except httpx.HTTPError:
                    failures += 1
                latencies.append(time.monotonic() - started)
                await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - started)))

    tasks = [asyncio.create_task(sample())]
    tasks += [asyncio.create_task(slow_client(host, port, until, cut)) for _ in range(args.slow)]
    tasks += [
        asyncio.create_task(stalled_client(host, port, until, refused)) for _ in range(args.stalled)
    ]
    await asyncio.sleep(1.0)  # let the attackers settle in first
    await webhooks()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(2.0)
    ordered = sorted(latencies)
    return {
        "slow": args.slow,
        "stalled": args.stalled,
        "webhooks": len(latencies),
        "webhook_failures": failures,
        "webhook_p50_ms": round(statistics.median(ordered) * 1000, 1),
        "webhook_p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
        "webhook_max_ms": round(ordered[-1] * 1000, 1),
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_peak": round(max(rss), 1),
        "rss_mb_after": round(rss_mb(pid), 1),
        "slow_cut_off": cut[0],
        "stalled_refused": refused[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=1000)
    parser.add_argument("--stalled", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, fake_attio_process(api_key=KEY) as fake:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(RULES)
        people = fake.object_id("people", api_key=KEY)
        records = fake.create_people(20, api_key=KEY)
        with runner_process(
            rules=str(rules),
            api_key=KEY,
            webhook_secret=SECRET,
            base_url=fake.base_url,
            db_url=f"sqlite:///{tmp}/runner.db",
        ) as runner:
            figures = asyncio.run(attack(args, runner.url, people, records, runner.process.pid))
    print(
        f"{figures['webhooks']} signed webhooks beside {args.slow} slow and {args.stalled} "
        f"stalled connections: p99 {figures['webhook_p99_ms']} ms, "
        f"{figures['webhook_failures']} not 200; runner RSS {figures['rss_mb_before']} -> "
        f"peak {figures['rss_mb_peak']} MB"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
