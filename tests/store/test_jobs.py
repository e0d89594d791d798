"""Periodic jobs run once across runners: two schedulers on one store (two
connections, as two runners), a virtual clock, and crashes mid-job."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from attio_automate.clock import VirtualClock
from attio_automate.processing.scheduler import Job, Scheduler
from attio_automate.store.base import Store

pytestmark = pytest.mark.anyio


async def two_runners(make_store: Callable[[], Store]) -> tuple[Store, Store]:
    first, second = make_store(), make_store()
    await first.open()
    await second.open()
    return first, second


async def test_a_due_job_runs_once_across_runners_each_period(
    make_store: Callable[[], Store],
) -> None:
    first, second = await two_runners(make_store)
    clock = VirtualClock()
    runs: list[str] = []

    def job(runner: str) -> Job:
        async def sweep(due: float) -> str:
            runs.append(runner)
            return "ok"

        return Job("retention", every=3600, run=sweep)

    a = Scheduler(first, [job("a")], owner="a", clock=clock)
    b = Scheduler(second, [job("b")], owner="b", clock=clock)
    for _ in range(3):  # three periods, both runners racing each time
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(a.run_due)
            tasks.start_soon(b.run_due)
        assert await a.run_due() == []  # not due again within the period
        clock.advance(3600)
    assert len(runs) == 3
    (state,) = await first.jobs()
    assert (state.name, state.owner, state.last_outcome) == ("retention", None, "ok")


async def test_a_runner_that_dies_holding_a_job_gives_it_up_when_its_lease_ends(
    make_store: Callable[[], Store],
) -> None:
    first, second = await two_runners(make_store)
    clock = VirtualClock()
    now = clock.time()
    # Runner a took the job and died (kill -9): no finish.
    assert await first.claim_job("retention", owner="a", now=now, lease=600, first_at=now) == now
    runs: list[str] = []

    async def sweep(due: float) -> str:
        runs.append("b")
        return "ok"

    b = Scheduler(
        second, [Job("retention", every=3600, run=sweep, lease=600)], owner="b", clock=clock
    )
    assert await b.run_due() == []  # a's lease still holds
    clock.advance(601)
    assert await b.run_due() == ["retention"]
    # a comes back late and finishes: it no longer holds the job, nothing changes.
    await first.finish_job("retention", owner="a", next_at=now, outcome="late", now=clock.time())
    (state,) = await second.jobs()
    assert state.last_outcome == "ok"
    assert state.next_at == pytest.approx(clock.time() + 3600)


async def test_a_failing_job_is_recorded_and_runs_again_next_period(
    make_store: Callable[[], Store],
) -> None:
    (store, _) = await two_runners(make_store)
    clock = VirtualClock()
    calls = 0

    async def flaky(due: float) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        return "ok"

    scheduler = Scheduler(store, [Job("retention", every=60, run=flaky)], owner="a", clock=clock)
    assert await scheduler.run_due() == ["retention"]
    (state,) = await store.jobs()
    assert state.last_outcome == "failed: OSError: disk full"
    clock.advance(61)
    assert await scheduler.run_due() == ["retention"]
    assert (await store.jobs())[0].last_outcome == "ok"


async def test_a_job_missed_while_every_runner_was_down_runs_once(
    make_store: Callable[[], Store],
) -> None:
    (store, _) = await two_runners(make_store)
    clock = VirtualClock()
    runs = 0

    async def sweep(due: float) -> str:
        nonlocal runs
        runs += 1
        return "ok"

    scheduler = Scheduler(store, [Job("retention", every=3600, run=sweep)], owner="a", clock=clock)
    await scheduler.run_due()
    clock.advance(10 * 3600)  # ten periods with nobody up
    await scheduler.run_due()
    await scheduler.run_due()
    assert runs == 2
