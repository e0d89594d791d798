"""The fake's own behaviour: rate limits, faults, auth and its request log."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx
import pytest

from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.25

    def __call__(self) -> float:
        return self.now


def http(fake: FakeAttio) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=fake.transport(), base_url="http://fake")


async def test_limits_are_counted_per_clock_second_and_kind() -> None:
    clock = Clock()
    fake = FakeAttio(reads_per_second=3, writes_per_second=1, clock=clock)
    async with http(fake) as client:
        reads = [(await client.get("/v2/objects")).status_code for _ in range(4)]
        query = await client.post("/v2/objects/people/records/query", json={})
        write = await client.post("/v2/notes", json={"data": {}})
        second_write = await client.post("/v2/notes", json={"data": {}})
        clock.now += 1.0  # the next clock second starts afresh
        later = await client.get("/v2/objects")
    assert reads == [200, 200, 200, 429]
    assert query.status_code == 429  # POST .../query is a read
    assert write.status_code == 400  # a write slot was free; the body was bad
    assert second_write.status_code == 429
    assert later.status_code == 200


async def test_429_says_when_to_come_back() -> None:
    clock = Clock()
    fake = FakeAttio(writes_per_second=1, clock=clock)
    async with http(fake) as client:
        await client.post("/v2/notes", json={"data": {}})
        refused = await client.post("/v2/notes", json={"data": {}})
    assert refused.json()["code"] == "rate_limit_exceeded"
    assert refused.json()["status_code"] == 429
    date = parsedate_to_datetime(refused.headers["date"]).timestamp()
    retry_after = parsedate_to_datetime(refused.headers["retry-after"]).timestamp()
    assert (date, retry_after) == (1_000_000, 1_000_001)


async def test_faults_last_for_their_period() -> None:
    clock = Clock()
    fake = FakeAttio(clock=clock)
    fake.fail(status=503, seconds=30, path="/records")
    async with http(fake) as client:
        down = await client.post("/v2/objects/people/records/query", json={})
        other = await client.get("/v2/objects")
        clock.now += 31
        back = await client.post("/v2/objects/people/records/query", json={})
    assert (down.status_code, other.status_code, back.status_code) == (503, 200, 200)
    assert down.json()["type"] == "api_error"


async def test_latency_can_be_injected() -> None:
    import time

    fake = FakeAttio()
    fake.slow(latency=0.2, seconds=30)
    async with http(fake) as client:
        started = time.monotonic()
        await client.get("/v2/objects")
    assert time.monotonic() - started >= 0.2


async def test_api_key_is_required_when_set() -> None:
    fake = FakeAttio(api_key="secret")
    async with http(fake) as client:
        missing = await client.get("/v2/objects")
        wrong = await client.get("/v2/objects", headers={"Authorization": "Bearer nope"})
        right = await client.get("/v2/objects", headers={"Authorization": "Bearer secret"})
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.json()["type"] == "auth_error"


async def test_request_log_and_control_api() -> None:
    fake = FakeAttio()
    async with http(fake) as client:
        await client.put(
            "/v2/objects/people/records?matching_attribute=email_addresses",
            json={"data": {"values": {"email_addresses": ["a@b.co"]}}},
        )
        log = (await client.get("/_fake/requests")).json()["requests"]
        assert [(r["method"], r["query"], r["status"], r["kind"]) for r in log] == [
            ("PUT", {"matching_attribute": "email_addresses"}, 200, "write")
        ]
        assert log[0]["body"]["data"]["values"]["email_addresses"] == ["a@b.co"]
        await client.post("/_fake/faults", json={"status": 500, "seconds": 10})
        assert (await client.get("/v2/objects")).status_code == 500
        await client.delete("/_fake/faults")
        assert (await client.get("/v2/objects")).status_code == 200
        await client.post("/_fake/limits", json={"reads_per_second": 1})
        await client.get("/v2/objects")
        assert (await client.get("/v2/objects")).status_code == 429
        await client.delete("/_fake/requests")
        assert (await client.get("/_fake/requests")).json()["requests"] == []


async def test_malformed_json_is_refused_in_attios_shape() -> None:
    fake = FakeAttio()
    async with http(fake) as client:
        answer = await client.post(
            "/v2/notes", content=b"{nope", headers={"content-type": "application/json"}
        )
    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_type"


async def test_unknown_filter_operator_is_a_filter_error() -> None:
    fake = FakeAttio()
    async with http(fake) as client:
        answer = await client.post(
            "/v2/objects/people/records/query", json={"filter": {"name": {"$like": "x"}}}
        )
    assert (answer.status_code, answer.json()["code"]) == (400, "filter_error")
