"""Shared helpers for client tests: a client over a mock transport on a virtual clock."""

from __future__ import annotations

import random
from collections.abc import Callable

import httpx

from attio_automate.attio.breaker import BreakerPolicy
from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.ratelimit import RateLimits
from attio_automate.attio.retry import RetryPolicy
from attio_automate.clock import VirtualClock

Handler = Callable[[httpx.Request], httpx.Response]


def mock_client(
    handler: Handler,
    *,
    clock: VirtualClock,
    retry: RetryPolicy | None = None,
    breaker: BreakerPolicy | None = None,
    limits: RateLimits | None = None,
) -> AttioClient:
    settings = ClientSettings(
        base_url="https://api.attio.test/v2",
        retry=retry or RetryPolicy(),
        breaker=breaker or BreakerPolicy(failure_threshold=100),
        rate_limits=limits or RateLimits(reads_per_second=1000, writes_per_second=1000),
    )
    return AttioClient(
        api_key="key",
        settings=settings,
        transport=httpx.MockTransport(handler),
        clock=clock,
        rng=random.Random(7),
    )


def attio_error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    kind = "invalid_request_error" if status < 500 else "api_error"
    body = {"status_code": status, "type": kind, "code": code, "message": message}
    return httpx.Response(status, json=body, headers=headers)


def ok(data: object) -> httpx.Response:
    return httpx.Response(200, json={"data": data})
