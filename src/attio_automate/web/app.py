"""The runner's HTTP face: the webhook receiver, health, readiness and metrics."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Sequence

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from attio_automate.assembly import Plugins, Runner, running
from attio_automate.cache.records import invalidated_by
from attio_automate.clock import Clock
from attio_automate.delivery import WebhookRejected, parse_delivery
from attio_automate.settings import Settings
from attio_automate.store import Store
from attio_automate.store.base import NewEvent
from attio_automate.web.admin import admin_routes
from attio_automate.web.bodies import BodyLimits

READY_CACHE_SECONDS = 5.0


def runner_of(request: Request) -> Runner:
    runner: Runner = request.app.state.runner
    return runner


async def receive_webhook(request: Request) -> Response:
    runner = runner_of(request)
    metrics = runner.metrics
    metrics.received.inc()
    if not runner.accepting:
        return JSONResponse({"error": "shutting down"}, status_code=503)
    try:
        body = await request.app.state.bodies.read(request)
        events = parse_delivery(
            request.headers,
            body,
            secrets=runner.settings.secrets.webhook_secrets,
            received_at=runner.clock.time(),
        )
    except WebhookRejected as rejected:
        metrics.rejected.labels(reason=rejected.reason).inc()
        # A body refused part-way (too big, too slow, too many at once) is
        # not read to its end: the connection closes, and what it buffered goes.
        closing = {"Connection": "close"} if rejected.status in (408, 413, 503) else None
        return JSONResponse(
            {"error": rejected.message}, status_code=rejected.status, headers=closing
        )
    await forget_what_changed(runner, events)
    key = request.headers.get("idempotency-key")
    window = runner.settings.receiver.replay_window
    try:
        if window > 0 and key:
            # The same signed body under another key, lately: a replay.
            digest = hashlib.sha256(body).hexdigest()
            first = await runner.store.remember_body(
                digest, key, now=runner.clock.time(), window=window
            )
            if first != key:
                metrics.duplicates.inc(len(events))
                return JSONResponse({"accepted": 0, "duplicates": len(events), "replay": True})
        inserted = await runner.store.insert_events(events)
    except Exception:
        # Not committed, so not acknowledged: Attio will deliver it again.
        metrics.rejected.labels(reason="store_unavailable").inc()
        return JSONResponse({"error": "could not store the delivery"}, status_code=503)
    accepted = sum(inserted)
    metrics.accepted.inc(accepted)
    metrics.duplicates.inc(len(inserted) - accepted)
    if accepted:
        runner.dispatcher.wake()
    return JSONResponse({"accepted": accepted, "duplicates": len(inserted) - accepted})


async def forget_what_changed(runner: Runner, events: Sequence[NewEvent]) -> None:
    """Drop cached copies of what the delivery names, before its events can
    be dispatched: here, and (for caches kept in each process) in the other
    runners, told through the store.  Bounded in time: a slow cache must not
    hold up the acknowledgement (the event's own record is still checked
    against its receipt time)."""
    cache = runner.cache
    if cache is None:
        return
    keys = sorted({key for event in events for key in invalidated_by(event.payload)})
    if not keys:
        return
    with anyio.move_on_after(1.0):
        await cache.invalidate(keys)
        if not cache.shared:
            with contextlib.suppress(Exception):
                sender = runner.dispatcher.owner
                await runner.store.publish(f"stale:{sender}:" + ",".join(keys))


async def healthz(request: Request) -> Response:
    runner: Runner | None = getattr(request.app.state, "runner", None)
    if runner is None or not runner.accepting:
        return JSONResponse({"status": "starting"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    runner = runner_of(request)
    checks: dict[str, str] = {}
    try:
        await runner.store.ping()
        checks["store"] = "ok"
    except Exception as exc:
        checks["store"] = f"error: {type(exc).__name__}"
    checked_at, reachable = runner.attio_checked
    if time.monotonic() - checked_at > READY_CACHE_SECONDS:
        try:
            await runner.attio.get_self()
            reachable = True
        except Exception:
            reachable = False
        runner.attio_checked = (time.monotonic(), reachable)
    checks["attio"] = "ok" if reachable else "unreachable"
    ok = all(v == "ok" for v in checks.values()) and runner.accepting
    return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)


async def metrics_endpoint(request: Request) -> Response:
    runner = runner_of(request)
    unfinished, dead = await runner.store.depths()
    runner.metrics.queue_depth.set(unfinished)
    runner.metrics.dead_letter_depth.set(dead)
    pending, earliest = await runner.store.waits_summary()
    runner.metrics.waits_pending.set(pending)
    late = runner.clock.time() - earliest if earliest is not None else 0.0
    runner.metrics.waits_late.set(max(late, 0.0))
    return Response(runner.metrics.render(), media_type="text/plain; version=0.0.4")


def create_app(
    settings: Settings,
    *,
    attio_transport: httpx.AsyncBaseTransport | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    watch_signals: bool = False,
    plugins: Plugins | None = None,
    store: Store | None = None,
    on_death: Callable[[BaseException], None] | None = None,
    clock: Clock | None = None,
) -> Starlette:
    """The runner as an ASGI app; its lifespan runs the dispatcher (with the
    ``plugins`` and open ``store`` given, if any: see :func:`assembled`).

    ``on_death`` is called with the error if the lifespan ends other than by
    the server's shutdown (a background task failed): the server keeps its
    port but can no longer process anything, so whoever serves the app
    should stop and exit non-zero for a supervisor to restart it.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        shut_down = False
        try:
            async with running(
                settings,
                attio_transport=attio_transport,
                watch_signals=watch_signals,
                plugins=plugins,
                store=store,
                clock=clock,
            ) as runner:
                app.state.runner = runner
                yield
                shut_down = True
        except BaseException as exc:
            if not shut_down and on_death is not None:
                on_death(exc)
            raise

    routes: list[BaseRoute] = [
        Route("/webhooks/attio", receive_webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *admin_routes(settings.secrets.admin_token),
        *extra_routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    server = settings.server
    app.state.bodies = BodyLimits(
        max_body_bytes=server.max_body_bytes,
        body_seconds=server.body_seconds,
        max_buffered_bytes=server.max_buffered_bytes,
    )
    return app
