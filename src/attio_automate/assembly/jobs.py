"""What the runner keeps besides events: rules' waits in the store, its
periodic jobs (retention, scheduled rules, the sync reconcile) and the sync
database it opens."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from attio_automate.assembly.plugins import Plugins
from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.clock import Clock
from attio_automate.errors import AttioError, ConfigError, SyncDatabaseError
from attio_automate.processing.dispatcher import Dispatcher
from attio_automate.processing.scheduler import Job
from attio_automate.rules.model import Rule
from attio_automate.rules.runs import queue_run
from attio_automate.rules.schedules import next_run
from attio_automate.settings import Settings
from attio_automate.store import Store
from attio_automate.store.base import NewEvent
from attio_automate.sync.database import SyncDatabase
from attio_automate.sync.reconcile import Counts, Reconciler


class RunnerParts(Protocol):
    """What the jobs need of the runner (:class:`~attio_automate.assembly.runner.Runner`)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def attio(self) -> AttioClient: ...
    @property
    def schema(self) -> SchemaCache: ...
    @property
    def plugins(self) -> Plugins: ...
    @property
    def dispatcher(self) -> Dispatcher: ...
    @property
    def clock(self) -> Clock: ...


log = logging.getLogger("attio_automate.runner")


class StoreWaits:
    """Rules' waits kept as events in the store's inbox, claimable when due
    (so they survive restarts and fire once across runners, like any event),
    each on a key of its own (it holds up nothing else of the record)."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def keep(
        self, key: str, due: float, payload: Mapping[str, Any], *, group: str, policy: str
    ) -> bool:
        wait = NewEvent(
            key=key,
            ordering_key=key,
            event_type="wait",
            payload=payload,
            webhook_id=None,
            # Resumed, its now() is the moment it fell due.
            received_at=due,
            available_at=due,
        )
        return await self.store.insert_wait(wait, group=group, policy=policy, now=self.clock.time())

    async def cancel(self, group: str, *, reason: str) -> int:
        return await self.store.cancel_waits(group, now=self.clock.time(), reason=reason)


def periodic_jobs(runner: RunnerParts) -> list[Job]:
    """The runner's own periodic jobs, each once across runners."""
    retention = runner.settings.store.retention_days * 86400

    async def sweep(due: float) -> str:
        removed = await runner.store.sweep(finished_before=runner.clock.time() - retention)
        if removed:
            log.info("retention: removed %d finished events", removed)
        return f"removed {removed}"

    return [Job("retention", run=sweep, every=3600.0, lease=600.0)]


async def open_sync(
    plugins: Plugins, settings: Settings, schema: SchemaCache, clock: Clock
) -> SyncDatabase | None:
    """The sync database, open, its tables made, the sync plugin attached
    (None without ``sync:``)."""
    spec = settings.sync.spec()
    if plugins.sync is None or spec is None:
        return None
    database = SyncDatabase(spec, clock=clock)
    try:
        await _open_tables(database, schema)
    except SyncDatabaseError as exc:
        await database.close()
        # At start-up a database that cannot be reached is the operator's to fix.
        raise ConfigError([f"sync.database: {exc}"]) from None
    except BaseException:
        await database.close()
        raise
    plugins.sync.attach(database, clock)
    return database


async def _open_tables(database: SyncDatabase, schema: SchemaCache) -> None:
    """Make and migrate the tables from Attio's attributes; with Attio away,
    use the tables made before as they are (columns the configuration added
    since wait for the next start); never made, nothing can."""
    try:
        await database.open(schema)
    except AttioError as exc:
        try:
            await database.open_existing()
        except SyncDatabaseError:
            raise ConfigError(
                [
                    "sync: the mirror tables are made from Attio's attributes, and Attio "
                    f"did not answer ({exc}): start again when it does"
                ]
            ) from None
        log.warning("sync: Attio did not answer (%s); mirror tables used as they are", exc)


def sync_jobs(runner: RunnerParts) -> list[Job]:
    """The sync reconcile, every ``sync.reconcile_every``, once across runners."""
    sync = runner.plugins.sync
    every = runner.settings.sync.reconcile_every
    if sync is None or sync.database is None or every is None:
        return []
    database = sync.database

    async def reconcile(due: float) -> str:
        reconciler = Reconciler(
            database,
            attio=runner.attio,
            schema=runner.schema,
            store=runner.store,
            clock=runner.clock,
        )
        total = Counts()
        for counts in (await reconciler.run()).values():
            total.add(counts)
        runner.dispatcher.wake()
        return (
            f"{total.checked} checked, {total.created} created, {total.updated} updated, "
            f"{total.deleted} deleted"
        )

    return [Job("sync:reconcile", run=reconcile, every=every, lease=max(600.0, every))]


def scheduled_rule_jobs(runner: RunnerParts) -> list[Job]:
    """A job for each enabled scheduled rule of the rules as they are now."""
    jobs = []
    for rule in runner.plugins.rules.rules.rules:
        schedule = rule.schedule
        if schedule is None or not rule.enabled:
            continue

        async def run(due: float, rule: Rule = rule) -> str:
            found, new = await queue_run(
                rule, due, store=runner.store, attio=runner.attio, schema=runner.schema
            )
            if new:
                runner.dispatcher.wake()
            return f"{found} records, {new} queued"

        jobs.append(
            Job(
                f"rule:{rule.id}",
                run=run,
                next_due=functools.partial(next_run, schedule.cron, schedule.timezone),
                lease=3600.0,
                catch_up=schedule.catch_up,
            )
        )
    return jobs
