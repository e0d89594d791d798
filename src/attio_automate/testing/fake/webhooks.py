"""Webhooks of the fake workspace: subscriptions, and signed deliveries like Attio's.

Every change the workspace makes (through its API or directly) becomes an
event; each webhook whose subscriptions match gets a delivery: a POST of
``{"webhook_id", "events": [event]}`` signed with the webhook's secret
(``Attio-Signature``, hex HMAC-SHA256 of the body) and carrying an
``Idempotency-Key`` that stays the same across retries.  Non-2xx answers and
connection failures are retried with backoff.

Deliveries are sent by :meth:`WebhookHub.run`, which whoever serves the fake
runs (the ``fake-attio`` command does; in-process users start it themselves).
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from attio_automate.delivery import sign
from attio_automate.events import EVENT_TYPES
from attio_automate.testing.fake.model import JSON, FakeAttioError, new_id, not_found
from attio_automate.testing.fake.workspace import Workspace
from attio_automate.testing.webhooks import delivery

log = logging.getLogger("attio_automate.fake.webhooks")

_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass
class Webhook:
    id: str
    target_url: str
    subscriptions: list[JSON]
    secret: str
    created_at: str
    status: str = "active"


@dataclass
class Delivery:
    webhook_id: str
    body: bytes
    key: str
    attempts: int = 0
    due: float = 0.0


@dataclass
class WebhookHub:
    """Webhook registrations and the deliveries waiting to go out."""

    workspace: Workspace
    clock: Callable[[], float] = time.time
    backoff: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    queue: list[Delivery] = field(default_factory=list)
    #: Every attempt: (webhook id, idempotency key, status or error).
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    _wake: anyio.Event = field(default_factory=anyio.Event)
    _sending: int = 0

    def __post_init__(self) -> None:
        self.workspace.listeners.append(self.on_event)

    # -- management ---------------------------------------------------------------------

    def create(self, data: Any) -> Webhook:
        if not isinstance(data, dict):
            raise FakeAttioError(400, "validation_type", "data must be an object.")
        url = data.get("target_url")
        if not isinstance(url, str) or not _acceptable(url):
            raise FakeAttioError(
                400, "validation_type", "target_url must be https:// (or http:// on loopback)."
            )
        subscriptions = _subscriptions(data.get("subscriptions"))
        webhook = Webhook(
            id=new_id(),
            target_url=url,
            subscriptions=subscriptions,
            secret=secrets.token_hex(32),
            created_at=self.workspace.now(),
        )
        self.webhooks[webhook.id] = webhook
        return webhook

    def update(self, webhook_id: str, data: Any) -> Webhook:
        webhook = self.get(webhook_id)
        if not isinstance(data, dict):
            raise FakeAttioError(400, "validation_type", "data must be an object.")
        if "target_url" in data:
            if not isinstance(data["target_url"], str) or not _acceptable(data["target_url"]):
                raise FakeAttioError(400, "validation_type", "target_url must be https://.")
            webhook.target_url = data["target_url"]
        if "subscriptions" in data:
            webhook.subscriptions = _subscriptions(data["subscriptions"])
        return webhook

    def get(self, webhook_id: str) -> Webhook:
        webhook = self.webhooks.get(webhook_id)
        if webhook is None:
            raise not_found("Webhook", webhook_id)
        return webhook

    def delete(self, webhook_id: str) -> None:
        self.get(webhook_id)
        del self.webhooks[webhook_id]

    def view(self, webhook: Webhook, *, with_secret: bool = False) -> JSON:
        data: JSON = {
            "target_url": webhook.target_url,
            "subscriptions": webhook.subscriptions,
            "id": {"workspace_id": self.workspace.id, "webhook_id": webhook.id},
            "status": webhook.status,
            "created_at": webhook.created_at,
        }
        if with_secret:
            data["secret"] = webhook.secret
        return data

    # -- emission -----------------------------------------------------------------------

    def on_event(self, event: JSON) -> None:
        """A workspace listener: queue a delivery per matching webhook."""
        for webhook in self.webhooks.values():
            if any(_matches(s, event) for s in webhook.subscriptions):
                self.queue.append(
                    Delivery(
                        webhook.id,
                        delivery([event], webhook_id=webhook.id),
                        key=str(uuid.uuid4()),
                        due=self.clock(),
                    )
                )
        self._wake.set()

    async def run(self, *, client: httpx.AsyncClient | None = None, idle: float = 0.05) -> None:
        """Send due deliveries forever (until cancelled)."""
        own = client is None
        http = client or httpx.AsyncClient(timeout=10.0)
        try:
            while True:
                await self.send_due(http)
                waits = [d.due - self.clock() for d in self.queue]
                with anyio.move_on_after(max(min(waits), 0.0) if waits else idle):
                    await self._wake.wait()
                self._wake = anyio.Event()
        finally:
            if own:
                await http.aclose()

    async def send_due(self, http: httpx.AsyncClient) -> None:
        """Send every delivery that is due now, oldest first."""
        now = self.clock()
        due = [d for d in self.queue if d.due <= now]
        for item in due:
            self.queue.remove(item)
            webhook = self.webhooks.get(item.webhook_id)
            if webhook is None:
                continue
            headers = {
                "Content-Type": "application/json",
                "Idempotency-Key": item.key,
                "Attio-Signature": sign(item.body, webhook.secret),
            }
            self._sending += 1
            try:
                answer = await http.post(webhook.target_url, content=item.body, headers=headers)
                outcome = str(answer.status_code)
                ok = answer.is_success
            except httpx.HTTPError as exc:
                outcome, ok = type(exc).__name__, False
            finally:
                self._sending -= 1
            self.sent.append((webhook.id, item.key, outcome))
            if not ok:
                item.attempts += 1
                if item.attempts <= len(self.backoff):
                    item.due = self.clock() + self.backoff[item.attempts - 1]
                    self.queue.append(item)
                else:
                    webhook.status = "degraded"
                    log.warning(
                        "webhook %s: gave up on a delivery after %d attempts",
                        webhook.id,
                        item.attempts,
                    )

    @property
    def pending(self) -> int:
        """Deliveries waiting or on their way."""
        return len(self.queue) + self._sending


def _acceptable(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.netloc:
        return True
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK


def _subscriptions(raw: Any) -> list[JSON]:
    if not isinstance(raw, list) or not raw:
        raise FakeAttioError(400, "validation_type", "subscriptions must be a non-empty list.")
    found = []
    for item in raw:
        if not isinstance(item, dict) or item.get("event_type") not in EVENT_TYPES:
            raise FakeAttioError(
                400, "validation_type", f"unknown event_type in subscription {item!r}."
            )
        found.append({"event_type": item["event_type"], "filter": item.get("filter")})
    return found


def _matches(subscription: JSON, event: JSON) -> bool:
    if subscription["event_type"] != event["event_type"]:
        return False
    condition = subscription.get("filter")
    if not condition:
        return True
    combine = all if "$and" in condition else any
    return combine(
        _holds(part, event) for part in condition.get("$and") or condition.get("$or") or []
    )


def _holds(part: JSON, event: JSON) -> bool:
    value: Any = event
    for key in str(part.get("field", "")).split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if part.get("operator") == "not_equals":
        return bool(value != part.get("value"))
    return bool(value == part.get("value"))
