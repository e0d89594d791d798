"""The budget shared through the store: slots placed on each runner's clock,
late slots given up."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import anyio
import pytest

from attio_automate.clock import SystemClock
from attio_automate.store import Store
from attio_automate.store.budget import StoreBudget, StoreClock

pytestmark = pytest.mark.anyio


def test_store_clock_trusts_the_shortest_round_trip() -> None:
    clock = StoreClock()
    assert clock.lead == 0.0
    # The store is 100 s ahead; a slow answer says little about where.
    clock.observe(1100.05, asked=1000.0, answered=1000.3)
    clock.observe(1100.5, asked=1000.499, answered=1000.501)
    clock.observe(1100.6, asked=1000.599, answered=1000.601)
    assert clock.to_local(1200.0) == pytest.approx(1100.0, abs=0.001)
    # Ask as far ahead as answers typically take: one slow answer does not
    # push every slot back.
    assert clock.lead == pytest.approx(0.002)
    for _ in range(4):
        clock.observe(1102.0, asked=1000.0, answered=1003.0)
    assert clock.lead == 0.5  # slow throughout, within reason


class OversleepingClock(SystemClock):
    """The system clock, except that chosen sleeps wake late (a busy process)."""

    def __init__(self, late: dict[int, float]) -> None:
        self.late = late
        self.sleeps = 0

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        await super().sleep(seconds + self.late.get(self.sleeps, 0.0))


class ReadingClock(SystemClock):
    """The system clock, remembering its last monotonic reading."""

    last = 0.0

    def monotonic(self) -> float:
        self.last = super().monotonic()
        return self.last


async def test_runners_sharing_a_budget_send_an_interval_apart(
    make_store: Callable[[], Store],
) -> None:
    budgets = []
    clocks = []
    for _ in range(3):
        store = make_store()
        await store.open()
        clock = ReadingClock()
        clocks.append(clock)
        # Never send late here: the spacing is what is checked.
        budgets.append(StoreBudget(store, "w:writes", 20.0, clock=clock, max_give_ups=1000))
    sent: list[float] = []

    async def runner(budget: StoreBudget, clock: ReadingClock) -> None:
        for _ in range(8):
            await budget.acquire()
            # When acquire checked it was on time: what it vouches for.  (A
            # reading taken here instead would include however long a busy
            # machine kept this process off the CPU after that check.)
            sent.append(clock.last)

    async with anyio.create_task_group() as group:
        for budget, clock in zip(budgets, clocks, strict=True):
            group.start_soon(runner, budget, clock)
    sent.sort()
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    # 0.05 s apart, less at most the tolerance (0.01) and each runner's clock
    # estimate error (half its shortest round trip to the store).
    error = max(b.clock_error for b in budgets)
    assert min(gaps) > 0.05 - 0.01 - 2 * error - 0.001


async def test_a_runner_that_wakes_late_gives_its_slot_up(
    make_store: Callable[[], Store],
) -> None:
    store, other = make_store(), make_store()
    await store.open()
    await other.open()
    clock = OversleepingClock(late={1: 0.2})
    budget = StoreBudget(store, "w:writes", 20.0, clock=clock)
    await budget.acquire()
    sent = time.time()  # the store's clock is this host's clock here
    assert budget.given_up == 1
    assert clock.sleeps == 2
    # It sent in the slot it took second, on time: the next one anybody gets
    # is one interval after that.
    taken = (await other.reserve_slot("w:writes", interval=0.05)).at - 0.05
    assert sent == pytest.approx(taken, abs=0.01 + 0.005)


async def test_a_runner_too_busy_to_be_on_time_still_sends(
    make_store: Callable[[], Store],
) -> None:
    store = make_store()
    await store.open()
    clock = OversleepingClock(late={n: 0.1 for n in range(1, 10)})
    budget = StoreBudget(store, "w:writes", 50.0, clock=clock, max_give_ups=2)
    await budget.acquire()
    assert budget.given_up == 2
    assert clock.sleeps == 3
