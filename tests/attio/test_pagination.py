from __future__ import annotations

from typing import Any

import pytest

from attio_automate.attio.client import AttioClient
from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio


async def add_companies(attio: AttioClient, count: int) -> None:
    for n in range(count):
        await attio.create_record("companies", {"name": [{"value": f"Company {n:02d}"}]})


def queries(fake: FakeAttio) -> list[dict[str, Any]]:
    return [r["body"] for r in fake.requests if r["path"].endswith("/records/query")]


@pytest.mark.parametrize(
    ("count", "page_size", "pages"),
    [(0, 5, 1), (4, 5, 1), (5, 5, 2), (6, 5, 2), (10, 5, 3), (11, 5, 3)],
)
async def test_pages_until_a_short_page(
    fake_attio: FakeAttio, attio_client: AttioClient, count: int, page_size: int, pages: int
) -> None:
    await add_companies(attio_client, count)
    names = [
        r["values"]["name"][0]["value"]
        async for r in attio_client.query_records(
            "companies", page_size=page_size, sorts=[{"attribute": "name", "direction": "asc"}]
        )
    ]
    assert names == [f"Company {n:02d}" for n in range(count)]
    sent = queries(fake_attio)
    assert len(sent) == pages
    assert [q["offset"] for q in sent] == [page_size * n for n in range(pages)]


async def test_limit_stops_early_and_asks_only_for_what_is_needed(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    await add_companies(attio_client, 12)
    got = [r async for r in attio_client.query_records("companies", page_size=5, limit=7)]
    assert len(got) == 7
    assert [(q["limit"], q["offset"]) for q in queries(fake_attio)] == [(5, 0), (2, 5)]


async def test_pagination_is_lazy(fake_attio: FakeAttio, attio_client: AttioClient) -> None:
    await add_companies(attio_client, 12)
    pages = attio_client.query_records("companies", page_size=5)
    first = await anext(pages)
    assert first["values"]["name"]
    assert len(queries(fake_attio)) == 1
    await pages.aclose()


async def test_filters_are_sent_and_applied(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    await add_companies(attio_client, 3)
    found = [
        r
        async for r in attio_client.query_records("companies", filter={"name": {"$contains": "01"}})
    ]
    assert [r["values"]["name"][0]["value"] for r in found] == ["Company 01"]
    assert queries(fake_attio)[0]["filter"] == {"name": {"$contains": "01"}}


async def test_page_size_must_be_positive(attio_client: AttioClient) -> None:
    with pytest.raises(ValueError, match="page_size"):
        async for _ in attio_client.query_records("companies", page_size=0):
            pass
