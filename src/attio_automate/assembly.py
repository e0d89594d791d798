"""The one place the runner is assembled: plugins, rules, the event
processor, the store, the client and the dispatcher.

Everything else receives what it needs from here: ``serve`` and the HTTP
app run what :func:`running` yields, the operators' commands re-run events
with what :func:`assembled` yields, and the rule tools (dry runs, cases)
build a processor with :func:`load_plugins` and :func:`build_processor`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx

from attio_automate.actions import builtin
from attio_automate.actions.registry import ActionRegistry
from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.ratelimit import RateLimits
from attio_automate.attio.schema import SchemaCache
from attio_automate.bus.bus import HookBus
from attio_automate.bus.context import AppContext
from attio_automate.bus.manager import PluginLoadError, build_plugin_manager
from attio_automate.cache.records import RecordCache, RecordReader, open_cache
from attio_automate.clock import Clock, SystemClock
from attio_automate.errors import ConfigError
from attio_automate.metrics import Metrics
from attio_automate.processing.dispatcher import Dispatcher, DispatchPolicy
from attio_automate.processing.processor import EventProcessor
from attio_automate.processing.scheduler import Job, Scheduler
from attio_automate.rules.engine import RulesEngine
from attio_automate.rules.loader import load_rules_file
from attio_automate.rules.model import Rule, RuleSet
from attio_automate.rules.reload import RulesReloader
from attio_automate.rules.runs import queue_run
from attio_automate.rules.schedules import next_run
from attio_automate.settings import Settings
from attio_automate.store import Store, open_store_url
from attio_automate.store.base import RESYNC, NewEvent
from attio_automate.store.budget import shared_budgets
from attio_automate.sync.database import SyncDatabase
from attio_automate.sync.mirror import PLUGIN_NAME as SYNC_PLUGIN
from attio_automate.sync.mirror import SyncPlugin
from attio_automate.sync.outbox import OutboxFeeder
from attio_automate.sync.reconcile import Counts, Reconciler
from attio_automate.sync.spec import SyncSpec


@dataclass
class Plugins:
    """The plugin manager, its bus and the actions plugins registered."""

    bus: HookBus
    actions: ActionRegistry
    rules: RulesEngine
    #: The mirror and the outbox's pushes, when the configuration has ``sync:``.
    sync: SyncPlugin | None = None


def load_plugins(
    *,
    rules_path: str | Path | None = None,
    plugin_paths: Sequence[str | Path] = (),
    entry_points: bool = True,
    sync: SyncSpec | None = None,
) -> Plugins:
    """Load built-in and installed plugins (the sync plugin too, given a
    ``sync`` configuration), then the rules (checked against the actions they
    registered).  Raises :class:`ConfigError` for any problem."""
    engine = RulesEngine(RuleSet())
    mirror = SyncPlugin(sync) if sync is not None else None
    builtins: list[object] = [builtin, engine, *([mirror] if mirror else [])]
    try:
        manager = build_plugin_manager(
            builtins=builtins, paths=plugin_paths, entry_points=entry_points
        )
    except PluginLoadError as exc:
        raise ConfigError([str(exc)]) from exc
    bus = HookBus(manager)
    actions, failures = ActionRegistry.from_bus(bus)
    if failures:
        raise ConfigError(
            [f"plugin {f.plugin} failed to register its actions: {f.error}" for f in failures]
        )
    if rules_path is not None:
        engine.replace(load_rules_file(rules_path, registry=actions))
    return Plugins(bus, actions, engine, mirror)


def load_plugins_for(settings: Settings) -> Plugins:
    """The plugins and rules the settings name (the sync plugin with ``sync:``)."""
    return load_plugins(
        rules_path=settings.rules.path,
        plugin_paths=settings.plugins.paths,
        entry_points=settings.plugins.installed,
        sync=settings.sync.spec(),
    )


def build_processor(
    plugins: Plugins,
    *,
    attio: AttioClient,
    schema: SchemaCache | None = None,
    own_actor_ids: Collection[str] = (),
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    cache: RecordCache | None = None,
) -> EventProcessor:
    """An event processor over ``plugins`` talking to ``attio`` (plugin
    authors' tests use this too), reading records through ``cache`` if given."""
    return EventProcessor(
        bus=plugins.bus,
        actions=plugins.actions,
        attio=attio,
        schema=schema or SchemaCache(attio),
        own_actor_ids=own_actor_ids,
        settings=settings,
        records=RecordReader(attio, cache),
    )


log = logging.getLogger("attio_automate.runner")


@dataclass
class Runner:
    """What the HTTP handlers reach through the app's state."""

    settings: Settings
    store: Store
    attio: AttioClient
    schema: SchemaCache
    plugins: Plugins
    dispatcher: Dispatcher
    metrics: Metrics
    reloader: RulesReloader | None = None
    #: The record cache (None when turned off).
    cache: RecordCache | None = None
    #: The time every part of the runner reads.
    clock: Clock = field(default_factory=SystemClock)
    accepting: bool = False
    #: Attio reachability, checked at most every few seconds by /readyz.
    attio_checked: tuple[float, bool] = field(default=(0.0, False))


def api_key_digest(api_key: str) -> str:
    """What the store keeps to tell API keys apart, never the key itself."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def check_settings(settings: Settings) -> None:
    """Refuse to start without what the runner cannot work without."""
    problems = []
    if not settings.secrets.webhook_secrets:
        problems.append("ATTIO_WEBHOOK_SECRET is not set: every webhook would be refused")
    if not settings.secrets.api_key:
        problems.append("ATTIO_API_KEY is not set: the runner cannot call Attio")
    if problems:
        raise ConfigError(problems)


@contextlib.asynccontextmanager
async def assembled(
    settings: Settings,
    *,
    attio_transport: httpx.AsyncBaseTransport | None = None,
    plugins: Plugins | None = None,
    store: Store | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[Runner]:
    """The store, the client, the plugins and a dispatcher that is not running:
    what ``serve`` runs, and what the CLI re-runs events with.  ``clock`` is
    the one time every part reads (the system's by default; tests pass a
    :class:`~attio_automate.clock.VirtualClock`).  ``plugins``
    already loaded and a ``store`` already open are used as they are (and the
    store is left open for its owner); otherwise both come from ``settings``."""
    metrics = Metrics()
    clock = clock or SystemClock()
    if plugins is None:
        plugins = load_plugins_for(settings)
    owned = store is None
    if store is None:
        store = open_store_url(settings.store.url)
        await store.open()
    try:
        client_settings = ClientSettings(
            base_url=settings.attio.base_url,
            rate_limits=RateLimits(
                reads_per_second=settings.attio.reads_per_second,
                writes_per_second=settings.attio.writes_per_second,
                fraction=settings.attio.rate_limit_fraction,
            ),
        )
        shared = settings.attio.shared_budget
        if shared is None:
            shared = not settings.store.url.startswith("sqlite")
        budgets = (
            shared_budgets(
                store,
                client_settings.rate_limits,
                clock=SystemClock(),
                on_give_up=lambda kind: metrics.slots_given_up.labels(kind=kind).inc(),
            )
            if shared
            else None
        )
        async with AttioClient(
            api_key=settings.secrets.api_key,
            settings=client_settings,
            transport=attio_transport,
            budgets=budgets,
            on_response=metrics.observe_attio,
        ) as attio:
            schema = SchemaCache(attio, ttl=settings.attio.schema_ttl)
            # The loop guard knows the tokens earlier runs learnt were ours.
            key_digest = api_key_digest(settings.secrets.api_key)
            learnt = await store.own_tokens(key_digest)
            cache = open_cache(
                settings.cache.url,
                ttl=settings.cache_ttl(),
                max_entries=settings.cache.max_entries,
                prefix=f"attio-automate:{key_digest}",
                metrics=metrics,
            )
            processor = build_processor(
                plugins,
                attio=attio,
                schema=schema,
                own_actor_ids=(*settings.attio.own_token_ids, *learnt),
                settings=settings.plugins.settings,
                cache=cache,
            )

            async def remember(token: str) -> None:
                await store.remember_token(token, key_digest=key_digest, now=clock.time())

            processor.remember_token = remember
            processor.wall_clock = clock.time
            processor.waits = StoreWaits(store, clock)
            processor.loop_guard = settings.attio.loop_guard
            processor.announce = store.publish
            dispatcher = Dispatcher(
                store,
                processor,
                clock=clock.time,
                metrics=metrics,
                breaker=attio.breaker,
                policy=DispatchPolicy(
                    concurrency=settings.dispatcher.concurrency,
                    lease_seconds=settings.dispatcher.lease_seconds,
                    poll_seconds=settings.dispatcher.poll_seconds,
                    max_attempts=settings.dispatcher.max_attempts,
                    backoff_initial=settings.dispatcher.backoff_initial,
                    backoff_max=settings.dispatcher.backoff_max,
                    dead_after_seconds=settings.dispatcher.lease_seconds,
                ),
            )
            reloader = (
                RulesReloader(
                    settings.rules.path,
                    plugins.rules,
                    plugins.actions,
                    on_reload=lambda outcome: metrics.rules_reloads.labels(outcome=outcome).inc(),
                )
                if settings.rules.path
                else None
            )
            store.subscribe(lambda message: _on_message(message, schema, dispatcher, cache))
            sync_database = await open_sync(plugins, settings, schema, clock)
            if sync_database is not None:
                # Our own writes, coming back, still reach the mirror.
                processor.own_events_to = SYNC_PLUGIN
            try:
                yield Runner(
                    settings,
                    store,
                    attio,
                    schema,
                    plugins,
                    dispatcher,
                    metrics,
                    reloader,
                    cache,
                    clock=clock,
                )
            finally:
                with anyio.CancelScope(shield=True):
                    if cache is not None:
                        await cache.close()
                    if sync_database is not None:
                        await sync_database.close()
    finally:
        if owned:
            with anyio.CancelScope(shield=True):
                await store.close()


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    *,
    attio_transport: httpx.AsyncBaseTransport | None = None,
    watch_signals: bool = False,
    plugins: Plugins | None = None,
    store: Store | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[Runner]:
    """Assemble, call the plugins' ``startup``, run the dispatcher; on exit drain
    it, call ``shutdown`` and close everything (see :func:`assembled`)."""
    check_settings(settings)
    async with assembled(
        settings, attio_transport=attio_transport, plugins=plugins, store=store, clock=clock
    ) as runner:
        app_context = AppContext(runner.attio, runner.schema, settings.plugins.settings)
        bus = runner.plugins.bus
        for failure in await bus.call("startup", app=app_context):
            log.error("plugin %s failed to start: %s", failure.plugin, failure.error)
        async with anyio.create_task_group() as tasks:
            await tasks.start(runner.dispatcher.run)
            scheduler = Scheduler(
                runner.store,
                # Asked each time: a reload may add, change or drop scheduled rules.
                lambda: [
                    *periodic_jobs(runner),
                    *scheduled_rule_jobs(runner),
                    *sync_jobs(runner),
                ],
                owner=runner.dispatcher.owner,
                clock=runner.clock,
            )
            tasks.start_soon(scheduler.run)
            sync = runner.plugins.sync
            if sync is not None and sync.outbox is not None:
                feeder = OutboxFeeder(
                    sync.outbox,
                    runner.store,
                    poll_seconds=sync.spec.poll_seconds,
                    wake=runner.dispatcher.wake,
                )
                await tasks.start(feeder.run)
            if runner.reloader is not None:
                tasks.start_soon(runner.reloader.watch_file)
                if watch_signals:
                    tasks.start_soon(runner.reloader.watch_sighup)
            runner.accepting = True
            try:
                yield runner
            finally:
                runner.accepting = False
                with anyio.CancelScope(shield=True):
                    await runner.dispatcher.stop(deadline=settings.server.drain_seconds)
                    for failure in await bus.call("shutdown", app=app_context):
                        log.error("plugin %s failed to stop: %s", failure.plugin, failure.error)
                tasks.cancel_scope.cancel()


def _on_message(
    message: str, schema: SchemaCache, dispatcher: Dispatcher, cache: RecordCache | None
) -> None:
    """What other runners say through the store: new events, schema changes,
    records a webhook made stale (for caches kept in each process)."""
    if message == "events":
        dispatcher.wake()
        return
    if message == RESYNC:
        # Schema changes may have gone by unheard: fetch it afresh.
        schema.invalidate()
        dispatcher.wake()
        return
    kind, _, rest = message.partition(":")
    if kind == "stale" and cache is not None:
        sender, _, keys = rest.partition(":")
        if sender != dispatcher.owner:  # this runner's own already forgot them
            cache.heard(keys.split(","))
        return
    if kind == "schema":
        target, _, identifier = rest.partition(":")
        if target == "objects":
            schema.invalidate("objects", identifier or None)
        elif target == "lists":
            schema.invalidate("lists", identifier or None)


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


def periodic_jobs(runner: Runner) -> list[Job]:
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
        await database.open(schema)
    except Exception:
        await database.close()
        raise
    plugins.sync.attach(database, clock)
    return database


def sync_jobs(runner: Runner) -> list[Job]:
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


def scheduled_rule_jobs(runner: Runner) -> list[Job]:
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
