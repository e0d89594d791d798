"""Reading webhook bodies with bounds, since anyone can connect.

A body is read before its signature can be checked (the signature is over
the body), so an unauthenticated client decides how long a read takes and
how much it holds.  Three bounds keep that cheap:

- each body is at most ``max_body_bytes`` (413 as soon as it is passed);
- each body must arrive within ``body_seconds`` of the request (408), so a
  client sending a byte a second is cut off rather than held forever;
- all bodies being read at once hold at most ``max_buffered_bytes`` between
  them (503: Attio retries), so many stalled clients cannot fill memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from starlette.requests import Request

from attio_automate.delivery import WebhookRejected


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
        held = 0
        try:
            with anyio.fail_after(self.body_seconds):
                async for chunk in request.stream():
                    held += len(chunk)
                    self.buffered += len(chunk)
                    if held > limit:
                        raise WebhookRejected(413, "too_large", f"body over {limit} bytes")
                    if self.buffered > self.max_buffered_bytes:
                        raise WebhookRejected(503, "busy", "too many bodies being received at once")
                    chunks.append(chunk)
        except TimeoutError:
            raise WebhookRejected(
                408, "body_timeout", f"the body did not arrive within {self.body_seconds:g}s"
            ) from None
        finally:
            self.buffered -= held
        return b"".join(chunks)
