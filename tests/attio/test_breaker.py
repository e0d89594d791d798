from __future__ import annotations

import httpx
import pytest

from attio_automate.attio.breaker import BreakerPolicy, BreakerState
from attio_automate.attio.retry import RetryPolicy
from attio_automate.clock import VirtualClock
from attio_automate.errors import AttioAPIError, AttioServerError, AttioUnavailable
from tests.attio.helpers import attio_error, mock_client, ok

pytestmark = pytest.mark.anyio


def state_of(attio: object) -> BreakerState:
    # read through a function so each check sees the live state
    return attio.breaker.state  # type: ignore[attr-defined, no-any-return]


async def test_breaker_opens_stops_calls_and_closes_after_a_good_trial() -> None:
    clock = VirtualClock()
    healthy = False
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return ok([]) if healthy else attio_error(503, "unavailable", "down")

    policy = BreakerPolicy(failure_threshold=3, cool_down=10.0)
    async with mock_client(
        handler, clock=clock, breaker=policy, retry=RetryPolicy(attempts=1)
    ) as attio:
        for _ in range(3):
            with pytest.raises(AttioServerError):
                await attio.list_objects()
        assert state_of(attio) is BreakerState.OPEN
        with pytest.raises(AttioUnavailable) as caught:
            await attio.list_objects()
        assert calls == 3  # Attio was not called while open
        assert 0 < caught.value.retry_after <= 10.0
        assert caught.value.retryable

        clock.advance(10.0)
        assert state_of(attio) is BreakerState.HALF_OPEN
        healthy = True
        assert await attio.list_objects() == []
        assert state_of(attio) is BreakerState.CLOSED
        assert calls == 4


async def test_failed_trial_reopens_the_breaker() -> None:
    clock = VirtualClock()

    def handler(request: httpx.Request) -> httpx.Response:
        return attio_error(500, "internal", "down")

    policy = BreakerPolicy(failure_threshold=2, cool_down=5.0)
    async with mock_client(
        handler, clock=clock, breaker=policy, retry=RetryPolicy(attempts=1)
    ) as attio:
        for _ in range(2):
            with pytest.raises(AttioServerError):
                await attio.get_record("people", "r")
        clock.advance(5.0)
        with pytest.raises(AttioServerError):
            await attio.get_record("people", "r")  # the trial fails
        assert state_of(attio) is BreakerState.OPEN
        with pytest.raises(AttioUnavailable):
            await attio.get_record("people", "r")


async def test_rate_limits_do_not_open_the_breaker() -> None:
    clock = VirtualClock()

    def handler(request: httpx.Request) -> httpx.Response:
        return attio_error(429, "rate_limit_exceeded", "slow", **{"Retry-After": "1"})

    policy = BreakerPolicy(failure_threshold=1)
    async with mock_client(
        handler, clock=clock, breaker=policy, retry=RetryPolicy(attempts=3)
    ) as attio:
        with pytest.raises(AttioAPIError):
            await attio.list_objects()
        assert state_of(attio) is BreakerState.CLOSED


async def test_retries_stop_when_the_breaker_opens() -> None:
    clock = VirtualClock()
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    policy = BreakerPolicy(failure_threshold=2)
    async with mock_client(
        handler, clock=clock, breaker=policy, retry=RetryPolicy(attempts=10)
    ) as attio:
        with pytest.raises(AttioUnavailable):
            await attio.list_objects()
    assert calls == 2
