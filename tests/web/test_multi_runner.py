"""Three runners on one PostgreSQL and one fake Attio: order, once, limits, crashes."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from attio_automate.testing.servers import (
    FakeAttioProcess,
    RunnerProcess,
    fake_attio_process,
    runner_process,
)
from tests.store.conftest import PG_BASE
from tests.web.conftest import KEY, NOTE_RULES, SECRET, created, make_people, note_posts, send

STEPS = [None, "s1", "s2"]
CONFIG = """
dispatcher: {concurrency: 8, lease_seconds: 3, poll_seconds: 0.2, backoff_initial: 0.5,
             backoff_max: 4}
attio: {schema_ttl: 600, rate_limit_fraction: 0.96}
server: {drain_seconds: 5}
"""


@pytest.fixture
def limited_fake() -> Iterator[FakeAttioProcess]:
    with fake_attio_process(api_key=KEY) as fake:
        yield fake


def inbox_statuses(pg_url: str) -> Counter[str]:
    import asyncio

    import asyncpg

    schema = pg_url.rsplit("search_path=", 1)[1]

    async def read() -> Counter[str]:
        connection = await asyncpg.connect(PG_BASE)
        try:
            rows = await connection.fetch(f'SELECT status FROM "{schema}".inbox')
        finally:
            await connection.close()
        return Counter(row["status"] for row in rows)

    return asyncio.run(read())


@pytest.mark.slow
def test_three_runners_share_order_effects_and_the_limit(
    limited_fake: FakeAttioProcess, pg_url: str, tmp_path: Path
) -> None:
    fake = limited_fake
    records = make_people(fake, 30)
    with httpx.Client(
        base_url=fake.base_url + "/", headers={"Authorization": f"Bearer {KEY}"}
    ) as client:
        people = next(
            o["id"]["object_id"]
            for o in client.get("objects").json()["data"]
            if o["api_slug"] == "people"
        )
    httpx.post(
        f"{fake.control_url}/limits", json={"reads_per_second": 100, "writes_per_second": 25}
    )
    fake.clear_requests()
    rules = tmp_path / "rules.yaml"
    rules.write_text(NOTE_RULES)
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    acknowledged: set[tuple[str, str]] = set()
    with ExitStack() as stack:
        runners: list[RunnerProcess] = [
            stack.enter_context(
                runner_process(
                    rules=str(rules),
                    config=str(config),
                    api_key=KEY,
                    webhook_secret=SECRET,
                    base_url=fake.base_url,
                    db_url=pg_url,
                    log_path=str(tmp_path / f"r{n}.log"),
                )
            )
            for n in range(3)
        ]
        alive = list(runners)
        lock = threading.Lock()
        turn = itertools.count()

        def one_record(record_id: str) -> None:
            with httpx.Client(timeout=10) as http:
                for step in STEPS:
                    key = f"{record_id}-{step or 'created'}"
                    while True:  # a load balancer: the next live runner
                        with lock:
                            target = alive[next(turn) % len(alive)]
                        try:
                            answer = send(
                                target.url, [created(people, record_id, step)], key=key, client=http
                            )
                        except httpx.TransportError:
                            continue
                        if answer.status_code == 200:
                            with lock:
                                acknowledged.add((record_id, step or ""))
                            break

        killer_done = threading.Event()

        def kill_one() -> None:
            # Mid-burst, runner 0 dies without a word.
            deadline = time.monotonic() + 30
            # Counting, not fetching the log: the fake must not stall under the burst.
            while fake.count("POST", "/v2/notes") < 20 and time.monotonic() < deadline:
                time.sleep(0.2)
            with lock:
                alive.remove(runners[0])
            runners[0].kill()
            killer_done.set()

        killer = threading.Thread(target=kill_one)
        killer.start()
        with ThreadPoolExecutor(max_workers=12) as pool:
            list(pool.map(one_record, records))
        killer.join()
        assert killer_done.is_set()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            statuses = inbox_statuses(pg_url)
            if statuses and set(statuses) == {"done"}:
                break
            time.sleep(0.5)
        assert set(inbox_statuses(pg_url)) == {"done"}, inbox_statuses(pg_url)
        log = fake.requests()
    assert len(acknowledged) == 3 * len(records)
    notes: dict[str, list[str]] = defaultdict(list)
    for post in note_posts(fake):
        data = post["body"]["data"]
        notes[data["parent_record_id"]].append(data["content"].rsplit(" at ", 1)[1])
    for record_id in records:
        assert notes[record_id] == ["", "s1", "s2"], (record_id, notes[record_id])
    # The three runners together never went past Attio's limits.
    assert [r for r in log if r["status"] == 429] == []
    per_second: Counter[tuple[str, int]] = Counter(
        (r["kind"], int(r["time"])) for r in log if not r["path"].startswith("/_fake")
    )
    assert max(n for (kind, _), n in per_second.items() if kind == "write") <= 25
    assert max(n for (kind, _), n in per_second.items() if kind == "read") <= 100
