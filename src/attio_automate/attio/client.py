"""The shared Attio client: one per process, used by every plugin and action.

The transports do the hard parts (pacing, retries, the breaker); this module
turns Attio's REST API into typed methods and Attio's error bodies into
:class:`~attio_automate.errors.AttioAPIError`.
"""

from __future__ import annotations

import random
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import httpx

from attio_automate.attio.breaker import BreakerPolicy, BreakerTransport, CircuitBreaker
from attio_automate.attio.pagination import FetchPage, collect, paginate
from attio_automate.attio.ratelimit import Budgets, RateLimits, RateLimitTransport
from attio_automate.attio.retry import RetryPolicy, RetryTransport
from attio_automate.clock import Clock, SystemClock
from attio_automate.errors import AttioAPIError, AttioTransportError
from attio_automate.fastjson import loads
from attio_automate.redact import scrub

DEFAULT_BASE_URL = "https://api.attio.com/v2"

JSON = dict[str, Any]
#: Write values as Attio takes them: attribute slug or id -> list of input values.
Values = Mapping[str, Sequence[Any]]


@dataclass(frozen=True, kw_only=True)
class ClientSettings:
    """Everything that shapes the client's behaviour, passed in explicitly."""

    base_url: str = DEFAULT_BASE_URL
    rate_limits: RateLimits = field(default_factory=RateLimits)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    timeout: float = 30.0
    max_connections: int = 20
    user_agent: str = "attio-automate"


