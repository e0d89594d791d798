"""Services for plugin authors: contacts, pipelines and activity, typed.

Plain Python values in, typed results out (:mod:`.types`); Attio's value
arrays stay inside.  Inside ``handle_event`` reach them from the event
(``event.contacts``, ``event.pipeline``, ``event.activity``): reads go
through the record cache and writes become planned actions (keyed, run once,
traced, dry-runnable).  Outside the runner, :func:`connect` gives the same
services, acting at once, on a client of their own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from attio_automate.attio.client import DEFAULT_BASE_URL, AttioClient, ClientSettings
from attio_automate.attio.schema import SchemaCache
from attio_automate.cache.records import RecordReader, open_cache
from attio_automate.services.activity import Activity
from attio_automate.services.contacts import Contacts
from attio_automate.services.pipeline import Pipeline
from attio_automate.services.types import (
    Company,
    Entry,
    Note,
    Person,
    Record,
    StageChange,
    Task,
)


@dataclass(frozen=True)
class Services:
    """The three services over one client."""

    contacts: Contacts
    pipeline: Pipeline
    activity: Activity

    @classmethod
    def over(
        cls, attio: AttioClient, schema: SchemaCache, records: RecordReader | None = None
    ) -> Services:
        """Services on ``attio``, reading records through ``records``."""
        records = records or RecordReader(attio)
        return cls(
            Contacts(attio, schema, records), Pipeline(attio, schema, records), Activity(attio)
        )


@contextlib.asynccontextmanager
async def connect(
    *,
    api_key: str,
    base_url: str = DEFAULT_BASE_URL,
    cache_ttl: float = 10.0,
) -> AsyncIterator[Services]:
    """Services on a client of their own (scripts, notebooks, jobs), paced to
    Attio's limits, with a record cache of ``cache_ttl`` seconds in memory::

        async with connect(api_key=os.environ["ATTIO_API_KEY"]) as attio:
            person = await attio.contacts.upsert_person("ada@example.com", name="Ada")
    """
    async with AttioClient(api_key=api_key, settings=ClientSettings(base_url=base_url)) as client:
        cache = open_cache(None, ttl=cache_ttl)
        try:
            yield Services.over(client, SchemaCache(client), RecordReader(client, cache))
        finally:
            if cache is not None:
                await cache.close()


__all__ = [
    "Activity",
    "Company",
    "Contacts",
    "Entry",
    "Note",
    "Person",
    "Pipeline",
    "Record",
    "Services",
    "StageChange",
    "Task",
    "connect",
]
