"""pytest fixtures for testing against the fake Attio (registered via ``pytest11``).

- ``fake_attio``: a fresh :class:`FakeAttio` workspace for each test.
- ``attio_client``: an :class:`AttioClient` bound to it in-process, pacing
  turned off (the fake enforces no limits unless told to).

Async tests need an async runner; anyio's pytest plugin works as is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.ratelimit import RateLimits
from attio_automate.testing.fake import FakeAttio

FAKE_API_KEY = "fake-attio-key"


@pytest.fixture
def fake_attio() -> Iterator[FakeAttio]:
    """A fresh fake workspace with the standard objects and the ``sales`` list.

    Every answer it gives is checked against Attio's description; one that
    does not fit fails the test (the fake, not the test's code, is wrong)."""
    fake = FakeAttio(api_key=FAKE_API_KEY, check_answers=True)
    yield fake
    assert not fake.violations, "the fake answered what Attio would not:\n" + "\n".join(
        fake.violations[:3]
    )


@pytest.fixture
async def attio_client(fake_attio: FakeAttio) -> AsyncIterator[AttioClient]:
    """A client talking to ``fake_attio`` in-process, with generous limits."""
    settings = ClientSettings(
        base_url="http://fake-attio/v2",
        rate_limits=RateLimits(reads_per_second=100_000, writes_per_second=100_000, fraction=1),
    )
    async with AttioClient(
        api_key=FAKE_API_KEY, settings=settings, transport=fake_attio.transport()
    ) as client:
        yield client