class AttioClient:
    """Async client for Attio's REST API (v2).

    Use it as an async context manager, or call :meth:`aclose`::

        async with AttioClient(api_key=key) as attio:
            person = await attio.assert_record(
                "people",
                matching_attribute="email_addresses",
                values={"email_addresses": [{"email_address": "ada@example.com"}]},
            )

    ``transport`` replaces the network (an ``httpx.ASGITransport`` around the
    fake Attio, or an ``httpx.MockTransport``); pacing, retries and the
    breaker still wrap it.  ``budgets`` lets several clients share one budget.
    ``on_response`` sees the status of every answer (each retry too), for metrics.
    """

    def __init__(
        self,
        *,
        api_key: str,
        settings: ClientSettings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        budgets: Budgets | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        on_response: Callable[[int], None] | None = None,
    ) -> None:
        self.settings = settings or ClientSettings()
        self._api_key = api_key
        clock = clock or SystemClock()
        limits = httpx.Limits(
            max_connections=self.settings.max_connections,
            max_keepalive_connections=self.settings.max_connections,
        )
        inner = transport or httpx.AsyncHTTPTransport(limits=limits)
        self.budgets = budgets or Budgets.in_process(self.settings.rate_limits, clock=clock)
        self.rate_limiter = RateLimitTransport(
            inner,
            budgets=self.budgets,
            clock=clock,
            max_in_flight=self.settings.max_connections,
            on_response=on_response,
        )
        self.breaker = CircuitBreaker(self.settings.breaker, clock=clock)
        self.retrier = RetryTransport(
            BreakerTransport(self.rate_limiter, breaker=self.breaker),
            policy=self.settings.retry,
            clock=clock,
            rng=rng,
        )
        #: API token ids seen on values our writes created: the loop guard's
        #: way to know its own changes (``GET /v2/self`` does not say).
        self.token_ids: set[str] = set()
        self._http = httpx.AsyncClient(
            base_url=self.settings.base_url.rstrip("/") + "/",
            transport=self.retrier,
            timeout=self.settings.timeout,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": self.settings.user_agent,
            },
        )

    async def __aenter__(self) -> AttioClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    # -- the one place requests are made -------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one request; return the decoded JSON answer or raise an Attio error."""
        try:
            response = await self._http.request(method, path.lstrip("/"), params=params, json=json)
        except httpx.TransportError as exc:
            # Timeouts raised by the client itself, outside the retry transport.
            raise AttioTransportError(
                f"{method} {path}: {type(exc).__name__}", method=method, url=path
            ) from exc
        try:
            body = loads(response.content) if response.content else None
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            # A proxy (or Attio) echoing the request must not put the key in a trace.
            raise AttioAPIError.from_response(
                response.status_code,
                scrub(body, [self._api_key]),
                method=method,
                url=str(response.url),
            )
        return body

    def _poster(self, path: str) -> FetchPage:
        async def fetch(body: JSON) -> list[JSON]:
            return list(await self._data("POST", path, json=body))

        return fetch

    def _getter(self, path: str, params: Mapping[str, str | int] | None = None) -> FetchPage:
        async def fetch(page: JSON) -> list[JSON]:
            return list(await self._data("GET", path, params={**(params or {}), **page}))

        return fetch

    async def _data(self, method: str, path: str, **kwargs: Any) -> Any:
        body = await self.request(method, path, **kwargs)
        if method != "GET" and isinstance(body, dict) and isinstance(body.get("data"), dict):
            self._learn_token(body["data"], _sent_attributes(kwargs.get("json")))
        if not isinstance(body, dict) or "data" not in body:
            raise AttioAPIError(
                status_code=502,
                type="api_error",
                code="unexpected_response",
                message=f"{method} {path}: answer has no 'data'",
                method=method,
                url=path,
            )
        return body["data"]

    def _learn_token(self, data: JSON, sent: set[str] | None) -> None:
        """Learn the runner's own token id from what a write returned: the
        actor of what it created (a note, a task), else the actor of the
        newest current value among the attributes it wrote (never of another
        attribute, which another integration may have written)."""
        actor = data.get("created_by_actor")
        if not _is_token(actor):
            values = data.get("values") or data.get("entry_values") or {}
            newest: tuple[str, Any] = ("", None)
            if isinstance(values, dict):
                for slug, items in values.items():
                    if (sent is not None and slug not in sent) or not isinstance(items, list):
                        continue
                    for item in items:
                        if not isinstance(item, dict) or item.get("active_until") is not None:
                            continue
                        stamp = str(item.get("active_from") or "")
                        if _is_token(item.get("created_by_actor")) and stamp >= newest[0]:
                            newest = (stamp, item["created_by_actor"])
            actor = newest[1]
        if isinstance(actor, dict) and _is_token(actor):
            self.token_ids.add(str(actor["id"]))

    # -- workspace and schema -------------------------------------------------------------

    async def get_self(self) -> JSON:
        """``GET /v2/self``: the token and its workspace."""
        body = await self.request("GET", "/self")
        return body if isinstance(body, dict) else {}

    async def list_objects(self) -> list[JSON]:
        """Every object of the workspace."""
        return list(await self._data("GET", "/objects"))

    async def list_lists(self) -> list[JSON]:
        """Every list of the workspace."""
        return list(await self._data("GET", "/lists"))

    async def list_attributes(
        self, target: Literal["objects", "lists"], identifier: str
    ) -> list[JSON]:
        """Every attribute of an object or list (slug or id)."""
        return await collect(self._getter(f"/{target}/{identifier}/attributes"), page_size=100)

    async def list_statuses(
        self, target: Literal["objects", "lists"], identifier: str, attribute: str
    ) -> list[JSON]:
        """The statuses of a status attribute."""
        path = f"/{target}/{identifier}/attributes/{attribute}/statuses"
        return list(await self._data("GET", path))

    async def list_workspace_members(self) -> list[JSON]:
        """Every member of the workspace."""
        return list(await self._data("GET", "/workspace_members"))

    # -- records ------------------------------------------------------------------------

    async def get_record(self, object: str, record_id: str) -> JSON:
        """One record with its current values."""
        return dict(await self._data("GET", f"/objects/{object}/records/{record_id}"))

    def query_records(
        self,
        object: str,
        *,
        filter: Mapping[str, Any] | None = None,
        sorts: Sequence[Mapping[str, Any]] | None = None,
        page_size: int = 500,
        limit: int | None = None,
    ) -> AsyncGenerator[JSON, None]:
        """Records matching ``filter``, fetched lazily page by page."""
        return paginate(
            self._poster(f"/objects/{object}/records/query"),
            filter=filter,
            sorts=sorts,
            page_size=page_size,
            limit=limit,
        )

    async def query_page(
        self,
        target: Literal["objects", "lists"],
        slug: str,
        *,
        offset: int,
        limit: int,
        filter: Mapping[str, Any] | None = None,
    ) -> list[JSON]:
        """One page of an object's records or a list's entries, in Attio's
        order: for callers that keep their place page by page."""
        kind = "records" if target == "objects" else "entries"
        body: JSON = {"limit": limit, "offset": offset}
        if filter:
            body["filter"] = dict(filter)
        return await self._poster(f"/{target}/{slug}/{kind}/query")(body)

    async def create_record(self, object: str, values: Values) -> JSON:
        """Create a record; fails on a unique attribute that already exists."""
        body = {"data": {"values": _values(values)}}
        return dict(await self._data("POST", f"/objects/{object}/records", json=body))

    async def assert_record(self, object: str, *, matching_attribute: str, values: Values) -> JSON:
        """Create or update the record whose ``matching_attribute`` matches ``values``."""
        body = {"data": {"values": _values(values)}}
        return dict(
            await self._data(
                "PUT",
                f"/objects/{object}/records",
                params={"matching_attribute": matching_attribute},
                json=body,
            )
        )

    async def update_record(
        self, object: str, record_id: str, values: Values, *, overwrite: bool = False
    ) -> JSON:
        """Update a record.  Multiselect values are added to (PATCH) unless
        ``overwrite`` replaces them (PUT)."""
        body = {"data": {"values": _values(values)}}
        method = "PUT" if overwrite else "PATCH"
        return dict(await self._data(method, f"/objects/{object}/records/{record_id}", json=body))

    async def delete_record(self, object: str, record_id: str) -> None:
        """Delete a record (its list entries go with it)."""
        await self.request("DELETE", f"/objects/{object}/records/{record_id}")

    async def attribute_values(
        self,
        object: str,
        record_id: str,
        attribute: str,
        *,
        show_historic: bool = True,
    ) -> list[JSON]:
        """The values of one attribute, with former values when ``show_historic``."""
        path = f"/objects/{object}/records/{record_id}/attributes/{attribute}/values"
        params = {"show_historic": "true" if show_historic else "false"}
        return list(await self._data("GET", path, params=params))

    async def entry_attribute_values(
        self, list: str, entry_id: str, attribute: str, *, show_historic: bool = True
    ) -> list[JSON]:
        """The values of one entry attribute (a stage's history, say)."""
        path = f"/lists/{list}/entries/{entry_id}/attributes/{attribute}/values"
        params = {"show_historic": "true" if show_historic else "false"}
        return [dict(value) for value in await self._data("GET", path, params=params)]

    async def record_entries(self, object: str, record_id: str) -> list[JSON]:
        """The list entries a record has, in every list (``list_api_slug``, ``entry_id``)."""
        path = f"/objects/{object}/records/{record_id}/entries"
        return await collect(self._getter(path), page_size=100)

    # -- list entries -------------------------------------------------------------------

    async def get_entry(self, list: str, entry_id: str) -> JSON:
        """One list entry with its current values."""
        return dict(await self._data("GET", f"/lists/{list}/entries/{entry_id}"))

    def query_entries(
        self,
        list: str,
        *,
        filter: Mapping[str, Any] | None = None,
        sorts: Sequence[Mapping[str, Any]] | None = None,
        page_size: int = 500,
        limit: int | None = None,
    ) -> AsyncGenerator[JSON, None]:
        """Entries of a list matching ``filter``, fetched lazily page by page."""
        return paginate(
            self._poster(f"/lists/{list}/entries/query"),
            filter=filter,
            sorts=sorts,
            page_size=page_size,
            limit=limit,
        )

    async def create_entry(
        self, list: str, *, parent_object: str, parent_record_id: str, entry_values: Values
    ) -> JSON:
        """Add a record to a list (a new entry even if it is there already)."""
        body = _entry_body(parent_object, parent_record_id, entry_values)
        return dict(await self._data("POST", f"/lists/{list}/entries", json=body))

    async def assert_entry(
        self, list: str, *, parent_object: str, parent_record_id: str, entry_values: Values
    ) -> JSON:
        """Add a record to a list once: update its entry if it has one."""
        body = _entry_body(parent_object, parent_record_id, entry_values)
        return dict(await self._data("PUT", f"/lists/{list}/entries", json=body))

    async def update_entry(
        self, list: str, entry_id: str, entry_values: Values, *, overwrite: bool = False
    ) -> JSON:
        """Update an entry's values (PATCH appends multiselect values, PUT replaces)."""
        body = {"data": {"entry_values": _values(entry_values)}}
        method = "PUT" if overwrite else "PATCH"
        return dict(await self._data(method, f"/lists/{list}/entries/{entry_id}", json=body))

    async def delete_entry(self, list: str, entry_id: str) -> None:
        """Remove an entry from its list."""
        await self.request("DELETE", f"/lists/{list}/entries/{entry_id}")

    # -- notes and tasks ----------------------------------------------------------------

    async def create_note(
        self,
        *,
        parent_object: str,
        parent_record_id: str,
        title: str,
        content: str,
        format: Literal["plaintext", "markdown"] = "markdown",
    ) -> JSON:
        """Add a note to a record."""
        body = {
            "data": {
                "parent_object": parent_object,
                "parent_record_id": parent_record_id,
                "title": title,
                "format": format,
                "content": content,
            }
        }
        return dict(await self._data("POST", "/notes", json=body))

    async def list_notes(
        self, *, parent_object: str | None = None, parent_record_id: str | None = None
    ) -> list[JSON]:
        """Notes, optionally those of one record."""
        params: dict[str, str | int] = {}
        if parent_object:
            params["parent_object"] = parent_object
        if parent_record_id:
            params["parent_record_id"] = parent_record_id
        return await collect(self._getter("/notes", params), page_size=50)

    async def delete_note(self, note_id: str) -> None:
        """Delete a note."""
        await self.request("DELETE", f"/notes/{note_id}")

    async def list_tasks(
        self, *, linked_object: str | None = None, linked_record_id: str | None = None
    ) -> list[JSON]:
        """Tasks, optionally those linked to one record."""
        params: dict[str, str | int] = {}
        if linked_object:
            params["linked_object"] = linked_object
        if linked_record_id:
            params["linked_record_id"] = linked_record_id
        return await collect(self._getter("/tasks", params), page_size=50)

    async def create_task(
        self,
        *,
        content: str,
        deadline_at: str | None = None,
        linked_records: Sequence[Mapping[str, str]] = (),
        assignees: Sequence[Mapping[str, str]] = (),
        is_completed: bool = False,
    ) -> JSON:
        """Create a task.  ``linked_records`` items are
        ``{"target_object": slug, "target_record_id": id}``; ``assignees``
        items are ``{"workspace_member_email_address": email}`` or
        ``{"referenced_actor_type": "workspace-member", "referenced_actor_id": id}``."""
        body = {
            "data": {
                "content": content,
                "format": "plaintext",
                "deadline_at": deadline_at,
                "is_completed": is_completed,
                "linked_records": [dict(item) for item in linked_records],
                "assignees": [dict(item) for item in assignees],
            }
        }
        return dict(await self._data("POST", "/tasks", json=body))

    async def get_task(self, task_id: str) -> JSON:
        """One task."""
        return dict(await self._data("GET", f"/tasks/{task_id}"))

    async def update_task(
        self,
        task_id: str,
        *,
        is_completed: bool | None = None,
        deadline_at: str | None = None,
        linked_records: Sequence[Mapping[str, str]] | None = None,
        assignees: Sequence[Mapping[str, str]] | None = None,
    ) -> JSON:
        """Change a task (Attio does not change its content); None leaves a field."""
        data: JSON = {}
        if is_completed is not None:
            data["is_completed"] = is_completed
        if deadline_at is not None:
            data["deadline_at"] = deadline_at
        if linked_records is not None:
            data["linked_records"] = [dict(item) for item in linked_records]
        if assignees is not None:
            data["assignees"] = [dict(item) for item in assignees]
        return dict(await self._data("PATCH", f"/tasks/{task_id}", json={"data": data}))

    async def delete_task(self, task_id: str) -> None:
        """Remove a task."""
        await self.request("DELETE", f"/tasks/{task_id}")

    # -- webhooks -----------------------------------------------------------------------

    async def create_webhook(
        self, *, target_url: str, subscriptions: Sequence[Mapping[str, Any]]
    ) -> JSON:
        """Register a webhook.  The answer carries its signing ``secret``, once."""
        body = {
            "data": {"target_url": target_url, "subscriptions": [dict(s) for s in subscriptions]}
        }
        return dict(await self._data("POST", "/webhooks", json=body))

    async def list_webhooks(self) -> list[JSON]:
        """Every webhook of the workspace (secrets are not included)."""
        return await collect(self._getter("/webhooks"), page_size=100)

    async def delete_webhook(self, webhook_id: str) -> None:
        """Remove a webhook."""
        await self.request("DELETE", f"/webhooks/{webhook_id}")


def _values(values: Values) -> dict[str, list[Any]]:
    """Attio takes every attribute's value as an array: send arrays."""
    return {slug: list(items) for slug, items in values.items()}


def _entry_body(parent_object: str, parent_record_id: str, entry_values: Values) -> JSON:
    return {
        "data": {
            "parent_record_id": parent_record_id,
            "parent_object": parent_object,
            "entry_values": _values(entry_values),
        }
    }


def _is_token(actor: Any) -> bool:
    return isinstance(actor, dict) and actor.get("type") == "api-token" and bool(actor.get("id"))


def _sent_attributes(body: Any) -> set[str] | None:
    """The attributes a write's JSON body gave values for (None: not a values write)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return None
    values = data.get("values") or data.get("entry_values")
    return {str(k) for k in values} if isinstance(values, dict) else None
