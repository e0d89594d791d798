"""Reading a mirror's pages ahead of the comparing, in order, and taking
them as they queue up.

A reconcile asks for several pages at once (about RECORDS_AHEAD records),
so round trips do not set the pace, and hands them on in order.  Pages that
queue up while earlier ones are compared are taken together (at most
BATCH_RECORDS records).  A page that failed is handed on in its turn, after
the pages before it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

#: Records requested ahead of the page being compared: enough pages in
#: flight that round trips do not set the pace, few enough records that
#: memory stays flat.
RECORDS_AHEAD = 2000
#: Records at most compared in one transaction when pages queue up.
BATCH_RECORDS = 500

#: (offset, the page's records or entries, when the page was asked for)
Page = tuple[int, list[dict[str, Any]], datetime]
#: A page's records from its offset.
FetchPage = Callable[[int], Awaitable[list[dict[str, Any]]]]


def pages_ahead(page_size: int) -> int:
    """Pages in flight: RECORDS_AHEAD of records, between 2 and 16 pages."""
    return min(16, max(2, RECORDS_AHEAD // page_size))


async def read_pages(
    fetch: FetchPage,
    *,
    start: int,
    size: int,
    ahead: int,
    now: Callable[[], datetime],
    send: MemoryObjectSendStream[Page | Exception],
) -> None:
    """Send (offset, page, when it was asked for) in order from ``start``,
    with ``ahead`` requests out at once; stop after a short page."""
    arrived: dict[int, tuple[list[dict[str, Any]], datetime] | Exception] = {}
    signals: dict[int, anyio.Event] = {}

    async def one(offset: int) -> None:
        asked = now()
        try:
            page = await fetch(offset)
        except Exception as exc:
            # Raised in its turn: the pages before it are compared and
            # checkpointed first.
            arrived[offset] = exc
        else:
            arrived[offset] = (page, asked)
        signals[offset].set()

    async with send, anyio.create_task_group() as tasks:
        launched = wanted = start
        while True:
            while launched < wanted + ahead * size:
                signals[launched] = anyio.Event()
                tasks.start_soon(one, launched)
                launched += size
            await signals[wanted].wait()
            del signals[wanted]
            result = arrived.pop(wanted)
            if isinstance(result, Exception):
                # The consumer raises it after the pages before it.
                await send.send(result)
                tasks.cancel_scope.cancel()
                return
            page, asked = result
            await send.send((wanted, page, asked))
            if len(page) < size:
                # Requests past the end were speculative: not waited for.
                tasks.cancel_scope.cancel()
                return
            wanted += size


def arrived(
    first: Page | Exception, receive: MemoryObjectReceiveStream[Page | Exception]
) -> tuple[list[Page], Exception | None]:
    """``first`` and the pages already waiting behind it (up to
    BATCH_RECORDS records), and a failure among them if there is one.

    Pages that arrived while the last ones were compared are compared
    together, in one transaction with one checkpoint: a reconcile that fell
    behind its reads (a busy machine) catches up instead of paying a commit
    and a checkpoint for every page.
    """
    pages: list[Page] = []
    records = 0
    item = first
    while True:
        if isinstance(item, Exception):
            # Raised after the pages before it are kept.
            return pages, item
        pages.append(item)
        records += len(item[1])
        if records >= BATCH_RECORDS:
            return pages, None
        try:
            item = receive.receive_nowait()
        except (anyio.WouldBlock, anyio.EndOfStream):
            return pages, None
