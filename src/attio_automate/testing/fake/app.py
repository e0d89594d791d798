"""The fake Attio as an ASGI app (Starlette): Attio's REST API over the workspace.

Use it in-process through :meth:`FakeAttio.transport` or serve it for real
(``attio-automate fake-attio``).  Besides Attio's endpoints it has a small
control API under ``/_fake`` for tests in other processes: the request log,
fault injection and rate-limit settings.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from attio_automate.attio.ratelimit import is_read_request
from attio_automate.testing.fake import activities, entries
from attio_automate.testing.fake import schema_views as views
from attio_automate.testing.fake.limits import Fault, WindowLimiter
from attio_automate.testing.fake.model import JSON, FakeAttioError, not_found
from attio_automate.testing.fake.seed import seed_standard
from attio_automate.testing.fake.webhooks import WebhookHub
from attio_automate.testing.fake.workspace import Workspace

Handler = Callable[[Request, Any], Awaitable[Any] | Any]


class FakeAttio:
    """An Attio workspace in memory, speaking Attio's REST API.

    ``api_key`` (when set) must be sent as a bearer token.  ``reads_per_second``
    and ``writes_per_second`` enforce Attio's limits per clock second.
    """

    def __init__(
        self,
        *,
        workspace: Workspace | None = None,
        api_key: str | None = None,
        reads_per_second: int | None = None,
        writes_per_second: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.workspace = workspace or seed_standard(Workspace(clock=clock))
        self.api_key = api_key
        self.limiter = WindowLimiter(reads_per_second, writes_per_second)
        self.faults: list[Fault] = []
        #: Every request received: method, path, query, body, status, response, time.
        self.requests: list[JSON] = []
        self.clock = clock
        #: Webhook registrations and deliveries; run ``webhooks.run()`` to send them.
        self.webhooks = WebhookHub(self.workspace, clock=clock)
        self.app = Starlette(routes=self._routes())

    # -- control ------------------------------------------------------------------------

    def transport(self) -> httpx.ASGITransport:
        """An httpx transport that calls this fake in-process."""
        return httpx.ASGITransport(app=self.app)

    def fail(self, *, status: int = 503, seconds: float = 30.0, path: str = "") -> None:
        """Answer ``status`` to every request (on ``path``) for ``seconds``."""
        self.faults.append(Fault(until=self.clock() + seconds, status=status, path=path))

    def slow(self, *, latency: float, seconds: float = 30.0, path: str = "") -> None:
        """Delay every request (on ``path``) by ``latency`` for ``seconds``."""
        self.faults.append(Fault(until=self.clock() + seconds, latency=latency, path=path))

    def heal(self) -> None:
        """End every injected fault."""
        self.faults.clear()

    def writes(self) -> list[JSON]:
        """Logged requests that changed something and succeeded."""
        return [
            r
            for r in self.requests
            if r["kind"] == "write" and r["status"] < 300 and not r["path"].startswith("/_fake")
        ]

    # -- request handling ---------------------------------------------------------------

    def _routes(self) -> list[Route]:
        w = self.workspace

        def route(path: str, methods: list[str], handler: Handler) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self._handle(request, handler)

            return Route(path, endpoint, methods=methods)

        api = [
            route("/v2/self", ["GET"], self._self),
            route(
                "/v2/objects",
                ["GET"],
                lambda r, b: _ok([views.object_view(w, o) for o in w.objects.values()]),
            ),
            route(
                "/v2/objects/{object}",
                ["GET"],
                lambda r, b: _ok(views.object_view(w, w.get_object(r.path_params["object"]))),
            ),
            route(
                "/v2/lists",
                ["GET"],
                lambda r, b: _ok([views.list_view(w, lst) for lst in w.lists.values()]),
            ),
            route(
                "/v2/lists/{list}",
                ["GET"],
                lambda r, b: _ok(views.list_view(w, w.get_list(r.path_params["list"]))),
            ),
            route("/v2/{target}/{identifier}/attributes", ["GET"], self._attributes),
            route("/v2/{target}/{identifier}/attributes/{attribute}", ["GET"], self._attribute),
            route(
                "/v2/{target}/{identifier}/attributes/{attribute}/statuses", ["GET"], self._choices
            ),
            route(
                "/v2/{target}/{identifier}/attributes/{attribute}/options", ["GET"], self._choices
            ),
            route("/v2/objects/{object}/records/query", ["POST"], self._query_records),
            route("/v2/objects/{object}/records", ["POST", "PUT"], self._write_record),
            route(
                "/v2/objects/{object}/records/{record_id}",
                ["GET", "PATCH", "PUT", "DELETE"],
                self._record,
            ),
            route(
                "/v2/objects/{object}/records/{record_id}/attributes/{attribute}/values",
                ["GET"],
                self._values,
            ),
            route(
                "/v2/objects/{object}/records/{record_id}/entries", ["GET"], self._record_entries
            ),
            route("/v2/lists/{list}/entries/query", ["POST"], self._query_entries),
            route("/v2/lists/{list}/entries", ["POST", "PUT"], self._write_entry),
            route(
                "/v2/lists/{list}/entries/{entry_id}",
                ["GET", "PATCH", "PUT", "DELETE"],
                self._entry,
            ),
            route("/v2/notes", ["GET", "POST"], self._notes),
            route("/v2/notes/{note_id}", ["GET"], self._note),
            route("/v2/tasks", ["GET", "POST"], self._tasks),
            route("/v2/workspace_members", ["GET"], lambda r, b: _ok(views.members_view(w))),
            route("/v2/webhooks", ["GET", "POST"], self._webhooks),
            route("/v2/webhooks/{webhook_id}", ["GET", "PATCH", "DELETE"], self._webhook),
        ]
        control = [
            Route("/_fake/requests", self._control_requests, methods=["GET", "DELETE"]),
            Route("/_fake/counts", self._control_counts, methods=["GET"]),
            Route("/_fake/faults", self._control_faults, methods=["POST", "DELETE"]),
            Route("/_fake/limits", self._control_limits, methods=["POST"]),
        ]
        return api + control

    async def _handle(self, request: Request, handler: Handler) -> Response:
        received = self.clock()
        path = request.url.path
        kind = "read" if is_read_request(request.method, path) else "write"
        raw = await request.body()
        entry: JSON = {
            "time": received,
            "method": request.method,
            "path": path,
            "query": dict(request.query_params),
            "kind": kind,
            "body": None,
        }
        self.requests.append(entry)
        try:
            if raw:
                try:
                    entry["body"] = json.loads(raw)
                except ValueError:
                    raise FakeAttioError(
                        400, "validation_type", "Body is not valid JSON."
                    ) from None
            await self._gate(request, path, kind, received)
            result = handler(request, entry["body"])
            status, body = 200, (await result) if inspect.isawaitable(result) else result
            headers: dict[str, str] = {}
        except FakeAttioError as error:
            status, body = error.status_code, error.body()
            headers = WindowLimiter.headers_429(received) if status == 429 else {}
        entry["status"] = status
        entry["response"] = body
        return JSONResponse(body, status_code=status, headers=headers)

    async def _gate(self, request: Request, path: str, kind: str, now: float) -> None:
        if self.api_key is not None:
            expected = f"Bearer {self.api_key}"
            if request.headers.get("authorization") != expected:
                raise FakeAttioError(401, "invalid_api_key", "Invalid or missing API key.")
        for fault in [f for f in self.faults if f.applies(path, now)]:
            if fault.latency:
                await anyio.sleep(fault.latency)
            if fault.status is not None:
                raise FakeAttioError(
                    fault.status,
                    "service_unavailable" if fault.status == 503 else "internal_error",
                    "Injected fault.",
                )
        if not self.limiter.admit(kind, now):
            raise FakeAttioError(429, "rate_limit_exceeded", "Rate limit exceeded, please retry.")

    # -- endpoints ----------------------------------------------------------------------

    async def _self(self, request: Request, body: Any) -> Any:
        return views.self_view(self.workspace, self.clock())

    async def _attributes(self, request: Request, body: Any) -> Any:
        w = self.workspace
        container = w.container(request.path_params["target"], request.path_params["identifier"])
        items = [views.attribute_view(w, container, a) for a in container.attributes.values()]
        return _ok(_page(items, request))

    async def _attribute(self, request: Request, body: Any) -> Any:
        w = self.workspace
        container = w.container(request.path_params["target"], request.path_params["identifier"])
        attribute = container.attribute(request.path_params["attribute"])
        if attribute is None:
            raise not_found("Attribute", request.path_params["attribute"])
        return _ok(views.attribute_view(w, container, attribute))

    async def _choices(self, request: Request, body: Any) -> Any:
        w = self.workspace
        container = w.container(request.path_params["target"], request.path_params["identifier"])
        attribute = container.attribute(request.path_params["attribute"])
        wanted = "status" if request.url.path.endswith("/statuses") else "select"
        if attribute is None or attribute.type != wanted:
            raise not_found("Attribute", request.path_params["attribute"])
        return _ok([views.choice_view(w, container, attribute, c) for c in attribute.choices])

    async def _query_records(self, request: Request, body: Any) -> Any:
        w = self.workspace
        obj = w.get_object(request.path_params["object"])
        found = w.query(obj, w.records[obj.slug].values(), body or {})
        return _ok([w.render_record(r) for r in found])

    async def _write_record(self, request: Request, body: Any) -> Any:
        w = self.workspace
        values = _data(body).get("values")
        if request.method == "POST":
            record = w.create_record(
                request.path_params["object"], values, actor=_actor(w, request)
            )
        else:
            matching = request.query_params.get("matching_attribute")
            if not matching:
                raise FakeAttioError(
                    400, "validation_type", "The matching_attribute query parameter is required."
                )
            record = w.assert_record(
                request.path_params["object"], matching, values, actor=_actor(w, request)
            )
        return _ok(w.render_record(record))

    async def _record(self, request: Request, body: Any) -> Any:
        w = self.workspace
        obj, record_id = request.path_params["object"], request.path_params["record_id"]
        if request.method == "GET":
            return _ok(w.render_record(w.get_record(obj, record_id)))
        if request.method == "DELETE":
            w.delete_record(obj, record_id, actor=_actor(w, request))
            return {}
        mode = "append" if request.method == "PATCH" else "replace"
        record = w.update_record(
            obj, record_id, _data(body).get("values"), mode=mode, actor=_actor(w, request)
        )
        return _ok(w.render_record(record))

    async def _values(self, request: Request, body: Any) -> Any:
        historic = request.query_params.get("show_historic", "false").lower() == "true"
        p = request.path_params
        values = self.workspace.attribute_values(
            p["object"], p["record_id"], p["attribute"], show_historic=historic
        )
        return _ok(_page(values, request))

    async def _record_entries(self, request: Request, body: Any) -> Any:
        w = self.workspace
        record = w.get_record(request.path_params["object"], request.path_params["record_id"])
        found = [
            {
                "list_id": w.get_list(slug).id,
                "list_api_slug": slug,
                "entry_id": entry.id,
                "created_at": entry.created_at,
            }
            for slug, entries in w.entries.items()
            for entry in entries.values()
            if entry.parent_record_id == record.id
        ]
        return _ok(_page(found, request))

    async def _query_entries(self, request: Request, body: Any) -> Any:
        w = self.workspace
        lst = w.get_list(request.path_params["list"])
        found = w.query(lst, w.entries[lst.slug].values(), body or {})
        return _ok([w.render_entry(e) for e in found])

    async def _write_entry(self, request: Request, body: Any) -> Any:
        w = self.workspace
        data = _data(body)
        if request.method == "POST":
            entry = entries.create_entry(
                w, request.path_params["list"], data, actor=_actor(w, request)
            )
        else:
            entry = entries.assert_entry(
                w, request.path_params["list"], data, actor=_actor(w, request)
            )
        return _ok(w.render_entry(entry))

    async def _entry(self, request: Request, body: Any) -> Any:
        w = self.workspace
        lst, entry_id = request.path_params["list"], request.path_params["entry_id"]
        if request.method == "GET":
            return _ok(w.render_entry(entries.get_entry(w, lst, entry_id)))
        if request.method == "DELETE":
            entry = entries.get_entry(w, lst, entry_id)
            del w.entries[w.get_list(lst).slug][entry.id]
            return {}
        mode = "append" if request.method == "PATCH" else "replace"
        entry = entries.update_entry(
            w, lst, entry_id, _data(body).get("entry_values"), mode=mode, actor=_actor(w, request)
        )
        return _ok(w.render_entry(entry))

    async def _notes(self, request: Request, body: Any) -> Any:
        w = self.workspace
        if request.method == "POST":
            return _ok(
                activities.render_note(
                    w, activities.create_note(w, _data(body), actor=_actor(w, request))
                )
            )
        parent_object = request.query_params.get("parent_object")
        parent_record = request.query_params.get("parent_record_id")
        if parent_object:
            parent_object = w.get_object(parent_object).slug
        notes = [
            activities.render_note(w, n)
            for n in w.notes.values()
            if (not parent_object or n.parent_object == parent_object)
            and (not parent_record or n.parent_record_id == parent_record)
        ]
        return _ok(_page(notes, request))

    async def _note(self, request: Request, body: Any) -> Any:
        note = self.workspace.notes.get(request.path_params["note_id"])
        if note is None:
            raise not_found("Note", request.path_params["note_id"])
        return _ok(activities.render_note(self.workspace, note))

    async def _tasks(self, request: Request, body: Any) -> Any:
        w = self.workspace
        if request.method == "POST":
            return _ok(
                activities.render_task(
                    w, activities.create_task(w, _data(body), actor=_actor(w, request))
                )
            )
        linked_object = request.query_params.get("linked_object")
        linked_record = request.query_params.get("linked_record_id")
        object_id = w.get_object(linked_object).id if linked_object else None
        tasks = [
            activities.render_task(w, t)
            for t in w.tasks.values()
            if (
                object_id is None
                or any(r["target_object_id"] == object_id for r in t.linked_records)
            )
            and (
                linked_record is None
                or any(r["target_record_id"] == linked_record for r in t.linked_records)
            )
        ]
        return _ok(_page(tasks, request))

    async def _webhooks(self, request: Request, body: Any) -> Any:
        hub = self.webhooks
        if request.method == "POST":
            # The secret is shown once, when the webhook is made.
            return _ok(hub.view(hub.create(_data(body)), with_secret=True))
        return _ok(_page([hub.view(h) for h in hub.webhooks.values()], request))

    async def _webhook(self, request: Request, body: Any) -> Any:
        hub = self.webhooks
        webhook_id = request.path_params["webhook_id"]
        if request.method == "DELETE":
            hub.delete(webhook_id)
            return {}
        if request.method == "PATCH":
            return _ok(hub.view(hub.update(webhook_id, _data(body))))
        return _ok(hub.view(hub.get(webhook_id)))

    # -- control API --------------------------------------------------------------------

    async def _control_requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.requests.clear()
            return JSONResponse({"cleared": True})
        return JSONResponse({"requests": self.requests})

    async def _control_counts(self, request: Request) -> Response:
        # Cheap to serve while under load, unlike the whole log: polling the
        # log would stall this server and skew the arrival times it records.
        counts: dict[str, int] = {}
        for entry in self.requests:
            key = f"{entry['method']} {entry['path']} {entry.get('status')}"
            counts[key] = counts.get(key, 0) + 1
        path = request.query_params.get("path")
        if path:
            counts = {k: v for k, v in counts.items() if k.split(" ")[1] == path}
        return JSONResponse({"counts": counts})

    async def _control_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.heal()
            return JSONResponse({"faults": 0})
        spec = await request.json()
        self.faults.append(
            Fault(
                until=self.clock() + float(spec.get("seconds", 30)),
                status=spec.get("status"),
                latency=float(spec.get("latency", 0.0)),
                path=str(spec.get("path", "")),
            )
        )
        return JSONResponse({"faults": len(self.faults)})

    async def _control_limits(self, request: Request) -> Response:
        spec = await request.json()
        self.limiter = WindowLimiter(spec.get("reads_per_second"), spec.get("writes_per_second"))
        return JSONResponse(
            {
                "reads_per_second": self.limiter.reads_per_second,
                "writes_per_second": self.limiter.writes_per_second,
            }
        )


#: Tests in other processes act as a person with ``X-Fake-Actor: member``; by
#: default writes are the API token's, as they are in Attio.
ACTOR_HEADER = "x-fake-actor"


def _actor(w: Workspace, request: Request) -> JSON | None:
    if request.headers.get(ACTOR_HEADER) == "member" and w.members:
        return {"type": "workspace-member", "id": next(iter(w.members))}
    return None


def _ok(data: Any) -> JSON:
    return {"data": data}


def _data(body: Any) -> JSON:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise FakeAttioError(400, "validation_type", 'The body must be {"data": {...}}.')
    data: JSON = body["data"]
    return data


def _page(items: list[Any], request: Request) -> list[Any]:
    try:
        limit = int(request.query_params.get("limit", "500"))
        offset = int(request.query_params.get("offset", "0"))
    except ValueError:
        raise FakeAttioError(400, "validation_type", "limit and offset must be integers.") from None
    return items[offset : offset + limit]
