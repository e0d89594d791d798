"""The dispatcher: claims events from the inbox and runs them, in per-key order.

Events of one ordering key (record, entry, note) never run at the same time
and run in arrival order; different keys run concurrently up to
``concurrency``.  Claims are leases: a runner that dies gives its events back
when the lease ends; a live runner renews the leases of what it is working on.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from anyio.abc import TaskStatus

from attio_automate.attio.breaker import BreakerState, CircuitBreaker
from attio_automate.events import AttioEvent
from attio_automate.metrics import Metrics
from attio_automate.processing.ledger import StoreLedger
from attio_automate.processing.processor import EventProcessor
from attio_automate.processing.results import EventResult
from attio_automate.store.base import Heartbeat, Store, StoredEvent

log = logging.getLogger("attio_automate.dispatcher")


def _host_identity() -> str:
    """This host, as far as its processes can be seen: the hostname and the
    PID namespace (two containers may share a hostname, never a namespace)."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()}/{namespace}"


HOST = _host_identity()


def _dead(beat: Heartbeat, now: float, policy: DispatchPolicy) -> bool:
    if beat.host == HOST:
        try:
            os.kill(beat.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, another user's
        return False
    return now - beat.at > policy.dead_after_seconds


@dataclass(frozen=True, kw_only=True)
class DispatchPolicy:
    """How many events at once, how long a lease lasts, how patiently to retry."""

    concurrency: int = 8
    lease_seconds: float = 30.0
    poll_seconds: float = 0.5
    max_attempts: int = 10
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    #: How often a dispatcher says it is alive, and looks for ones that died.
    heartbeat_seconds: float = 1.0
    #: A dispatcher on another host silent this long is taken for dead (no
    #: sooner than its leases would run out by default).
    dead_after_seconds: float = 30.0

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt ``attempts + 1``."""
        return float(min(self.backoff_max, self.backoff_initial * 2 ** max(attempts - 1, 0)))


class Dispatcher:
    """Runs inbox events through ``processor`` until stopped."""

    def __init__(
        self,
        store: Store,
        processor: EventProcessor,
        *,
        policy: DispatchPolicy,
        metrics: Metrics,
        breaker: CircuitBreaker | None = None,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.processor = processor
        self.policy = policy
        self.metrics = metrics
        self.breaker = breaker
        self.owner = owner or f"runner-{uuid.uuid4().hex[:12]}"
        self._clock = clock
        self._wake = anyio.Event()
        self._stopping = False
        self._in_flight: dict[int, StoredEvent] = {}
        self._idle = anyio.Event()
        self._idle.set()
        self._workers: anyio.CancelScope | None = None

    def wake(self) -> None:
        """New events were committed: look now rather than at the next poll."""
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Claim and process events until :meth:`stop`; then give back the leases."""
        async with anyio.create_task_group() as workers:
            self._workers = workers.cancel_scope
            # Before the first claim: what a dead predecessor held comes back now.
            await self._beat()
            workers.start_soon(self._renew_leases)
            workers.start_soon(self._heartbeats)
            task_status.started()
            while not self._stopping:
                claimed = await self._claim_some()
                for event in claimed:
                    self._in_flight[event.id] = event
                    self._idle = anyio.Event()
                    self.metrics.in_flight.set(len(self._in_flight))
                    workers.start_soon(self._handle, event)
                if not claimed or len(self._in_flight) >= self.policy.concurrency:
                    await self._sleep()
            # Stopping: what is in flight finishes (stop() cuts it short at
            # its deadline); then the lease renewer goes too.
            await self._idle.wait()
            workers.cancel_scope.cancel()

    async def run_ready(self) -> int:
        """Claim what is ready now and run it to the end; return how many ran.

        What :meth:`run` does on each turn, without its waiting: tests drive
        the dispatcher with it on a virtual clock, one turn at a time.
        """
        claimed = await self._claim_some()
        async with anyio.create_task_group() as tasks:
            for event in claimed:
                self._in_flight[event.id] = event
                self._idle = anyio.Event()
                tasks.start_soon(self._handle, event)
        return len(claimed)

    async def stop(self, *, deadline: float) -> None:
        """Stop claiming; let in-flight events finish for up to ``deadline``
        seconds; give back the leases of the rest."""
        self._stopping = True
        self._wake.set()
        with anyio.move_on_after(deadline):
            await self._idle.wait()
        if not self._idle.is_set() and self._workers is not None:
            # Past the deadline: the rest are given back, to run again later.
            self._workers.cancel()
        with anyio.CancelScope(shield=True):
            released = await self.store.release(self.owner)
            try:
                await self.store.forget(self.owner)
            except Exception:
                log.exception("could not remove this runner's heartbeat")
        if released:
            log.warning("gave back %d unfinished events at shutdown", released)

    async def _claim_some(self) -> list[StoredEvent]:
        free = self.policy.concurrency - len(self._in_flight)
        if free <= 0 or self._breaker_open():
            return []
        try:
            return await self.store.claim(
                self.owner, limit=free, lease=self.policy.lease_seconds, now=self._clock()
            )
        except Exception:
            log.exception("claiming events failed; trying again")
            return []

    def _breaker_open(self) -> bool:
        return self.breaker is not None and self.breaker.state is BreakerState.OPEN

    async def _sleep(self) -> None:
        with anyio.move_on_after(self.policy.poll_seconds):
            await self._wake.wait()
        self._wake = anyio.Event()

    async def _renew_leases(self) -> None:
        while True:
            await anyio.sleep(self.policy.lease_seconds / 3)
            if self._in_flight:
                try:
                    await self.store.renew(
                        self.owner,
                        list(self._in_flight),
                        lease=self.policy.lease_seconds,
                        now=self._clock(),
                    )
                except Exception:
                    log.exception("renewing leases failed")

    async def _heartbeats(self) -> None:
        while True:
            await anyio.sleep(self.policy.heartbeat_seconds)
            await self._beat()

    async def _beat(self) -> None:
        """Say this dispatcher is alive; give back the work of dead ones.

        Dead: on this host, a process that no longer exists (a restart after
        kill -9 resumes at once); elsewhere, silent for ``dead_after_seconds``.
        Without this, their events would wait for their leases to run out.
        """
        now = self._clock()
        try:
            await self.store.beat(self.owner, host=HOST, pid=os.getpid(), now=now)
            for beat in await self.store.heartbeats():
                if beat.owner == self.owner or not _dead(beat, now, self.policy):
                    continue
                released = await self.store.release(beat.owner)
                await self.store.forget(beat.owner)
                if released:
                    log.warning(
                        "runner %s (pid %d on %s) is gone: took back %d events",
                        beat.owner,
                        beat.pid,
                        beat.host,
                        released,
                    )
                    self.wake()
        except Exception:
            log.exception("heartbeat failed; leases still bound what a dead runner holds")

    async def run_one(self, event: StoredEvent) -> EventResult:
        """Process one leased event and record how it ended (replays, retries)."""
        attio_event = AttioEvent.from_json(event.payload)
        ledger = StoreLedger(self.store, event.id, self._clock)
        result = await self.processor.process(
            attio_event,
            key=event.key,
            received_at=event.received_at,
            ledger=ledger,
            force=event.force,
        )
        await self._settle(event, result)
        return result

    async def _handle(self, event: StoredEvent) -> None:
        try:
            await self.run_one(event)
        except Exception:
            # A bug or a store failure: the lease runs out and the event comes back.
            log.exception("event %s failed unexpectedly", event.id)
        finally:
            self._in_flight.pop(event.id, None)
            self.metrics.in_flight.set(len(self._in_flight))
            if not self._in_flight:
                self._idle.set()
            self._wake.set()

    async def _settle(self, event: StoredEvent, result: EventResult) -> None:
        now = self._clock()
        trace = result.trace()
        trace["attempt"] = event.attempts + 1
        for outcome in result.outcomes:
            self.metrics.actions.labels(action=outcome.planned.action, outcome=outcome.status).inc()
        if result.status in ("done", "skipped"):
            await self.store.finish(
                event.id,
                self.owner,
                status=result.status,
                trace=trace,
                reason=result.reason or None,
                now=now,
            )
            self.metrics.events.labels(outcome=result.status).inc()
            self.metrics.latency.observe(max(now - event.received_at, 0.0))
            return
        if result.status == "retry":
            unavailable = result.outage
            attempts = event.attempts + (0 if unavailable else 1)
            if attempts < self.policy.max_attempts:
                # An open breaker is an outage, not this event's fault: no attempt burnt.
                wait = (
                    self.breaker.policy.cool_down
                    if unavailable and self.breaker
                    else self.policy.backoff(attempts)
                )
                await self.store.retry_later(
                    event.id,
                    self.owner,
                    available_at=now + wait,
                    trace=trace,
                    reason=result.reason,
                    now=now,
                    count_attempt=not unavailable,
                )
                self.metrics.events.labels(outcome="retry").inc()
                return
            reason = f"gave up after {attempts} attempts: {result.reason}"
        else:
            reason = result.reason
        await self.store.finish(
            event.id, self.owner, status="dead", trace=trace, reason=reason, now=now
        )
        self.metrics.events.labels(outcome="dead").inc()
        self.metrics.dead_letters.inc()
