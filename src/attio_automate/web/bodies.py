"""Reading webhook bodies with bounds, since anyone can connect.

A body is read before its signature can be checked (the signature is over
the body), so an unauthenticated client decides how long a read takes and
how much it holds.  Three bounds keep that cheap:

- each body is at most ``max_body_bytes`` (413 as soon as it is passed);
- each body must arrive within ``body_seconds`` of the request (408), so a
  client sending a byte a second is cut off rather than held forever;
- all bodies being read at once hold at most ``max_buffered_bytes`` between
  them beyond their first :data:`SMALL_BODY` bytes each (503: Attio retries),
  so stalled clients can neither fill memory nor crowd small deliveries out.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from starlette.requests import Request

from attio_automate.delivery import WebhookRejected

#: Bytes of each body the shared budget does not count (a delivery's size).
SMALL_BODY = 64 * 1024


@dataclass
class BodyLimits:
    """The bounds, and how many bytes are buffered right now (shared)."""

    max_body_bytes: int
    body_seconds: float
    max_buffered_bytes: int
    buffered: int = 0

    async def read(self, request: Request) -> bytes:
        """The whole body, or :class:`WebhookRejected` (413, 408 or 503)."""
        limit = self.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise WebhookRejected(413, "too_large", f"body over {limit} bytes")
        chunks: list[bytes] = []
        held = counted = 0
        if declared is not None and declared.isdigit():
            # Reserve a declared big body's share before reading any of it: a
            # flood of them is refused at once instead of each being read
            # until the budget runs out.
            counted = max(int(declared) - SMALL_BODY, 0)
            if counted and self.buffered + counted > self.max_buffered_bytes:
                raise WebhookRejected(503, "busy", "too many bodies being received at once")
            self.buffered += counted
        try:
            with anyio.fail_after(self.body_seconds):
                async for chunk in request.stream():
                    held += len(chunk)
                    if held > limit:
                        raise WebhookRejected(413, "too_large", f"body over {limit} bytes")
                    # The first SMALL_BODY bytes of each body are not counted:
                    # Attio's deliveries are that small, so stalled big bodies
                    # can fill the budget but never crowd a real webhook out.
                    grown = max(held - SMALL_BODY - counted, 0)
                    counted += grown
                    self.buffered += grown
                    if self.buffered > self.max_buffered_bytes:
                        raise WebhookRejected(503, "busy", "too many bodies being received at once")
                    chunks.append(chunk)
        except TimeoutError:
            raise WebhookRejected(
                408, "body_timeout", f"the body did not arrive within {self.body_seconds:g}s"
            ) from None
        finally:
            self.buffered -= counted
        return b"".join(chunks)
