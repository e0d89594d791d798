"""``attio-automate fake-attio`` as a real server on loopback."""

from __future__ import annotations

import signal

import pytest

from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.retry import RetryPolicy
from attio_automate.errors import AttioRateLimited
from attio_automate.testing.servers import fake_attio_process

pytestmark = pytest.mark.anyio


async def test_served_fake_answers_the_client_and_enforces_limits() -> None:
    with fake_attio_process(writes_per_second=2, api_key="k") as fake:
        # No pacing and no retries: the fake must refuse the third write in a second.
        settings = ClientSettings(base_url=fake.base_url, retry=RetryPolicy(attempts=1))
        from attio_automate.attio.ratelimit import RateLimits

        settings = ClientSettings(
            base_url=fake.base_url,
            retry=RetryPolicy(attempts=1),
            rate_limits=RateLimits(writes_per_second=1000, reads_per_second=1000),
        )
        async with AttioClient(api_key="k", settings=settings) as attio:
            objects = await attio.list_objects()
            assert {o["api_slug"] for o in objects} == {"people", "companies", "deals"}
            refused = 0
            for n in range(6):
                try:
                    await attio.create_record("companies", {"name": [f"C{n}"]})
                except AttioRateLimited:
                    refused += 1
            assert refused >= 2
        log = fake.requests()
        assert sum(1 for r in log if r["status"] == 429) == refused


def test_empty_workspace_flag() -> None:
    import httpx

    with fake_attio_process(extra_args=["--empty"]) as fake:
        assert httpx.get(f"{fake.base_url}/objects").json() == {"data": []}


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_fake_cleanly(signal_number: int) -> None:
    with fake_attio_process() as fake:
        fake.process.send_signal(signal_number)
        code = fake.process.wait(timeout=15)
        assert fake.process.stderr is not None
        errors = fake.process.stderr.read().decode()
    assert code == 0, errors
    assert "Traceback" not in errors


async def test_a_fake_that_serves_long_keeps_only_the_newest_answers() -> None:
    import httpx

    from attio_automate.testing.fake import FakeAttio

    fake = FakeAttio(kept_answers=2)
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://fake") as http:
        for _ in range(3):
            assert (await http.get("/v2/objects")).status_code == 200
    first, *newest = fake.requests
    # Every request is still in the log; only the oldest answer is gone.
    assert len(fake.requests) == 3
    assert "response" not in first
    assert first["status"] == 200
    assert all(len(r["response"]["data"]) == 3 for r in newest)


def test_the_served_fake_is_told_how_many_answers_to_keep() -> None:
    import httpx

    with fake_attio_process(extra_args=["--kept-answers", "1"]) as served:
        for _ in range(3):
            httpx.get(f"{served.base_url}/objects", timeout=10)
        log = [r for r in served.requests() if r["path"] == "/v2/objects"]
        assert ["response" in r for r in log] == [False, False, True]
