"""Building signed Attio webhook deliveries, for tests and benchmarks."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from attio_automate.delivery import sign


def delivery(events: Sequence[Mapping[str, Any]], *, webhook_id: str = "webhook-test") -> bytes:
    """The body of one delivery carrying ``events``."""
    return json.dumps({"webhook_id": webhook_id, "events": list(events)}).encode()


def record_event(
    event_type: str,
    object_id: str,
    record_id: str,
    *,
    attribute_id: str | None = None,
    actor: Mapping[str, Any] | None = None,
    workspace_id: str = "workspace",
) -> dict[str, Any]:
    """One ``record.*`` event as Attio sends it."""
    ids = {"workspace_id": workspace_id, "object_id": object_id, "record_id": record_id}
    if attribute_id:
        ids["attribute_id"] = attribute_id
    return {
        "event_type": event_type,
        "id": ids,
        "actor": dict(actor or {"type": "workspace-member", "id": "member"}),
    }


def signed_headers(
    body: bytes, secret: str, *, idempotency_key: str | None = None, header: str = "Attio-Signature"
) -> dict[str, str]:
    """Headers for ``body``: the signature and, when given, the Idempotency-Key."""
    headers = {header: sign(body, secret), "Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers
