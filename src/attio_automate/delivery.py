"""Verifying and splitting Attio webhook deliveries: a pure function of
headers and body (no server needed to test it)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator

from attio_automate.events import AttioEvent
from attio_automate.store.base import NewEvent

SIGNATURE_HEADERS = ("attio-signature", "x-attio-signature")

#: The delivery envelope; each event's own fields beyond these are kept as sent.
ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "webhook_id": {"type": "string"},
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "event_type": {"type": "string", "minLength": 1},
                    "id": {"type": "object"},
                    "actor": {"type": ["object", "null"]},
                },
                "required": ["event_type", "id"],
            },
        },
    },
    "required": ["events"],
}
_ENVELOPE = Draft202012Validator(ENVELOPE_SCHEMA)


class WebhookRejected(Exception):
    """A delivery refused with ``status`` (401, 400, 413); ``reason`` is a metric label."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        super().__init__(message)


def _envelope_ok(payload: object) -> bool:
    """:data:`ENVELOPE_SCHEMA`, checked by hand: the hot path of every delivery.
    ``tests/web/test_receiver.py`` keeps the two in agreement."""
    if not isinstance(payload, dict):
        return False
    webhook_id = payload.get("webhook_id")
    events = payload.get("events")
    if "webhook_id" in payload and not isinstance(webhook_id, str):
        return False
    if not isinstance(events, list):
        return False
    for event in events:
        if not isinstance(event, dict):
            return False
        event_type = event.get("event_type")
        if not isinstance(event_type, str) or not event_type:
            return False
        if not isinstance(event.get("id"), dict):
            return False
        if "actor" in event and not (event["actor"] is None or isinstance(event["actor"], dict)):
            return False
    return True


#: A JSON escape of a surrogate: worth a closer look (a lone one cannot be stored).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> Any:
    """``body`` as JSON that every store can keep, or :class:`WebhookRejected` (400).

    Python's parser takes more than JSON and more than the stores do:
    ``NaN`` and ``Infinity`` (not JSON; a trace holding one cannot be served
    back as JSON), ``\\u0000`` and lone surrogates (PostgreSQL's JSONB
    refuses them, which would fail every delivery committed beside this one),
    and nesting deep enough to exhaust the interpreter's stack.  All are
    refused here, before anything is stored.
    """
    try:
        payload = json.loads(body, parse_constant=_no_constants)
    except RecursionError:
        raise WebhookRejected(400, "malformed_json", "the JSON is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected(400, "malformed_json", "the body is not valid JSON") from None
    # Only a body with such an escape can hold such a string: the walk is rare.
    if (b"\\u0000" in body or _SURROGATE_ESCAPE.search(body)) and not _storable(payload):
        raise WebhookRejected(
            400, "malformed_json", "the JSON holds a \\u0000 character or a lone surrogate"
        )
    return payload


def _storable(value: Any) -> bool:
    """Whether every string in ``value`` is Unicode every store keeps: no NUL
    character, no lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def signature_valid(body: bytes, signature: str | None, secrets: Sequence[str]) -> bool:
    """Whether ``signature`` is the hex HMAC-SHA256 of ``body`` under any secret.

    Every secret is compared, in constant time, so rotation works and timing
    says nothing about which secret (or how much of it) matched.
    """
    if not signature or not secrets:
        return False
    candidate = signature.strip().lower().encode()
    matched = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def sign(body: bytes, secret: str) -> str:
    """The signature Attio sends for ``body`` (for tests and the fake Attio)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse_delivery(
    headers: Mapping[str, str], body: bytes, *, secrets: Sequence[str], received_at: float
) -> list[NewEvent]:
    """The events of a delivery, keyed for the inbox; raise :class:`WebhookRejected`.

    Key: ``Idempotency-Key`` (the same across Attio's retries) plus ``:index``;
    without the header, a hash of the body plus the index.
    """
    signature = next((headers[h] for h in SIGNATURE_HEADERS if h in headers), None)
    if not signature_valid(body, signature, secrets):
        reason = "missing_signature" if signature is None else "bad_signature"
        raise WebhookRejected(401, reason, "invalid or missing webhook signature")
    payload = parse_json(body)
    if not _envelope_ok(payload):
        # The schema is the rule; it is asked only to say what is wrong.
        error = next(iter(_ENVELOPE.iter_errors(payload)), None)
        where = "/".join(str(p) for p in error.absolute_path) if error else ""
        message = error.message if error else "not a delivery envelope"
        raise WebhookRejected(400, "invalid_envelope", f"{where or 'body'}: {message}")
    base = headers.get("idempotency-key") or hashlib.sha256(body).hexdigest()[:32]
    webhook_id = payload.get("webhook_id")
    events = []
    for index, raw in enumerate(payload["events"]):
        event = AttioEvent.from_json(raw)
        events.append(
            NewEvent(
                key=f"{base}:{index}",
                ordering_key=event.ordering_key,
                event_type=event.event_type,
                payload=raw,
                webhook_id=webhook_id if isinstance(webhook_id, str) else None,
                received_at=received_at,
            )
        )
    return events
