"""Admin endpoints: list, show, replay events and retry dead letters over HTTP.

Behind a bearer token from ``ATTIO_AUTOMATE_ADMIN_TOKEN``; when it is unset the
endpoints do not exist (404).  Answers never carry secrets.

- ``GET  /admin/events?status=&type=&record=&rule=&since=&until=&limit=``
- ``GET  /admin/events/{id}``
- ``POST /admin/events/replay``  ``{"ids": [..]}`` or filters, ``"force": bool``
- ``GET  /admin/dead-letters``
- ``POST /admin/dead-letters/retry``  ``{"ids": [..]}`` or ``{"all": true}``

Replays and retries are queued for this runner's dispatcher; the answer says
how many were queued.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from attio_automate import operations
from attio_automate.assembly import Runner
from attio_automate.errors import ConfigError

Endpoint = Callable[[Request], Awaitable[Response]]
_FILTER_KEYS = ("status", "type", "record", "rule", "since", "until", "limit")


def admin_routes(token: str | None) -> list[Route]:
    """The admin routes, guarded by ``token``; none at all without one."""
    if not token:
        return []

    def guarded(endpoint: Endpoint) -> Endpoint:
        async def check(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
            if not given or not hmac.compare_digest(given.encode(), token.encode()):
                return JSONResponse(
                    {"error": "missing or wrong admin token"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            try:
                return await endpoint(request)
            except ConfigError as exc:
                return JSONResponse({"error": "; ".join(exc.problems)}, status_code=400)

        return check

    return [
        Route("/admin/events", guarded(list_events), methods=["GET"]),
        Route("/admin/events/replay", guarded(replay), methods=["POST"]),
        Route("/admin/events/{event_id}", guarded(show_event), methods=["GET"]),
        Route("/admin/dead-letters", guarded(list_dead), methods=["GET"]),
        Route("/admin/dead-letters/retry", guarded(retry_dead), methods=["POST"]),
    ]


def _runner(request: Request) -> Runner:
    runner: Runner = request.app.state.runner
    return runner


def _filters(source: dict[str, Any]) -> operations.EventFilter:
    unknown = set(source) - set(_FILTER_KEYS) - {"ids", "force", "all"}
    if unknown:
        raise ConfigError([f"unknown parameter {', '.join(sorted(unknown))}"])
    try:
        limit = int(source.get("limit", 100))
    except (TypeError, ValueError):
        raise ConfigError(["limit must be a whole number"]) from None
    return operations.event_filter(
        status=source.get("status"),
        event_type=source.get("type"),
        record=source.get("record"),
        rule=source.get("rule"),
        since=source.get("since"),
        until=source.get("until"),
        limit=limit,
    )


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ConfigError(["the body must be a JSON object"]) from None
    if not isinstance(body, dict):
        raise ConfigError(["the body must be a JSON object"])
    ids = body.get("ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise ConfigError(["ids must be a list of event ids (numbers)"])
    return body


async def list_events(request: Request) -> Response:
    store = _runner(request).store
    events = await store.list_events(_filters(dict(request.query_params)))
    return JSONResponse({"events": [operations.summary(e) for e in events]})


async def show_event(request: Request) -> Response:
    raw = request.path_params["event_id"]
    if not raw.isdigit():
        raise ConfigError([f"{raw!r} is not an event id"])
    found = await operations.detail(_runner(request).store, int(raw))
    if found is None:
        return JSONResponse({"error": f"no event with id {raw}"}, status_code=404)
    return JSONResponse(found)


async def _requeue(request: Request, runner: Runner, ids: list[int], force: bool) -> Response:
    queued = await runner.store.requeue(ids, now=runner.clock.time(), force=force)
    runner.dispatcher.wake()
    return JSONResponse({"queued": queued, "busy": len(ids) - queued, "ids": ids})


async def replay(request: Request) -> Response:
    runner = _runner(request)
    body = await _body(request)
    filters = {k: v for k, v in body.items() if k in _FILTER_KEYS and k != "limit"}
    where = _filters(filters) if filters else None
    limit = _filters({"limit": body["limit"]}).limit if "limit" in body else None
    ids = await operations.select_ids(runner.store, body.get("ids") or [], where, limit=limit)
    return await _requeue(request, runner, ids, bool(body.get("force", False)))


async def list_dead(request: Request) -> Response:
    params = {**dict(request.query_params), "status": "dead"}
    events = await _runner(request).store.list_events(_filters(params))
    return JSONResponse({"dead_letters": [operations.summary(e) for e in events]})


async def retry_dead(request: Request) -> Response:
    runner = _runner(request)
    body = await _body(request)
    if body.get("all"):
        ids = await operations.matching_ids(runner.store, operations.event_filter(status="dead"))
    else:
        ids = await operations.select_ids(runner.store, body.get("ids") or [], None)
        not_dead = [
            i for i in ids if (event := await runner.store.get_event(i)) and event.status != "dead"
        ]
        if not_dead:
            raise ConfigError([f"not in the dead letter: {', '.join(map(str, not_dead))}"])
    return await _requeue(request, runner, ids, False)
