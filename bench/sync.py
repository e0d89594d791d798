"""Benchmark: sync at Attio's limits, against the fake in its own process
(100 reads/s, 25 writes/s).

1. Reconcile: a mirror of the people, empty, reconciled with Attio holding
   ``--small`` (5,000) and then ``--records`` (20,000) people, each run in a
   process of its own whose RSS is sampled every 20 ms (so the two peaks
   say whether memory grows with the record count).  These read
   ``--page-size`` (50) records a page: few enough that Attio's read limit
   sets the pace, which is what ``read_utilization`` measures.  At 500 a
   page the pace is the CPU's, the fake's included: it takes about 20 ms to
   answer one such page, so not even an idle client could reach 100 pages a
   second.  A third run of the 20,000 at the runner's own page size (500)
   gives the ``default_page_*`` figures.
2. Import: ``--import-rows`` (1,600: 64 s at 25 writes/s) people from a CSV,
   upserted with assert through the shared limiter.

Prints ``reconcile_records_per_s`` and ``read_utilization`` (reads the
reconcile made / (its seconds x 100)), ``import_rows_per_s`` and
``write_utilization`` (writes / (seconds x 25)), ``http_429`` (every phase)
and ``peak_rss_mb`` (the 20,000-record reconcile's), with the small run's
peak beside it.  The runner keeps to 0.98 of Attio's limits (its default),
and its processes settle their heaps after start-up as the CLI does.

Run: ``python bench/sync.py [--records 20000] [--small 5000]
[--import-rows 1600] [--page-size 50] [--busy N] [--database URL]``
(the sync database is SQLite in a temporary folder by default, or a fresh
schema per run in ``--database``'s PostgreSQL; with ``--busy N`` N
processes spin beside the runner's side, the fake above them).
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
from attio_automate.heap import settle_heap
from attio_automate.store import open_store_url
from attio_automate.sync.database import SyncDatabase
from attio_automate.sync.importing import Importer
from attio_automate.sync.reconcile import Reconciler
from attio_automate.sync.spec import MirrorSpec, SyncSpec
from attio_automate.testing.servers import fake_attio_process

KEY = "sync-bench-key"
#: The runner's own page size (``sync.page_size``), measured beside.
DEFAULT_PAGE = SyncSpec(database="sqlite://").page_size
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
    base_url: str, control_url: str, database: str, store_url: str, page_size: int
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
            settle_heap()  # as `attio-automate sync run` does
            reads_before = reads(control_url)
            started = time.perf_counter()
            counts = (await reconciler.run())[MIRROR.table]
            seconds = time.perf_counter() - started
            run_reads = reads(control_url) - reads_before
            await store.close()
            await sync.close()
    return {
        "seconds": seconds,
        "checked": counts.checked,
        "created": counts.created,
        "reads": run_reads,
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
        settle_heap()  # as `attio-automate import` does
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


def reads(control_url: str) -> int:
    """Reads the fake has answered (GETs and queries)."""
    counts = httpx.get(f"{control_url}/counts", timeout=30).json()["counts"]
    total = 0
    for key, n in counts.items():
        method, path, status = key.split(" ")
        if status == "200" and (method == "GET" or path.endswith("/query")):
            total += n
    return int(total)


def sync_database(args: argparse.Namespace, tmp: str, name: str) -> str:
    """A fresh sync database for one reconcile: a SQLite file in ``tmp``, or
    a schema of its own in ``--database``'s PostgreSQL."""
    if args.database is None:
        return f"sqlite:///{Path(tmp) / f'crm-{name}.db'}"
    joiner = "&" if "?" in args.database else "?"
    return f"{args.database}{joiner}search_path=sync_bench_{name}_{os.getpid()}"


def drop_schemas(args: argparse.Namespace, names: list[str]) -> None:
    """The PostgreSQL schemas :func:`sync_database` made, dropped."""
    if args.database is None:
        return
    import asyncpg

    async def drop() -> None:
        connection = await asyncpg.connect(args.database.split("?")[0])
        for name in names:
            await connection.execute(
                f'DROP SCHEMA IF EXISTS "sync_bench_{name}_{os.getpid()}" CASCADE'
            )
        await connection.close()

    asyncio.run(drop())


def reconcile(
    fake: Any, args: argparse.Namespace, tmp: str, name: str, page_size: int
) -> dict[str, Any]:
    """One reconcile of every person into an empty mirror, in its own process."""
    return child(
        "reconcile",
        fake.base_url,
        fake.control_url,
        sync_database(args, tmp, name),
        f"sqlite:///{Path(tmp) / f'store-{name}.db'}",
        str(page_size),
    )


def import_rows(fake: Any, tmp: str, rows: int) -> tuple[dict[str, Any], int]:
    """An import of ``rows`` new people in its own process; its figures and
    the writes the fake answered meanwhile."""
    path = Path(tmp) / "import.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email_addresses", "name", "job_title"])
        writer.writerows([f"import{n}@bench.test", f"Imported {n}", "CTO"] for n in range(rows))
    before = fake.count("PUT", "/v2/objects/people/records")
    imported = child("import", fake.base_url, str(path), f"sqlite:///{Path(tmp) / 'store-i.db'}")
    return imported, fake.count("PUT", "/v2/objects/people/records") - before


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
        try:
            fake.seed_people(args.small)
            small = reconcile(fake, args, tmp, "small", args.page_size)
            fake.seed_people(args.records - args.small)
            big = reconcile(fake, args, tmp, "big", args.page_size)
            default = reconcile(fake, args, tmp, "default", DEFAULT_PAGE)
        finally:
            drop_schemas(args, ["small", "big", "default"])
        imported, writes = import_rows(fake, tmp, args.import_rows)
        log = fake.requests()
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
        "page_size": args.page_size,
        "default_page_records_per_s": round(default["checked"] / default["seconds"], 1),
        "default_page_read_utilization": round(default["reads"] / (default["seconds"] * READS), 3),
        "default_page_peak_rss_mb": round(default["peak_rss_mb"], 1),
        "default_page_size": DEFAULT_PAGE,
        "import_rows": imported["rows"],
        "import_s": round(imported["seconds"], 2),
        "busy": args.busy,
        "database": "postgresql" if args.database else "sqlite",
    }


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        if kind == "reconcile":
            base_url, control_url, database, store_url, page_size = rest
            result = asyncio.run(
                reconcile_child(base_url, control_url, database, store_url, int(page_size))
            )
        else:
            result = asyncio.run(import_child(*rest))
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--import-rows", type=int, default=1_600)
    parser.add_argument(
        "--page-size",
        type=int,
        default=50,
        help="records a page in the measured runs (small enough that reads set the pace)",
    )
    parser.add_argument("--busy", type=int, default=0, help="spinning processes beside it")
    parser.add_argument("--database", default=None, help="the sync database (SQLite by default)")
    figures = run(parser.parse_args())
    print(
        f"reconcile {figures['records']} records, {figures['page_size']} a page, in "
        f"{figures['reconcile_s']} s ({figures['reconcile_records_per_s']}/s, "
        f"read utilization {figures['read_utilization']}); "
        f"{DEFAULT_PAGE} a page: {figures['default_page_records_per_s']}/s, "
        f"read utilization {figures['default_page_read_utilization']}, "
        f"peak RSS {figures['default_page_peak_rss_mb']} MB; "
        f"peak RSS {figures['peak_rss_mb']} MB ({figures['peak_rss_mb_small']} MB at "
        f"{figures['records_small']}); import {figures['import_rows']} rows in "
        f"{figures['import_s']} s (write utilization {figures['write_utilization']}); "
        f"{figures['http_429']} x 429"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
