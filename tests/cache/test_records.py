"""Reading through the cache: hits save Attio reads, an event's own record is
never older than the event, and a webhook naming a record makes it stale."""

from __future__ import annotations

import time
from typing import Any

import pytest

from attio_automate.attio.client import AttioClient
from attio_automate.cache.backend import MemoryBackend
from attio_automate.cache.records import RecordCache, RecordReader, invalidated_by, open_cache
from attio_automate.metrics import Metrics
from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio


def record_reads(fake: FakeAttio) -> int:
    return sum(1 for r in fake.requests if r["method"] == "GET" and "/records/" in r["path"])


async def person(attio: AttioClient, title: str) -> str:
    created = await attio.create_record(
        "people",
        {"email_addresses": ["ada@example.com"], "job_title": [{"value": title}]},
    )
    record_id: str = created["id"]["record_id"]
    return record_id


def title_of(record: dict[str, Any]) -> str:
    return str(record["values"]["job_title"][0]["value"])


async def test_a_second_read_is_a_hit(fake_attio: FakeAttio, attio_client: AttioClient) -> None:
    metrics = Metrics()
    reader = RecordReader(attio_client, RecordCache(MemoryBackend(ttl=60), metrics=metrics))
    record_id = await person(attio_client, "Engineer")
    first = await reader.record("people", record_id)
    second = await reader.record("people", record_id)
    assert first == second
    assert record_reads(fake_attio) == 1
    hits = metrics.cache_lookups.labels(outcome="hit", kind="record")._value.get()
    misses = metrics.cache_lookups.labels(outcome="miss", kind="record")._value.get()
    assert (hits, misses) == (1, 1)


async def test_an_event_never_sees_a_copy_older_than_itself(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    reader = RecordReader(attio_client, RecordCache(MemoryBackend(ttl=60)))
    record_id = await person(attio_client, "Engineer")
    await reader.record("people", record_id)
    # The record changes and the event about it arrives; its invalidation
    # has not reached this runner (another runner received it).
    await attio_client.update_record("people", record_id, {"job_title": [{"value": "CTO"}]})
    received_at = time.time()
    seen = await reader.record("people", record_id, not_before=received_at)
    assert title_of(seen) == "CTO"
    # Other readers (no event of theirs) may still use the copy now cached.
    assert title_of(await reader.record("people", record_id)) == "CTO"
    assert record_reads(fake_attio) == 2


async def test_a_webhook_naming_the_record_makes_it_stale(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    cache = RecordCache(MemoryBackend(ttl=300))
    reader = RecordReader(attio_client, cache)
    record_id = await person(attio_client, "Engineer")
    assert title_of(await reader.record("people", record_id)) == "Engineer"
    await attio_client.update_record("people", record_id, {"job_title": [{"value": "CTO"}]})
    payload = {"event_type": "record.updated", "id": {"record_id": record_id}}
    await cache.invalidate(invalidated_by(payload))
    assert title_of(await reader.record("people", record_id)) == "CTO"


def test_what_each_event_invalidates() -> None:
    def keys(event_type: str, **ids: str) -> list[str]:
        return invalidated_by({"event_type": event_type, "id": ids})

    assert keys("record.updated", record_id="r", attribute_id="a") == ["record:r"]
    assert keys("record.merged", record_id="r", duplicate_record_id="d") == [
        "record:r",
        "record:d",
    ]
    assert keys("list-entry.deleted", list_id="l", entry_id="e") == ["entry:e"]
    assert keys("note.created", note_id="n", parent_record_id="r") == []
    assert invalidated_by({"event_type": "record.created", "id": "nonsense"}) == []


def test_a_ttl_of_zero_turns_the_cache_off() -> None:
    assert open_cache(None, ttl=0) is None
    assert open_cache(None, ttl=10) is not None
