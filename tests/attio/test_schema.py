from __future__ import annotations

import pytest

from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.clock import VirtualClock
from attio_automate.errors import AttioAPIError
from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio


def schema_reads(fake: FakeAttio) -> int:
    return sum(
        1
        for r in fake.requests
        if r["path"] in ("/v2/objects", "/v2/lists") or r["path"].endswith("/attributes")
    )


async def test_slugs_and_ids_resolve_both_ways(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    cache = SchemaCache(attio_client)
    people = fake_attio.workspace.objects["people"]
    assert (await cache.object("people")).id == people.id
    assert (await cache.object(people.id)).slug == "people"
    sales = await cache.list(fake_attio.workspace.lists["sales"].id)
    assert (sales.slug, sales.parent_object) == ("sales", "people")

    email = people.attributes["email_addresses"]
    by_id = await cache.attribute("objects", people.id, email.id)
    assert (by_id.slug, by_id.type, by_id.is_multiselect, by_id.is_unique) == (
        "email_addresses",
        "email-address",
        True,
        True,
    )
    stage = await cache.attribute("lists", "sales", "stage")
    assert stage.type == "status"


async def test_lookups_are_cached_until_the_ttl(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    clock = VirtualClock()
    cache = SchemaCache(attio_client, ttl=60, clock=clock)
    await cache.attributes("objects", "people")
    first = schema_reads(fake_attio)
    await cache.attributes("objects", "people")
    await cache.object("deals")
    assert schema_reads(fake_attio) == first
    clock.advance(61)
    await cache.attributes("objects", "people")
    assert schema_reads(fake_attio) == first + 2  # objects and people's attributes again


async def test_invalidate_forgets_one_object(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    cache = SchemaCache(attio_client)
    await cache.attributes("objects", "people")
    await cache.attributes("objects", "companies")
    before = schema_reads(fake_attio)
    cache.invalidate("objects", "people")
    await cache.attributes("objects", "companies")
    await cache.attributes("objects", "people")
    # objects list reloaded once, people's attributes reloaded, companies' kept
    assert schema_reads(fake_attio) == before + 2


async def test_unknown_names_raise_attios_not_found(attio_client: AttioClient) -> None:
    cache = SchemaCache(attio_client)
    with pytest.raises(AttioAPIError) as caught:
        await cache.object("spaceships")
    assert (caught.value.status_code, caught.value.code) == (404, "not_found")
    with pytest.raises(AttioAPIError, match="nickname"):
        await cache.attribute("objects", "people", "nickname")
