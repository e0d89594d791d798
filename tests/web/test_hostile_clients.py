"""Hostile and stalled clients against a real runner on loopback: slow
bodies are cut off, stalled bodies cannot fill memory, and signed webhooks
keep being acknowledged meanwhile; poisoned JSON is refused and does not
disturb the deliveries beside it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from attio_automate.delivery import sign
from attio_automate.testing.servers import FakeAttioProcess, RunnerProcess, runner_process
from attio_automate.testing.webhooks import delivery
from tests.web.conftest import (
    FAST_CONFIG,
    KEY,
    SECRET,
    Setup,
    created,
    inbox,
    make_people,
    people_object_id,
    send,
)

BOUNDED = FAST_CONFIG.replace(
    "server:\n",
    "server:\n  body_seconds: 1.5\n  max_buffered_bytes: 300000\n  idle_seconds: 5\n",
)


@pytest.fixture
def runner(fake: FakeAttioProcess, setup: Setup, tmp_path: Path) -> Iterator[RunnerProcess]:
    config = tmp_path / "bounded.yaml"
    config.write_text(BOUNDED)
    with runner_process(
        rules=setup.rules,
        config=str(config),
        api_key=KEY,
        webhook_secret=SECRET,
        base_url=fake.base_url,
        db_url=setup.db_url,
    ) as process:
        yield process


def open_body(url: str, *, length: int, sent: bytes) -> socket.socket:
    """A connection that announced ``length`` body bytes and sent ``sent`` of them."""
    host, port = url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    conn.sendall(
        f"POST /webhooks/attio HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Attio-Signature: {'0' * 64}\r\nContent-Length: {length}\r\n\r\n".encode()
        + sent
    )
    return conn


def status_of(conn: socket.socket) -> int:
    answer = conn.recv(4096)
    return int(answer.split(b" ", 2)[1]) if answer else 0


@pytest.mark.slow
@pytest.mark.parametrize("setup", ["sqlite"], indirect=True)
def test_a_body_sent_a_byte_at_a_time_is_cut_off(runner: RunnerProcess) -> None:
    conn = open_body(runner.url, length=1000, sent=b"{")
    started = time.monotonic()
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            try:
                conn.sendall(b" ")
            except OSError:
                return
            time.sleep(0.5)

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        assert status_of(conn) == 408
        assert time.monotonic() - started < 5
    finally:
        stop.set()
        thread.join()
        conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("setup", ["sqlite"], indirect=True)
def test_stalled_bodies_cannot_fill_memory_and_webhooks_still_land(
    runner: RunnerProcess, fake: FakeAttioProcess, setup: Setup
) -> None:
    # Six stalled bodies of 200 kB: past the 300 kB the runner holds at once
    # (beyond the first 64 KiB of each, which a delivery may always use).
    stalled = [open_body(runner.url, length=400_000, sent=b"x" * 200_000) for _ in range(6)]
    try:
        time.sleep(0.3)
        statuses = []
        for conn in stalled:
            conn.settimeout(0.2)
            try:
                statuses.append(status_of(conn))
            except TimeoutError:
                statuses.append(0)  # still held: within the budget
        assert 503 in statuses
        # A signed webhook is acknowledged meanwhile, promptly.
        people = people_object_id(fake)
        record = make_people(fake, 1)[0]
        started = time.monotonic()
        assert send(runner.url, [created(people, record)], key="real").status_code == 200
        assert time.monotonic() - started < 1.0
    finally:
        for conn in stalled:
            conn.close()
    assert [row[1] for row in inbox(setup)] == ["real:0"]


@pytest.mark.slow
@pytest.mark.parametrize("setup", ["sqlite"], indirect=True)
def test_declared_big_bodies_reserve_the_budget_before_they_are_read(
    runner: RunnerProcess,
) -> None:
    # 250,000 bytes declared: 184,464 beyond the first 64 KiB, reserved at
    # once; two of them would pass the 300 kB budget.
    first = open_body(runner.url, length=250_000, sent=b"")
    try:
        time.sleep(0.3)
        second = open_body(runner.url, length=250_000, sent=b"")
        started = time.monotonic()
        assert status_of(second) == 503  # refused before any of it was sent
        assert time.monotonic() - started < 1.0
        second.close()
        first.settimeout(0.2)
        with pytest.raises(TimeoutError):
            status_of(first)  # still being read, within the budget
    finally:
        first.close()
    time.sleep(0.3)
    # The first one's reservation is given back when it goes.
    third = open_body(runner.url, length=250_000, sent=b"")
    try:
        third.settimeout(0.3)
        with pytest.raises(TimeoutError):
            status_of(third)
    finally:
        third.close()


@pytest.mark.slow
@pytest.mark.parametrize("setup", ["sqlite", "postgres"], indirect=True)
def test_poisoned_json_is_400_and_the_deliveries_beside_it_land(
    runner: RunnerProcess, fake: FakeAttioProcess, setup: Setup
) -> None:
    people = people_object_id(fake)
    records = make_people(fake, 20)
    poisons = [
        b'{"events": [{"event_type": "record.created", "id": {"x": NaN}}]}',
        b'{"events": [{"event_type": "record.created\\u0000", "id": {}}]}',
        b'{"events": [{"event_type": "record.created", "id": {"x": "\\udc00"}}]}',
        b"[" * 100_000 + b"]" * 100_000,
    ]
    results: list[int] = []

    def poison(body: bytes) -> None:
        answer = httpx.post(
            f"{runner.url}/webhooks/attio",
            content=body,
            headers={"Attio-Signature": sign(body, SECRET), "Idempotency-Key": "poison"},
            timeout=30,
        )
        results.append(answer.status_code)

    def good(record_id: str) -> None:
        results.append(send(runner.url, [created(people, record_id)], key=record_id).status_code)

    threads = [threading.Thread(target=poison, args=(p,)) for p in poisons]
    threads += [threading.Thread(target=good, args=(r,)) for r in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] * len(records) + [400] * len(poisons)
    assert sorted(row[1] for row in inbox(setup)) == sorted(f"{r}:0" for r in records)


@pytest.mark.slow
@pytest.mark.parametrize("setup", ["sqlite", "postgres"], indirect=True)
def test_a_replayed_body_under_a_new_key_is_a_duplicate_within_the_window(
    fake: FakeAttioProcess, setup: Setup, tmp_path: Path
) -> None:
    config = tmp_path / "replay.yaml"
    config.write_text(FAST_CONFIG + "receiver:\n  replay_window: 600\n")
    people = people_object_id(fake)
    record = make_people(fake, 1)[0]
    body = delivery([created(people, record)])

    def post(key: str) -> httpx.Response:
        headers = {"Attio-Signature": sign(body, SECRET), "Idempotency-Key": key}
        return httpx.post(f"{url}/webhooks/attio", content=body, headers=headers, timeout=30)

    with runner_process(
        rules=setup.rules,
        config=str(config),
        api_key=KEY,
        webhook_secret=SECRET,
        base_url=fake.base_url,
        db_url=setup.db_url,
    ) as runner:
        url = runner.url
        assert post("attio-1").json() == {"accepted": 1, "duplicates": 0}
        assert post("attio-1").json() == {"accepted": 0, "duplicates": 1}  # Attio's retry
        assert post("attacker-2").json() == {"accepted": 0, "duplicates": 1, "replay": True}
    assert [row[1] for row in inbox(setup)] == ["attio-1:0"]
