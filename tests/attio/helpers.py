"""Shared helpers for client tests: a client over a mock transport (a respx
router, or a plain handler) on a virtual clock."""

from __future__ import annotations

import random
from collections.abc import Callable

import httpx
import respx

from attio_automate.attio.breaker import BreakerPolicy
from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.ratelimit import RateLimits
from attio_automate.attio.retry import RetryPolicy
from attio_automate.clock import VirtualClock

Handler = Callable[[httpx.Request], httpx.Response]


BASE = "https://api.attio.test/v2"


def router() -> respx.MockRouter:
    """Routes under the mock client's base URL; anything unrouted fails the test."""
    return respx.MockRouter(base_url=BASE, assert_all_called=False)


def mock_client(
    handler: Handler | respx.MockRouter,
    *,
    clock: VirtualClock,
    retry: RetryPolicy | None = None,
    breaker: BreakerPolicy | None = None,
    limits: RateLimits | None = None,
) -> AttioClient:
    settings = ClientSettings(
        base_url=BASE,
        retry=retry or RetryPolicy(),
        breaker=breaker or BreakerPolicy(failure_threshold=100),
        rate_limits=limits or RateLimits(reads_per_second=1000, writes_per_second=1000),
    )
    return AttioClient(
        api_key="key",
        settings=settings,
        # A respx router answers route by route; a plain handler answers all.
        transport=httpx.MockTransport(
            handler.async_handler if isinstance(handler, respx.MockRouter) else handler
        ),
        clock=clock,
        rng=random.Random(7),
    )


def attio_error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    kind = "invalid_request_error" if status < 500 else "api_error"
    body = {"status_code": status, "type": kind, "code": code, "message": message}
    return httpx.Response(status, json=body, headers=headers)


def ok(data: object) -> httpx.Response:
    return httpx.Response(200, json={"data": data})
