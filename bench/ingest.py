"""Benchmark: how fast the runner acknowledges signed webhooks.

Serves the runner (hypercorn, SQLite with synchronous=FULL, dispatcher
running) in its own process, with the fake Attio in another, and sends
signed deliveries of one event each from many keep-alive connections.  In
the same run, the same server answers a bare endpoint (read the body, answer
200): the ratio says what receiving costs over serving at all.

Events are of a type no rule handles, so the dispatcher's work stays small
and the figures are about ingest.

Run: ``python bench/ingest.py``.  Last line: ``events_per_s``, ``bare_per_s``,
``ratio``, ``ack_p50_ms``, ``ack_p99_ms``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

# Run as a script, bench/ is on sys.path and _loadgen imports as a module.
from _loadgen import LoadResult, post, run_load

from attio_automate.delivery import sign
from attio_automate.testing.servers import fake_attio_process, free_port, wait_until_up

REQUESTS = 4_000
CONNECTIONS = 32
SECRET = "bench-secret"
KEY = "bench-key"
RULES = "version: 1\nrules: []\n"


def main() -> None:
    body = json.dumps(
        {
            "webhook_id": "bench",
            "events": [
                {
                    "event_type": "bench.ping",
                    "id": {"workspace_id": "w", "thing_id": "t"},
                    "actor": {"type": "workspace-member", "id": "m"},
                }
            ],
        }
    ).encode()
    signature = sign(body, SECRET)

    def webhook(n: int) -> bytes:
        return post(
            "/webhooks/attio", body, {"Attio-Signature": signature, "Idempotency-Key": f"bench-{n}"}
        )

    def bare(n: int) -> bytes:
        return post(
            "/bench/bare", body, {"Attio-Signature": signature, "Idempotency-Key": f"bare-{n}"}
        )

    with tempfile.TemporaryDirectory() as tmp, fake_attio_process(api_key=KEY) as fake:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(RULES)
        port = free_port()
        env = {
            **os.environ,
            "ATTIO_API_KEY": KEY,
            "ATTIO_WEBHOOK_SECRET": SECRET,
            "ATTIO_BASE_URL": fake.base_url,
            "ATTIO_AUTOMATE_DB": f"sqlite:///{Path(tmp) / 'ingest.db'}",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("_ingest_server.py")),
                str(rules),
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", process=server, ready_status=200)

            def load(make: Callable[[int], bytes], count: int) -> LoadResult:
                return asyncio.run(
                    run_load(
                        "127.0.0.1",
                        port,
                        requests=count,
                        connections=CONNECTIONS,
                        make_request=make,
                    )
                )

            load(bare, 500)  # warm up both paths
            load(lambda n: webhook(REQUESTS * 10 + n), 500)
            bare_result = load(bare, REQUESTS)
            webhook_result = load(webhook, REQUESTS)
        finally:
            server.terminate()
            server.wait(timeout=30)
    ratio = webhook_result.per_second / bare_result.per_second
    print(
        f"bare endpoint: {bare_result.ok} ok in {bare_result.elapsed:.2f}s = "
        f"{bare_result.per_second:.0f}/s (p50 {bare_result.percentile(0.5) * 1000:.1f} ms)"
    )
    print(
        f"webhooks:      {webhook_result.ok} ok, {webhook_result.failed} failed in "
        f"{webhook_result.elapsed:.2f}s = {webhook_result.per_second:.0f} events/s"
    )
    print(
        f"ack latency:   p50 {webhook_result.percentile(0.5) * 1000:.1f} ms, "
        f"p99 {webhook_result.percentile(0.99) * 1000:.1f} ms "
        f"({CONNECTIONS} connections)"
    )
    print(f"ratio webhook/bare: {ratio:.2f}")
    print(
        json.dumps(
            {
                "events_per_s": round(webhook_result.per_second, 1),
                "bare_per_s": round(bare_result.per_second, 1),
                "ratio": round(ratio, 3),
                "ack_p50_ms": round(webhook_result.percentile(0.5) * 1000, 2),
                "ack_p99_ms": round(webhook_result.percentile(0.99) * 1000, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
