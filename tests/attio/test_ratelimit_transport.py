"""The rate-limit transport counts a send from when its last byte was
written, against a real server on loopback that is slow to take the body."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from attio_automate.attio.budget import GcraBudget, Sent
from attio_automate.attio.ratelimit import Budgets, RateLimitTransport
from attio_automate.clock import SystemClock

pytestmark = pytest.mark.anyio

#: Larger than what loopback's socket buffers hold, so the write must wait
#: for the server to read.
BODY = 32 * 1024 * 1024
#: How long the server leaves the body unread.
HOLD = 0.3


class Keeping(GcraBudget):
    """A budget that keeps the sends it hands out."""

    def __init__(self) -> None:
        super().__init__(1000, clock=SystemClock(), window_limit=100)
        self.sends: list[Sent] = []

    async def acquire(self) -> Sent | None:
        sent = await super().acquire()
        assert sent is not None
        self.sends.append(sent)
        return sent


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_send_counts_from_its_last_byte_not_its_first() -> None:
    reading: list[float] = []

    async def slow_reader(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await asyncio.sleep(HOLD)
        reading.append(time.monotonic())
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(slow_reader, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    writes = Keeping()
    transport = RateLimitTransport(
        httpx.AsyncHTTPTransport(),
        budgets=Budgets(reads=Keeping(), writes=writes),
        clock=SystemClock(),
        max_in_flight=1,
    )
    try:
        async with httpx.AsyncClient(transport=transport, timeout=30) as http:
            started = time.monotonic()
            answer = await http.post(f"http://127.0.0.1:{port}/v2/notes", content=b"x" * BODY)
    finally:
        server.close()
        await server.wait_closed()
    assert answer.status_code == 200
    (sent,) = writes.sends
    # The whole body could not be written before the server began to read it.
    assert sent.at >= reading[0] > started + HOLD / 2
