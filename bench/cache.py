"""Benchmark: Attio reads per event with the record cache, and without it.

Serves the fake Attio (100 reads/s enforced; the bench's own writes are not
limited) and a runner (SQLite) in processes of their own on loopback.  The
runner loads one plugin that, for each ``record.updated`` of a person, looks
up the person's company through ``event.contacts.get`` and logs what it saw.

A burst of ``--events`` webhooks (2,000) on ``--people`` people (100, ten to
a company) is sent in rounds, eight requests at a time, never waiting for
the runner: each round renames every company in Attio (``c<n>``) and sends
its webhook, then gives every person a new job title (``v<n>``) and sends
theirs.  So each event has values it must not be older than:
``stale_reads`` counts events whose plugin saw a job title older than their
webhook, or a company name older than the company webhooks acknowledged
before theirs was sent.

The burst runs twice: with the cache (``cache.ttl_seconds: 300``, the
production TTL; ``--redis URL`` keeps it in Redis) and without (``0``).
Reads are the fake's read requests that answered 200 while the runner
handled the burst.

Run: ``python bench/cache.py [--events 2000] [--people 100] [--redis URL]``.
Last line: ``{"reads_per_event_cached", "reads_per_event_uncached", "ratio",
"stale_reads", "http_429"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from attio_automate.testing.servers import FakeAttioProcess, fake_attio_process, runner_process
from attio_automate.testing.webhooks import delivery, signed_headers

KEY = "cache-bench-key"
SECRET = "cache-bench-secret"

PLUGIN = """
import json

from attio_automate import Interest, hookimpl

PLUGIN_NAME = "lookup"


@hookimpl
def wanted_events():
    return Interest(event_types=("record.updated",), objects=("people",))


@hookimpl
async def handle_event(event):
    company = event.record.get("company") if event.record else None
    name = None
    if company:
        name = (await event.contacts.get("companies", company["record_id"])).name
    seen = {"key": event.key, "title": event.record.get("job_title"), "company": name}
    with open(event.settings_for("lookup")["log"], "a") as log:
        log.write(json.dumps(seen) + "\\n")
"""

CONFIG = """
dispatcher: {{concurrency: 8, poll_seconds: 0.05}}
cache: {{ttl_seconds: {ttl}{redis}}}
plugins:
  paths: [{plugin}]
  installed: false
  settings: {{lookup: {{log: {log}}}}}
"""


def number(text: str | None) -> int:
    """The version in ``v12`` or ``c12`` (-1 for none)."""
    return int(text[1:]) if text else -1


class World:
    """The people and companies in the fake, and the versions given to them."""

    def __init__(self, fake: FakeAttioProcess, people: int) -> None:
        self.http = httpx.Client(
            base_url=fake.base_url + "/", headers={"Authorization": f"Bearer {KEY}"}, timeout=30
        )
        self.people_object = fake.object_id("people", api_key=KEY)
        self.companies_object = fake.object_id("companies", api_key=KEY)
        self.companies = [
            self._create("companies", {"domains": [f"c{n}.example"], "name": "c0"})
            for n in range(max(people // 10, 1))
        ]
        self.people = [
            self._create(
                "people",
                {
                    "email_addresses": [f"p{n}@example.com"],
                    "job_title": "v0",
                    "company": [
                        {
                            "target_object": "companies",
                            "target_record_id": self.companies[n % len(self.companies)],
                        }
                    ],
                },
            )
            for n in range(people)
        ]
        self.version = 0

    def _create(self, object: str, values: dict[str, Any]) -> str:
        answer = self.http.post(f"objects/{object}/records", json={"data": {"values": values}})
        answer.raise_for_status()
        return str(answer.json()["data"]["id"]["record_id"])

    def change(self, object: str, record_id: str, values: dict[str, Any]) -> None:
        answer = self.http.patch(
            f"objects/{object}/records/{record_id}", json={"data": {"values": values}}
        )
        answer.raise_for_status()


def updated(object_id: str, record_id: str) -> dict[str, Any]:
    return {
        "event_type": "record.updated",
        "id": {"workspace_id": "w", "object_id": object_id, "record_id": record_id},
        "actor": {"type": "workspace-member", "id": "m"},
    }


async def burst(
    runner_url: str, world: World, events: int, tag: str
) -> tuple[dict[str, int], dict[str, int]]:
    """Send the burst in rounds: each round renames every company and sends
    its webhook, then gives each person a new job title and sends theirs,
    eight at a time, never waiting for the runner.  Returns, by event key,
    the job-title and company-name versions each event must not be older than."""
    title_floor: dict[str, int] = {}
    company_floor: dict[str, int] = {}
    gate = asyncio.Semaphore(8)
    loop = asyncio.get_running_loop()

    async def webhook(http: httpx.AsyncClient, key: str, object_id: str, record_id: str) -> None:
        body = delivery([updated(object_id, record_id)])
        async with gate:
            answer = await http.post(
                f"{runner_url}/webhooks/attio",
                content=body,
                headers=signed_headers(body, SECRET, idempotency_key=key),
            )
        answer.raise_for_status()

    async def change(object: str, record_id: str, values: dict[str, Any]) -> None:
        async with gate:
            await loop.run_in_executor(None, world.change, object, record_id, values)

    async with httpx.AsyncClient(timeout=60) as http:
        sent, round_number = 0, 0
        while sent < events:
            round_number += 1
            version = round_number
            await asyncio.gather(
                *(change("companies", c, {"name": f"c{version}"}) for c in world.companies)
            )
            # Acknowledged before any person event of the round is sent.
            await asyncio.gather(
                *(
                    webhook(http, f"{tag}-r{version}-{c}", world.companies_object, c)
                    for c in world.companies
                )
            )
            people = world.people[: events - sent]
            await asyncio.gather(
                *(change("people", p, {"job_title": f"v{version}"}) for p in people)
            )
            keys = [f"{tag}-{sent + n}" for n in range(len(people))]
            for key in keys:
                title_floor[f"{key}:0"] = company_floor[f"{key}:0"] = version
            sent += len(people)
            await asyncio.gather(
                *(
                    webhook(http, key, world.people_object, p)
                    for key, p in zip(keys, people, strict=True)
                )
            )
    return title_floor, company_floor


def read_counts(fake: FakeAttioProcess) -> tuple[int, int]:
    """(reads answered 200, answers 429) in the fake's log so far."""
    log = httpx.get(f"{fake.control_url}/requests", timeout=60).json()["requests"]
    reads = sum(1 for r in log if r["kind"] == "read" and r["status"] == 200)
    return reads, sum(1 for r in log if r["status"] == 429)


