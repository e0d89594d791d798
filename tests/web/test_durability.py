"""Nothing acknowledged is lost, nothing is applied twice: crashes, drains, outages."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from attio_automate.testing.servers import FakeAttioProcess, runner_process
from tests.web.conftest import (
    KEY,
    SECRET,
    Setup,
    created,
    inbox,
    make_people,
    note_posts,
    people_object_id,
    send,
    wait_until,
)

STEPS = ["s1", "s2"]
#: Seconds Attio is down in the real-time outage test.
OUTAGE = 6


def burst(
    url: str,
    people: str,
    records: list[str],
    acknowledged: list[tuple[str, str]],
    stop: threading.Event,
) -> None:
    """Per record, in order: created, then updates s1, s2; records concurrently."""

    def one_record(record_id: str) -> None:
        with httpx.Client(timeout=10) as client:
            for step in [None, *STEPS]:
                if stop.is_set():
                    return
                key = f"{record_id}-{step or 'created'}"
                try:
                    answer = send(url, [created(people, record_id, step)], key=key, client=client)
                except httpx.TransportError:
                    return  # the runner died: unacknowledged, Attio would retry
                if answer.status_code != 200:
                    return
                acknowledged.append((record_id, step or ""))

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one_record, records))


def check_exactly_once_in_order(
    fake: FakeAttioProcess, acknowledged: list[tuple[str, str]]
) -> None:
    notes: dict[str, list[str]] = defaultdict(list)
    for post in note_posts(fake):
        data = post["body"]["data"]
        notes[data["parent_record_id"]].append(data["content"].rsplit(" at ", 1)[1])
    for record_id, steps in notes.items():
        assert len(steps) == len(set(steps)), f"a note was made twice for {record_id}: {steps}"
        assert steps == ["", *STEPS][: len(steps)], f"out of order for {record_id}: {steps}"
    for record_id, step in acknowledged:
        assert step in notes.get(record_id, []), f"acknowledged {record_id}/{step} was lost"


@pytest.mark.slow
def test_kill_9_mid_burst_loses_nothing_and_repeats_nothing(
    fake: FakeAttioProcess, setup: Setup, tmp_path: Path
) -> None:
    people = people_object_id(fake)
    records = make_people(fake, 40)
    acknowledged: list[tuple[str, str]] = []
    stop = threading.Event()
    common: dict[str, Any] = {
        "rules": setup.rules,
        "config": setup.config,
        "api_key": KEY,
        "webhook_secret": SECRET,
        "base_url": fake.base_url,
        "db_url": setup.db_url,
        "log_path": str(tmp_path / "runner.log"),
    }
    with runner_process(**common) as runner:
        sender = threading.Thread(
            target=burst, args=(runner.url, people, records, acknowledged, stop)
        )
        sender.start()
        assert wait_until(lambda: len(acknowledged) >= 40 and len(note_posts(fake)) >= 10, 30)
        runner.kill()  # SIGKILL mid-burst: no drain, leases left behind
        stop.set()
        sender.join()
        port = int(runner.url.rsplit(":", 1)[1])
    before_restart = len(note_posts(fake))
    assert before_restart < 3 * len(records)  # the crash did interrupt the work
    with runner_process(**common, port=port) as runner:
        # Send the rest, as Attio would retry what was never acknowledged.
        stop.clear()
        burst(runner.url, people, records, acknowledged, stop)
        done = wait_until(lambda: all(row[2] == "done" for row in inbox(setup)), 60)
        assert done, [row for row in inbox(setup) if row[2] != "done"][:5]
    assert len(set(acknowledged)) == 3 * len(records)
    check_exactly_once_in_order(fake, acknowledged)
    assert len(note_posts(fake)) == 3 * len(records)


@pytest.mark.slow
def test_sigterm_drains_and_gives_back_the_rest(
    fake: FakeAttioProcess, setup: Setup, tmp_path: Path
) -> None:
    people = people_object_id(fake)
    records = make_people(fake, 30)
    common: dict[str, Any] = {
        "rules": setup.rules,
        "config": setup.config,
        "api_key": KEY,
        "webhook_secret": SECRET,
        "base_url": fake.base_url,
        "db_url": setup.db_url,
    }
    # Slow Attio down so events are in flight when SIGTERM arrives.
    httpx.post(f"{fake.control_url}/faults", json={"latency": 0.3, "seconds": 600})
    with runner_process(**common) as runner:
        for record_id in records:
            assert send(runner.url, [created(people, record_id)], key=record_id).is_success
        time.sleep(0.5)
        in_flight = {row[0] for row in inbox(setup) if row[2] == "processing"}
        assert in_flight  # Attio is slow: some are being worked on
        started = time.monotonic()
        assert runner.terminate(timeout=30) == 0
        assert time.monotonic() - started < 25
        # What was in flight was let finish (drained), not cancelled.
        assert {row[0] for row in inbox(setup) if row[2] == "done"} >= in_flight
        # After SIGTERM the port is closed: nothing more is accepted.
        with pytest.raises(httpx.TransportError):
            send(runner.url, [created(people, records[0])], key="late")
    rows = inbox(setup)
    assert {row[2] for row in rows} <= {"done", "pending"}  # nothing left leased
    httpx.delete(f"{fake.control_url}/faults")
    with runner_process(**common):
        assert wait_until(lambda: all(row[2] == "done" for row in inbox(setup)), 60)
    check_exactly_once_in_order(fake, [(r, "") for r in records])
    assert len(note_posts(fake)) == len(records)


@pytest.mark.slow
# The store plays no part in riding out an outage: SQLite alone keeps it quick.
@pytest.mark.parametrize("setup", ["sqlite"], indirect=True)
def test_an_outage_ends_with_everything_done(fake: FakeAttioProcess, setup: Setup) -> None:
    """Over real HTTP and processes, a short outage (the long one runs on the
    virtual clock: tests/processing/test_failures.py)."""
    people = people_object_id(fake)
    records = make_people(fake, 20)
    with runner_process(
        rules=setup.rules,
        config=setup.config,
        api_key=KEY,
        webhook_secret=SECRET,
        base_url=fake.base_url,
        db_url=setup.db_url,
    ) as runner:
        # Warm the schema cache, then take Attio down for a few seconds.
        assert send(runner.url, [created(people, records[0])], key="warm").is_success
        assert wait_until(lambda: len(note_posts(fake)) == 1, 20)
        fake.fail(status=503, seconds=OUTAGE)
        outage_started = time.monotonic()
        for record_id in records[1:]:
            assert send(runner.url, [created(people, record_id)], key=record_id).is_success
        assert wait_until(lambda: all(row[2] == "done" for row in inbox(setup)), 90)
        assert time.monotonic() - outage_started >= OUTAGE - 1
        rows = inbox(setup)
        assert [row for row in rows if row[2] == "dead"] == []
        metrics = httpx.get(f"{runner.url}/metrics").text
        assert 'attio_automate_attio_requests_total{status="503"}' in metrics
    check_exactly_once_in_order(fake, [(r, "") for r in records])


@pytest.mark.slow
def test_a_restart_after_kill_9_resumes_at_once_not_when_leases_run_out(
    fake: FakeAttioProcess, setup: Setup, tmp_path: Path
) -> None:
    config = tmp_path / "long-leases.yaml"
    config.write_text(
        Path(setup.config).read_text().replace("lease_seconds: 3", "lease_seconds: 30")
    )
    people = people_object_id(fake)
    records = make_people(fake, 12)
    common: dict[str, Any] = {
        "rules": setup.rules,
        "config": str(config),
        "api_key": KEY,
        "webhook_secret": SECRET,
        "base_url": fake.base_url,
        "db_url": setup.db_url,
    }
    # Slow Attio: events are in flight, leased for 30 s, when the runner dies.
    httpx.post(f"{fake.control_url}/faults", json={"latency": 0.5, "seconds": 600})
    with runner_process(**common) as runner:
        for record_id in records:
            assert send(runner.url, [created(people, record_id)], key=record_id).is_success
        assert wait_until(lambda: any(row[2] == "processing" for row in inbox(setup)), 10)
        held = {row[0] for row in inbox(setup) if row[2] == "processing"}
        runner.kill()
        port = int(runner.url.rsplit(":", 1)[1])
    httpx.delete(f"{fake.control_url}/faults")
    with runner_process(**common, port=port):
        started = time.monotonic()
        assert wait_until(lambda: held <= {row[0] for row in inbox(setup) if row[2] == "done"}, 20)
        resumed = time.monotonic() - started
    assert resumed < 2.0, f"held events done {resumed:.1f}s after the restart"
    check_exactly_once_in_order(fake, [(r, "") for r in records])
