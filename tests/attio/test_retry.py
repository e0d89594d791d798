"""Retries, 429 handling and unknown outcomes: the client's HTTP edge cases,
each against respx routes on a virtual clock."""

from __future__ import annotations

import random
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
from tests.attio.helpers import attio_error, mock_client, ok, router

pytestmark = pytest.mark.anyio


def rate_limited(date: float, retry_after: float) -> httpx.Response:
    return attio_error(
        429,
        "rate_limit_exceeded",
        "slow down",
        Date=formatdate(date, usegmt=True),
        **{"Retry-After": formatdate(date + retry_after, usegmt=True)},
    )


async def test_429_waits_retry_after_minus_date_then_succeeds() -> None:
    clock = VirtualClock()
    routes = router()
    sent: list[float] = []
    # Attio's clock is an hour ahead of ours: only the difference counts.
    answers = iter([rate_limited(clock.time() + 3600, 3), ok([])])

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(clock.monotonic())
        return next(answers)

    objects = routes.get("/objects").mock(side_effect=answer)
    async with mock_client(routes, clock=clock) as attio:
        assert await attio.list_objects() == []
    assert objects.call_count == 2
    assert sent[1] - sent[0] == pytest.approx(3.0, abs=0.01)


async def test_429_pushes_back_the_whole_budget() -> None:
    clock = VirtualClock()
    routes = router()
    sent: list[tuple[str, float]] = []
    answers = iter([rate_limited(clock.time(), 2), ok([])])

    def objects(request: httpx.Request) -> httpx.Response:
        sent.append(("objects", clock.monotonic()))
        return next(answers)

    def lists(request: httpx.Request) -> httpx.Response:
        sent.append(("lists", clock.monotonic()))
        return ok([])

    routes.get("/objects").mock(side_effect=objects)
    routes.get("/lists").mock(side_effect=lists)
    async with mock_client(routes, clock=clock) as attio:
        await attio.list_objects()
        await attio.list_lists()  # a different request, same budget: waits too
    assert [name for name, _ in sent] == ["objects", "objects", "lists"]
    assert all(at >= 2.0 for _, at in sent[1:])


async def test_429_past_the_retry_policy_is_an_attio_error() -> None:
    routes = router()
    objects = routes.get("/objects").mock(
        return_value=attio_error(429, "rate_limit_exceeded", "slow down", **{"Retry-After": "1"})
    )
    async with mock_client(routes, clock=VirtualClock(), retry=RetryPolicy(attempts=3)) as attio:
        with pytest.raises(AttioRateLimited) as caught:
            await attio.list_objects()
    assert objects.call_count == 3
    assert caught.value.status_code == 429
    assert caught.value.retryable


async def test_5xx_then_success_backs_off_exponentially() -> None:
    clock = VirtualClock()
    routes = router()
    routes.get("/objects").mock(
        side_effect=[
            attio_error(503, "unavailable", "down"),
            attio_error(502, "unavailable", "down"),
            attio_error(500, "unavailable", "down"),
            ok([]),
        ]
    )
    policy = RetryPolicy(attempts=5, backoff_initial=1.0, multiplier=2.0, jitter=0.0)
    async with mock_client(routes, clock=clock, retry=policy) as attio:
        assert await attio.list_objects() == []
    backoffs = [s for s in clock.sleeps if s >= 0.5]
    assert backoffs == [1.0, 2.0, 4.0]


def test_jitter_shortens_backoff_within_bounds() -> None:
    policy = RetryPolicy(backoff_initial=1.0, multiplier=2.0, jitter=0.5, backoff_max=5.0)
    rng = random.Random(1)
    waits = [policy.backoff(n, rng) for n in range(6)]
    for n, wait in enumerate(waits):
        base = min(5.0, 2.0**n)
        assert base / 2 <= wait <= base
    assert len(set(waits)) == len(waits)


async def test_5xx_past_the_policy_carries_attio_fields() -> None:
    routes = router()
    routes.get("/objects/people/records/r1").mock(
        return_value=attio_error(503, "service_unavailable", "maintenance")
    )
    async with mock_client(routes, clock=VirtualClock(), retry=RetryPolicy(attempts=2)) as attio:
        with pytest.raises(AttioServerError) as caught:
            await attio.get_record("people", "r1")
    error = caught.value
    assert (error.status_code, error.code, error.message) == (
        503,
        "service_unavailable",
        "maintenance",
    )


async def test_read_timeout_on_a_create_is_not_repeated() -> None:
    routes = router()
    notes = routes.post("/notes").mock(side_effect=httpx.ReadTimeout("timed out"))
    async with mock_client(routes, clock=VirtualClock()) as attio:
        with pytest.raises(AttioOutcomeUnknown):
            await attio.create_note(
                parent_object="people", parent_record_id="r", title="t", content="c"
            )
    assert notes.call_count == 1


async def test_500_to_a_create_is_not_repeated() -> None:
    routes = router()
    tasks = routes.post("/tasks").mock(return_value=attio_error(500, "internal", "boom"))
    async with mock_client(routes, clock=VirtualClock()) as attio:
        with pytest.raises(AttioServerError):
            await attio.create_task(content="call back")
    assert tasks.call_count == 1


async def test_connect_error_on_a_create_is_retried() -> None:
    routes = router()
    refused = httpx.ConnectError("refused")
    tasks = routes.post("/tasks").mock(side_effect=[refused, refused, ok({"id": {"task_id": "t"}})])
    async with mock_client(routes, clock=VirtualClock()) as attio:
        task = await attio.create_task(content="call back")
    assert task == {"id": {"task_id": "t"}}
    assert tasks.call_count == 3


async def test_timeouts_on_reads_are_retried_then_reported() -> None:
    routes = router()
    record = routes.get("/objects/people/records/r1").mock(
        side_effect=httpx.ReadTimeout("timed out")
    )
    async with mock_client(routes, clock=VirtualClock(), retry=RetryPolicy(attempts=4)) as attio:
        with pytest.raises(AttioTransportError, match="after 4 attempts") as caught:
            await attio.get_record("people", "r1")
    assert record.call_count == 4
    assert caught.value.retryable


async def test_upsert_is_idempotent_and_retried_after_timeout() -> None:
    routes = router()
    assert_route = routes.put("/objects/people/records").mock(
        side_effect=[httpx.ReadTimeout("timed out"), ok({"id": {"record_id": "r"}})]
    )
    async with mock_client(routes, clock=VirtualClock()) as attio:
        await attio.assert_record(
            "people", matching_attribute="email_addresses", values={"email_addresses": ["a@b.co"]}
        )
    calls = [call.request for call in assert_route.calls]
    assert [c.method for c in calls] == ["PUT", "PUT"]
    assert calls[1].content == calls[0].content
    assert calls[0].url.params["matching_attribute"] == "email_addresses"
