from __future__ import annotations

import itertools

import anyio
import pytest

from attio_automate.attio.budget import GcraBudget
from attio_automate.clock import VirtualClock

pytestmark = pytest.mark.anyio


async def test_requests_are_paced_one_interval_apart() -> None:
    clock = VirtualClock()
    budget = GcraBudget(10, clock=clock)
    sent = []
    for _ in range(5):
        await budget.acquire()
        sent.append(clock.monotonic())
    gaps = [round(b - a, 9) for a, b in itertools.pairwise(sent)]
    assert gaps == [0.1] * 4


async def test_idle_time_is_not_saved_up_as_burst() -> None:
    clock = VirtualClock()
    budget = GcraBudget(10, clock=clock)
    await budget.acquire()
    clock.advance(5)  # idle for 5 s: no burst of 50 may follow
    start = clock.monotonic()
    await budget.acquire()
    await budget.acquire()
    assert clock.monotonic() - start == pytest.approx(0.1)


async def test_penalty_pushes_back_every_waiter() -> None:
    clock = VirtualClock()
    budget = GcraBudget(10, clock=clock)
    await budget.acquire()
    await budget.penalize(2.0)
    before = clock.monotonic()
    await budget.acquire()
    assert clock.monotonic() - before >= 2.0


async def test_waiter_reserved_before_a_penalty_waits_for_it() -> None:
    clock = VirtualClock()
    budget = GcraBudget(1, clock=clock)
    times: list[float] = []

    async def sender() -> None:
        await budget.acquire()
        times.append(clock.monotonic())

    await budget.acquire()  # t=0; next slot at t=1
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(sender)
        await anyio.lowlevel.checkpoint()
        await budget.penalize(5.0)  # a 429 arrives while the sender sleeps
    assert times
    assert times[0] >= 5.0


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        GcraBudget(0, clock=VirtualClock())


class LateClock(VirtualClock):
    """Every sleep overshoots by ``late`` seconds, like a busy event loop."""

    def __init__(self, late: float) -> None:
        super().__init__()
        self.late = late

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds + self.late)


async def test_late_sends_never_crowd_a_window() -> None:
    clock = LateClock(late=0.0)
    budget = GcraBudget(9.8, clock=clock, window_limit=10, window=1.01)
    sent = []
    for n in range(40):
        # every seventh send goes out 30 ms late, the rest on time
        clock.late = 0.03 if n % 7 == 0 else 0.0
        await budget.acquire()
        sent.append(clock.monotonic())
    for first, eleventh in zip(sent, sent[10:], strict=False):
        assert eleventh - first >= 1.01 - 1e-9
    # and the pace is barely slower than 9.8/s
    assert (len(sent) - 1) / (sent[-1] - sent[0]) > 9.5


async def test_steady_lateness_costs_no_pace() -> None:
    clock = LateClock(late=0.001)
    budget = GcraBudget(9.8, clock=clock, window_limit=10, window=1.01)
    sent = []
    for _ in range(50):
        await budget.acquire()
        sent.append(clock.monotonic())
    assert (len(sent) - 1) / (sent[-1] - sent[0]) == pytest.approx(9.8, rel=0.01)


async def test_a_send_that_went_late_on_the_wire_holds_the_window_back() -> None:
    # The slot is given on time, but the request's last byte is written
    # 40 ms later (a busy loop, a new connection): the transport says so,
    # and the window counts from then.
    clock = LateClock(late=0.0)
    budget = GcraBudget(100, clock=clock, window_limit=10, window=1.01)
    wire = []
    for n in range(30):
        sent = await budget.acquire()
        assert sent is not None
        if n % 10 == 0:
            sent.at = clock.monotonic() + 0.04
        wire.append(sent.at)
    for first, eleventh in zip(wire, wire[10:], strict=False):
        assert eleventh - first >= 1.01 - 1e-9
