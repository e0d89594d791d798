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
from collections import deque
from collections.abc import Callable
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from attio_automate.attio.ratelimit import is_read_request
from attio_automate.testing.contract import AttioSpec, ContractError
from attio_automate.testing.fake.endpoints import Endpoints, Handler
from attio_automate.testing.fake.limits import Fault, WindowLimiter
from attio_automate.testing.fake.model import JSON, FakeAttioError
from attio_automate.testing.fake.seed import seed_standard
from attio_automate.testing.fake.webhooks import WebhookHub
from attio_automate.testing.fake.workspace import Workspace


class FakeAttio:
    """An Attio workspace in memory, speaking Attio's REST API.

    ``api_key`` (when set) must be sent as a bearer token.  ``reads_per_second``
    and ``writes_per_second`` enforce Attio's limits per clock second.  With
    ``check_answers``, every answer is checked against Attio's description
    and what does not fit is kept in :attr:`violations` (a test suite asserts
    it stays empty: the fake must never teach a client what Attio would not say).
    """

    def __init__(
        self,
        *,
        workspace: Workspace | None = None,
        api_key: str | None = None,
        reads_per_second: int | None = None,
        writes_per_second: int | None = None,
        clock: Callable[[], float] = time.time,
        check_answers: bool = False,
        on_seeded: Callable[[], object] | None = None,
        kept_answers: int | None = None,
    ) -> None:
        self.check_answers = check_answers
        #: Called after ``/_fake/seed`` has made its records.
        self.on_seeded = on_seeded
        #: Answers that did not fit Attio's description (with ``check_answers``).
        self.violations: list[str] = []
        self.workspace = workspace or seed_standard(Workspace(clock=clock))
        self.api_key = api_key
        self.limiter = WindowLimiter(reads_per_second, writes_per_second)
        self.faults: list[Fault] = []
        #: Every request received: method, path, query, body, status, response, time.
        self.requests: list[JSON] = []
        #: How many of the newest entries keep their answers (None: all);
        #: older ones keep everything else.  For a fake that serves long:
        #: every page it served, kept, grew its heap and its full collections
        #: with it, until one stalled it long enough (both cores busy, 40,000
        #: people) to take in the requests queued behind it within one
        #: second: up to 108 reads in a second no client sent, and 429s.
        self.kept_answers = kept_answers
        self._answered: deque[JSON] = deque()
        self.clock = clock
        #: Webhook registrations and deliveries; run ``webhooks.run()`` to send them.
        self.webhooks = WebhookHub(self.workspace, clock=clock)
        self.endpoints = Endpoints(self.workspace, self.webhooks, clock=clock)
        #: Attio's description: request bodies that do not fit it are refused.
        self.spec = AttioSpec.load()
        self.app = Starlette(
            routes=self._routes(),
            exception_handlers={404: self._not_routed, 405: self._not_routed},
        )

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
        def route(path: str, methods: list[str], handler: Handler) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self._handle(request, handler)

            return Route(path, endpoint, methods=methods)

        api = self.endpoints.routes(route)
        control = [
            Route("/_fake/requests", self._control_requests, methods=["GET", "DELETE"]),
            Route("/_fake/counts", self._control_counts, methods=["GET"]),
            Route("/_fake/faults", self._control_faults, methods=["POST", "DELETE"]),
            Route("/_fake/limits", self._control_limits, methods=["POST"]),
            Route("/_fake/violations", self._control_violations, methods=["GET"]),
            Route("/_fake/seed", self._control_seed, methods=["POST"]),
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
            if entry["body"] is not None:
                self._check_shape(request.method, path, entry["body"])
            result = handler(request, entry["body"])
            status, body = 200, (await result) if inspect.isawaitable(result) else result
            headers: dict[str, str] = {}
        except FakeAttioError as error:
            status, body = error.status_code, error.body()
            headers = WindowLimiter.headers_429(received) if status == 429 else {}
        except Exception as exc:  # a bug of the fake's: still Attio's shape, still JSON
            status, headers = 500, {}
            body = FakeAttioError(500, "internal_server_error", f"{type(exc).__name__}").body()
        entry["status"] = status
        entry["response"] = body
        if self.kept_answers is not None:
            self._answered.append(entry)
            if len(self._answered) > self.kept_answers:
                del self._answered.popleft()["response"]
        if self.check_answers and path.startswith("/v2/"):
            try:
                self.spec.check_response(request.method, path, status, body, patterns=False)
            except ContractError as error:
                self.violations.append(str(error))
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

    def _check_shape(self, method: str, path: str, body: Any) -> None:
        """Refuse a body Attio's description says it would refuse, as Attio
        does: 400 ``validation_type`` naming what is wrong."""
        try:
            self.spec.check_request_shape(method, path, body)
        except ContractError as error:
            problems = str(error).split("\n", 1)[-1].strip()
            # Attio's description has queries answer every 400 with filter_error.
            code = "filter_error" if path.endswith("/query") else "validation_type"
            raise FakeAttioError(400, code, f"Body payload validation error: {problems}") from None

    async def _not_routed(self, request: Request, exc: Exception) -> Response:
        """Attio answers unknown paths and methods in its JSON error shape too."""
        status = getattr(exc, "status_code", 404)
        if status == 405:
            error = FakeAttioError(
                405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}."
            )
        else:
            error = FakeAttioError(404, "not_found", f"No route for {request.url.path}.")
        return JSONResponse(error.body(), status_code=error.status_code)

    # -- control API --------------------------------------------------------------------

    async def _control_requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.requests.clear()
            self._answered.clear()
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

    async def _control_violations(self, request: Request) -> Response:
        return JSONResponse({"checked": self.check_answers, "violations": self.violations})

    async def _control_limits(self, request: Request) -> Response:
        spec = await request.json()
        self.limiter = WindowLimiter(spec.get("reads_per_second"), spec.get("writes_per_second"))
        return JSONResponse(
            {
                "reads_per_second": self.limiter.reads_per_second,
                "writes_per_second": self.limiter.writes_per_second,
            }
        )

    async def _control_seed(self, request: Request) -> Response:
        """``{"people": N}``: N people made at once, as a workspace member
        (benchmarks need tens of thousands, faster than the API would take)."""
        spec = await request.json()
        count = int(spec.get("people", 0))
        member = next(iter(self.workspace.members), None)
        actor = {"type": "workspace-member", "id": member}
        start = len(self.workspace.records["people"])
        for n in range(start, start + count):
            self.workspace.create_record(
                "people",
                {
                    "name": f"Person {n}",
                    "email_addresses": [f"person{n}@seed.example"],
                    "job_title": "Engineer" if n % 3 else "Founder",
                },
                actor=actor,
            )
        if self.on_seeded is not None:
            self.on_seeded()
        return JSONResponse({"people": len(self.workspace.records["people"])})
