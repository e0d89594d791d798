"""Lazy pagination over Attio's ``limit``/``offset`` endpoints."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import Any

JSON = dict[str, Any]
#: Fetches one page: (body or query parameters) -> the page's items.
FetchPage = Callable[[JSON], Awaitable[list[JSON]]]


async def paginate(
    fetch: FetchPage,
    *,
    filter: Mapping[str, Any] | None = None,
    sorts: Sequence[Mapping[str, Any]] | None = None,
    page_size: int,
    limit: int | None = None,
) -> AsyncGenerator[JSON, None]:
    """Yield items page by page; a page shorter than asked for is the last.

    Pages are fetched only as the caller iterates; ``limit`` caps the total
    and shrinks the last request to what is still needed.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    offset = 0
    while limit is None or offset < limit:
        size = page_size if limit is None else min(page_size, limit - offset)
        body: JSON = {"limit": size, "offset": offset}
        if filter:
            body["filter"] = dict(filter)
        if sorts:
            body["sorts"] = [dict(sort) for sort in sorts]
        page = await fetch(body)
        for item in page:
            yield item
        offset += len(page)
        if len(page) < size:
            return


async def collect(fetch: FetchPage, *, page_size: int) -> list[JSON]:
    """Every item, fetched with ``limit``/``offset`` until a short page."""
    return [item async for item in paginate(fetch, page_size=page_size)]
