"""Periodic jobs, each run once across every runner sharing the store.

A job is taken in the store for a lease (the holder's crash gives it back
when the lease runs out), run, and given back with when it is next due:
``every`` seconds after this run ended, so a job missed while every runner
was down runs once at start-up, never once per missed period.  The retention
sweep is one today; waits, scheduled rules and the sync reconcile are next.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio

from attio_automate.clock import Clock
from attio_automate.store.base import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """``run`` every ``every`` seconds, or at the times ``next_due`` gives
    (a cron schedule); ``run`` gets the time it was due (a run's identity)
    and returns a word on how it went."""

    name: str
    run: Callable[[float], Awaitable[str]]
    every: float = 3600.0
    #: When the job is next due after a moment (epoch seconds); None: ``every``.
    next_due: Callable[[float], float] | None = None
    #: How long a runner may hold the job before others take it as dead.
    lease: float = 600.0
    #: Seconds after first being seen that the job is first due (with ``every``).
    first_after: float = 0.0
    #: Run once when found overdue past its next due time (a run missed while
    #: every runner was down); False skips such a run and waits for the next.
    catch_up: bool = True

    def due_after(self, moment: float) -> float:
        """When the job is next due after ``moment``."""
        if self.next_due is not None:
            return self.next_due(moment)
        return moment + self.every


class Scheduler:
    """Runs the due ``jobs`` on this runner when the store gives them to it."""

    def __init__(
        self,
        store: Store,
        jobs: Sequence[Job] | Callable[[], Sequence[Job]],
        *,
        owner: str,
        clock: Clock,
        poll_seconds: float = 5.0,
    ) -> None:
        self.store = store
        #: The jobs, or how to get them now (rules with schedules reload).
        self._jobs = jobs
        self.owner = owner
        self.clock = clock
        self.poll_seconds = poll_seconds

    async def run_due(self) -> list[str]:
        """Take and run every job that is due now; the names of those run here."""
        ran = []
        jobs = self._jobs() if callable(self._jobs) else self._jobs
        for job in jobs:
            now = self.clock.time()
            first = job.next_due(now) if job.next_due is not None else now + job.first_after
            try:
                due = await self.store.claim_job(
                    job.name, owner=self.owner, now=now, lease=job.lease, first_at=first
                )
            except Exception:
                log.exception("could not ask the store for job %s; trying again", job.name)
                continue
            if due is None:
                continue
            if not job.catch_up and job.due_after(due) <= now:
                # Missed (a later time has come too): skip it, as asked.
                outcome = "missed, not caught up"
            else:
                ran.append(job.name)
                outcome = await self._run(job, due)
            try:
                await self.store.finish_job(
                    job.name,
                    owner=self.owner,
                    next_at=job.due_after(self.clock.time()),
                    outcome=outcome,
                    now=self.clock.time(),
                )
            except Exception:
                # Its lease runs out and another runner (or this one) runs it again.
                log.exception("could not give job %s back", job.name)
        return ran

    async def run(self) -> None:
        """Run due jobs until cancelled, looking every ``poll_seconds`` (real
        seconds: a virtual clock is read, not slept on, so tests move it and
        call :meth:`run_due` themselves)."""
        while True:
            await self.run_due()
            await anyio.sleep(self.poll_seconds)

    async def _run(self, job: Job, due: float) -> str:
        try:
            with anyio.fail_after(job.lease):
                return await job.run(due)
        except TimeoutError:
            log.error("job %s ran past its %gs lease; stopped", job.name, job.lease)
            return "timed out"
        except Exception as exc:
            log.exception("job %s failed", job.name)
            return f"failed: {type(exc).__name__}: {exc}"[:500]