def run(args: argparse.Namespace, ttl: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, fake_attio_process(api_key=KEY) as fake:
        plugin = Path(tmp) / "lookup.py"
        plugin.write_text(PLUGIN)
        log = Path(tmp) / "seen.jsonl"
        log.touch()
        rules = Path(tmp) / "rules.yaml"
        rules.write_text("version: 1\nrules: []\n")
        config = Path(tmp) / "config.yaml"
        redis = f", url: {args.redis}" if args.redis else ""
        config.write_text(CONFIG.format(ttl=ttl, redis=redis, plugin=plugin, log=log))
        world = World(fake, args.people)
        # Only the runner's reads are limited: the bench's changes are not its.
        httpx.post(f"{fake.control_url}/limits", json={"reads_per_second": 100}, timeout=10)
        with runner_process(
            rules=str(rules),
            config=str(config),
            api_key=KEY,
            webhook_secret=SECRET,
            base_url=fake.base_url,
            db_url=f"sqlite:///{tmp}/runner.db",
        ) as runner:
            before, _ = read_counts(fake)
            started = time.monotonic()
            floors, company_floors = asyncio.run(burst(runner.url, world, args.events, "e"))
            deadline = time.monotonic() + 600
            while len(log.read_text().splitlines()) < args.events:
                if time.monotonic() > deadline:
                    raise TimeoutError("the runner did not handle every event in 10 minutes")
                time.sleep(0.2)
            seconds = time.monotonic() - started
            after, refused = read_counts(fake)
        lines = log.read_text().splitlines()
    stale = 0
    for line in lines:
        seen = json.loads(line)
        too_old_title = number(seen["title"]) < floors[seen["key"]]
        too_old_company = number(seen["company"]) < company_floors[seen["key"]]
        stale += too_old_title or too_old_company
    return {
        "reads_per_event": (after - before) / args.events,
        "stale": stale,
        "http_429": refused,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--redis", default=None, help="redis://host:6379/0 for a shared cache")
    args = parser.parse_args()
    cached = run(args, ttl=300)
    uncached = run(args, ttl=0)
    figures = {
        "reads_per_event_cached": round(cached["reads_per_event"], 3),
        "reads_per_event_uncached": round(uncached["reads_per_event"], 3),
        "ratio": round(cached["reads_per_event"] / uncached["reads_per_event"], 3),
        "stale_reads": cached["stale"] + uncached["stale"],
        "http_429": cached["http_429"] + uncached["http_429"],
    }
    print(
        f"{args.events} events on {args.people} people: {figures['reads_per_event_cached']} "
        f"Attio reads per event with the cache ({cached['seconds']:.1f} s), "
        f"{figures['reads_per_event_uncached']} without ({uncached['seconds']:.1f} s); "
        f"{figures['stale_reads']} stale reads, {figures['http_429']} x 429"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
