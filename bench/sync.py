"""Benchmark: sync at Attio's limits, against the fake in its own process
(100 reads/s, 25 writes/s).

1. Reconcile: a mirror of the people, empty, reconciled with Attio holding
   ``--small`` (5,000) and then ``--records`` (20,000) people, each run in a
   process of its own whose RSS is sampled every 20 ms (so the two peaks
   say whether memory grows with the record count).
2. Import: ``--import-rows`` (1,600: 64 s at 25 writes/s) people from a CSV,
   upserted with assert through the shared limiter.

Prints ``reconcile_records_per_s`` and ``read_utilization`` (reads the
reconcile made / (its seconds x 100)), ``import_rows_per_s`` and
``write_utilization`` (writes / (seconds x 25)), ``http_429`` (both phases)
and ``peak_rss_mb`` (the 20,000-record reconcile's), with the small run's
peak beside it.  The runner keeps to 0.98 of Attio's limits (its default).

Run: ``python bench/sync.py [--records 20000] [--small 5000]
[--import-rows 1600] [--page-size 500] [--busy N] [--database URL]``
(the sync database is SQLite in a temporary folder by default; with
``--busy N`` N processes spin beside the runner's side, the fake above them).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

# Run as a script, bench/ is on sys.path.
from ratelimit import busy_loops

from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.ratelimit import RateLimits
from attio_automate.attio.schema import SchemaCache
from attio_automate.store import open_store_url
from attio_automate.sync.database import SyncDatabase
from attio_automate.sync.importing import Importer
from attio_automate.sync.reconcile import Reconciler
from attio_automate.sync.spec import MirrorSpec, SyncSpec
from attio_automate.testing.servers import fake_attio_process

KEY = "sync-bench-key"
READS, WRITES, FRACTION = 100, 25, 0.98
MIRROR = MirrorSpec(
    object="people",
    table="attio_people",
    columns={"email": "email_addresses", "name": "name", "title": "job_title"},
)


class PeakRss:
    """This process's resident memory, sampled every 20 ms while running."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def client(base_url: str) -> AttioClient:
    limits = RateLimits(reads_per_second=READS, writes_per_second=WRITES, fraction=FRACTION)
    return AttioClient(api_key=KEY, settings=ClientSettings(base_url=base_url, rate_limits=limits))


async def reconcile_child(
    base_url: str, database: str, store_url: str, page_size: int
) -> dict[str, Any]:
    with PeakRss() as rss:
        async with client(base_url) as attio:
            schema = SchemaCache(attio)
            sync = SyncDatabase(SyncSpec(database=database, mirrors=(MIRROR,)))
            await sync.open(schema)
            store = open_store_url(store_url)
            await store.open()
            reconciler = Reconciler(
                sync, attio=attio, schema=schema, store=store, page_size=page_size
            )
            started = time.perf_counter()
            counts = (await reconciler.run())[MIRROR.table]
            seconds = time.perf_counter() - started
            await store.close()
            await sync.close()
    return {
        "seconds": seconds,
        "checked": counts.checked,
        "created": counts.created,
        "peak_rss_mb": rss.peak_kb / 1024,
    }


async def import_child(base_url: str, path: str, store_url: str) -> dict[str, Any]:
    async with client(base_url) as attio:
        store = open_store_url(store_url)
        await store.open()
        importer = Importer(
            attio=attio,
            schema=SchemaCache(attio),
            store=store,
            object="people",
            match="email_addresses",
        )
        started = time.perf_counter()
        report = await importer.run(Path(path))
        seconds = time.perf_counter() - started
        await store.close()
    return {
        "seconds": seconds,
        "rows": report.rows,
        "written": report.written,
        "rejected": report.rejected,
    }


def child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def reads(fake: Any) -> int:
    """Reads the fake has answered (GETs and queries)."""
    counts = httpx.get(f"{fake.control_url}/counts", timeout=30).json()["counts"]
    total = 0
    for key, n in counts.items():
        method, path, status = key.split(" ")
        if status == "200" and (method == "GET" or path.endswith("/query")):
            total += n
    return int(total)


def run(args: argparse.Namespace) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        fake_attio_process(api_key=KEY) as fake,
        busy_loops(args.busy),
    ):
        httpx.post(
            f"{fake.control_url}/limits",
            json={"reads_per_second": READS, "writes_per_second": WRITES},
        )
        if args.busy:
            # The load is the runner's machine's, not Attio's (as in bench/waits.py).
            os.setpriority(os.PRIO_PROCESS, fake.process.pid, -10)
        runs = []
        for n, records in enumerate((args.small, args.records)):
            fake.seed_people(records - (args.small if n else 0))
            database = args.database or f"sqlite:///{Path(tmp) / f'crm-{n}.db'}"
            before = reads(fake)
            figures = child(
                "reconcile",
                fake.base_url,
                database,
                f"sqlite:///{Path(tmp) / f'store-r{n}.db'}",
                str(args.page_size),
            )
            figures["reads"] = reads(fake) - before
            runs.append(figures)
        path = Path(tmp) / "import.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["email_addresses", "name", "job_title"])
            writer.writerows(
                [f"import{n}@bench.test", f"Imported {n}", "CTO"] for n in range(args.import_rows)
            )
        writes_before = (
            httpx.get(f"{fake.control_url}/counts", timeout=30)
            .json()["counts"]
            .get("PUT /v2/objects/people/records 200", 0)
        )
        imported = child(
            "import", fake.base_url, str(path), f"sqlite:///{Path(tmp) / 'store-i.db'}"
        )
        writes = (
            httpx.get(f"{fake.control_url}/counts", timeout=30)
            .json()["counts"]
            .get("PUT /v2/objects/people/records 200", 0)
            - writes_before
        )
        log = fake.requests()
    big, small = runs[1], runs[0]
    return {
        "reconcile_records_per_s": round(big["checked"] / big["seconds"], 1),
        "read_utilization": round(big["reads"] / (big["seconds"] * READS), 3),
        "import_rows_per_s": round(imported["written"] / imported["seconds"], 2),
        "write_utilization": round(writes / (imported["seconds"] * WRITES), 3),
        "http_429": sum(1 for r in log if r["status"] == 429),
        "peak_rss_mb": round(big["peak_rss_mb"], 1),
        "peak_rss_mb_small": round(small["peak_rss_mb"], 1),
        "records": big["checked"],
        "records_small": small["checked"],
        "reconcile_s": round(big["seconds"], 2),
        "reconcile_reads": big["reads"],
        "import_rows": imported["rows"],
        "import_s": round(imported["seconds"], 2),
        "page_size": args.page_size,
        "busy": args.busy,
    }


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        if kind == "reconcile":
            result = asyncio.run(reconcile_child(rest[0], rest[1], rest[2], int(rest[3])))
        else:
            result = asyncio.run(import_child(*rest))
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--import-rows", type=int, default=1_600)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--busy", type=int, default=0, help="spinning processes beside it")
    parser.add_argument("--database", default=None, help="the sync database (SQLite by default)")
    figures = run(parser.parse_args())
    print(
        f"reconcile {figures['records']} records in {figures['reconcile_s']} s "
        f"({figures['reconcile_records_per_s']}/s, "
        f"read utilization {figures['read_utilization']}), "
        f"peak RSS {figures['peak_rss_mb']} MB ({figures['peak_rss_mb_small']} MB at "
        f"{figures['records_small']}); import {figures['import_rows']} rows in "
        f"{figures['import_s']} s (write utilization {figures['write_utilization']}); "
        f"{figures['http_429']} x 429"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
