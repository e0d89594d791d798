"""Retries, 429 handling and unknown outcomes, against httpx.MockTransport."""

from __future__ import annotations

from email.utils import formatdate

import httpx
import pytest

from attio_automate.attio.retry import RetryPolicy
from attio_automate.clock import VirtualClock
from attio_automate.errors import (
    AttioOutcomeUnknown,
    AttioRateLimited,
    AttioServerError,
    AttioTransportError,
)
from tests.attio.helpers import attio_error, mock_client, ok

pytestmark = pytest.mark.anyio


async def test_429_waits_retry_after_minus_date_then_succeeds() -> None:
    clock = VirtualClock()
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(clock.monotonic())
        if len(calls) == 1:
            # Attio's clock is an hour ahead of ours: only the difference counts.
            date = clock.time() + 3600
            return attio_error(
                429,
                "rate_limit_exceeded",
                "slow down",
                Date=formatdate(date, usegmt=True),
                **{"Retry-After": formatdate(date + 3, usegmt=True)},
            )
        return ok([])

    async with mock_client(handler, clock=clock) as attio:
        assert await attio.list_objects() == []
    assert len(calls) == 2
    assert calls[1] - calls[0] == pytest.approx(3.0, abs=0.01)


async def test_429_pushes_back_the_whole_budget() -> None:
    clock = VirtualClock()
    sent: list[tuple[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append((request.url.path, clock.monotonic()))
        if len(sent) == 1:
            now = clock.time()
            return attio_error(
                429,
                "rate_limit_exceeded",
                "slow down",
                Date=formatdate(now, usegmt=True),
                **{"Retry-After": formatdate(now + 2, usegmt=True)},
            )
        return ok([])

    async with mock_client(handler, clock=clock) as attio:
        await attio.list_objects()
        await attio.list_lists()  # a different request, same budget: waits too
    assert all(at >= 2.0 for _, at in sent[1:])


async def test_429_past_the_retry_policy_is_an_attio_error() -> None:
    clock = VirtualClock()

    def handler(request: httpx.Request) -> httpx.Response:
        return attio_error(429, "rate_limit_exceeded", "slow down", **{"Retry-After": "1"})

    async with mock_client(handler, clock=clock, retry=RetryPolicy(attempts=3)) as attio:
        with pytest.raises(AttioRateLimited) as caught:
            await attio.list_objects()
    assert caught.value.status_code == 429
    assert caught.value.retryable


async def test_5xx_then_success_backs_off_exponentially() -> None:
    clock = VirtualClock()
    statuses = iter([503, 502, 500, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return ok([]) if status == 200 else attio_error(status, "unavailable", "down")

    policy = RetryPolicy(attempts=5, backoff_initial=1.0, multiplier=2.0, jitter=0.0)
    async with mock_client(handler, clock=clock, retry=policy) as attio:
        assert await attio.list_objects() == []
    backoffs = [s for s in clock.sleeps if s >= 0.5]
    assert backoffs == [1.0, 2.0, 4.0]


async def test_jitter_shortens_backoff_within_bounds() -> None:
    import random

    policy = RetryPolicy(backoff_initial=1.0, multiplier=2.0, jitter=0.5, backoff_max=5.0)
    rng = random.Random(1)
    waits = [policy.backoff(n, rng) for n in range(6)]
    for n, wait in enumerate(waits):
        base = min(5.0, 2.0**n)
        assert base / 2 <= wait <= base
    assert len(set(waits)) == len(waits)


async def test_5xx_past_the_policy_carries_attio_fields() -> None:
    clock = VirtualClock()

    def handler(request: httpx.Request) -> httpx.Response:
        return attio_error(503, "service_unavailable", "maintenance")

    async with mock_client(handler, clock=clock, retry=RetryPolicy(attempts=2)) as attio:
        with pytest.raises(AttioServerError) as caught:
            await attio.get_record("people", "r1")
    error = caught.value
    assert (error.status_code, error.code, error.message) == (
        503,
        "service_unavailable",
        "maintenance",
    )


async def test_read_timeout_on_a_create_is_not_repeated() -> None:
    clock = VirtualClock()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    async with mock_client(handler, clock=clock) as attio:
        with pytest.raises(AttioOutcomeUnknown):
            await attio.create_note(
                parent_object="people", parent_record_id="r", title="t", content="c"
            )
    assert len(calls) == 1


async def test_500_to_a_create_is_not_repeated() -> None:
    clock = VirtualClock()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return attio_error(500, "internal", "boom")

    async with mock_client(handler, clock=clock) as attio:
        with pytest.raises(AttioServerError):
            await attio.create_task(content="call back")
    assert len(calls) == 1


async def test_connect_error_on_a_create_is_retried() -> None:
    clock = VirtualClock()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ConnectError("refused", request=request)
        return ok({"id": {"task_id": "t"}})

    async with mock_client(handler, clock=clock) as attio:
        task = await attio.create_task(content="call back")
    assert task == {"id": {"task_id": "t"}}
    assert len(calls) == 3


async def test_timeouts_on_reads_are_retried_then_reported() -> None:
    clock = VirtualClock()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    async with mock_client(handler, clock=clock, retry=RetryPolicy(attempts=4)) as attio:
        with pytest.raises(AttioTransportError, match="after 4 attempts") as caught:
            await attio.get_record("people", "r1")
    assert len(calls) == 4
    assert caught.value.retryable


async def test_upsert_is_idempotent_and_retried_after_timeout() -> None:
    clock = VirtualClock()
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ReadTimeout("timed out", request=request)
        return ok({"id": {"record_id": "r"}})

    async with mock_client(handler, clock=clock) as attio:
        await attio.assert_record(
            "people", matching_attribute="email_addresses", values={"email_addresses": ["a@b.co"]}
        )
    assert [c.method for c in calls] == ["PUT", "PUT"]
    assert calls[1].content == calls[0].content
