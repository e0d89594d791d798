"""The runner assembled from settings: the store, the client, the plugins,
the dispatcher; and running it (startup, the dispatcher, the scheduler, the
outbox feeder, a drain on the way out)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio
import httpx

from attio_automate.assembly.jobs import (
    StoreWaits,
    open_sync,
    periodic_jobs,
    scheduled_rule_jobs,
    sync_jobs,
)
from attio_automate.assembly.plugins import Plugins, build_processor, load_plugins_for
from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.ratelimit import RateLimits
from attio_automate.attio.schema import SchemaCache
from attio_automate.bus.context import AppContext
from attio_automate.cache.records import RecordCache, open_cache
from attio_automate.clock import Clock, SystemClock
from attio_automate.errors import ConfigError
from attio_automate.metrics import Metrics
from attio_automate.processing.dispatcher import Dispatcher, DispatchPolicy
from attio_automate.processing.scheduler import Scheduler
from attio_automate.rules.reload import RulesReloader
from attio_automate.settings import Settings
from attio_automate.store import Store, open_store_url
from attio_automate.store.base import RESYNC
from attio_automate.store.budget import shared_budgets
from attio_automate.sync.mirror import PLUGIN_NAME as SYNC_PLUGIN
from attio_automate.sync.outbox import OutboxFeeder

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
