"""Pipelines: lists with a ``stage`` status; add, move, and look back."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.cache.records import ENTRY, RecordReader
from attio_automate.services.refs import EntryLike, RecordLike, entry_of, record_of, write_values
from attio_automate.services.types import Entry, StageChange, moment

STAGE = "stage"


class Pipeline:
    """Records in lists, by stage."""

    def __init__(
        self, attio: AttioClient, schema: SchemaCache, records: RecordReader | None = None
    ) -> None:
        self.attio = attio
        self.schema = schema
        self.records = records or RecordReader(attio)

    async def add(
        self,
        record: RecordLike,
        list: str,
        stage: str | None = None,
        *,
        values: Mapping[str, Any] | None = None,
        once: bool = True,
    ) -> Entry:
        """Put ``record`` in ``list`` (at ``stage``); with ``once``, a record
        already there keeps its one entry, updated."""
        obj, record_id = record_of(record)
        simple = dict(values or {})
        if stage is not None:
            simple[STAGE] = stage
        written = await write_values(self.schema, "lists", list, simple)
        add = self.attio.assert_entry if once else self.attio.create_entry
        data = await add(list, parent_object=obj, parent_record_id=record_id, entry_values=written)
        entry = await Entry.of(data, list, self.schema)
        await self.records.forget(ENTRY, entry.entry_id)
        return entry

    async def move(self, entry: EntryLike, stage: str) -> Entry:
        """Set the entry's stage."""
        return await self.update(entry, {STAGE: stage})

    async def update(
        self, entry: EntryLike, values: Mapping[str, Any], *, overwrite: bool = False
    ) -> Entry:
        """Change some of an entry's values (``overwrite`` replaces multiselect ones)."""
        lst, entry_id = entry_of(entry)
        written = await write_values(self.schema, "lists", lst, values)
        data = await self.attio.update_entry(lst, entry_id, written, overwrite=overwrite)
        await self.records.forget(ENTRY, entry_id)
        return await Entry.of(data, lst, self.schema)

    async def get(self, list: str, entry_id: str) -> Entry:
        """An entry by id, through the record cache."""
        return await Entry.of(await self.records.entry(list, entry_id), list, self.schema)

    async def entries_for(
        self, record: RecordLike, list: str | None = None
    ) -> builtins.list[Entry]:
        """The record's entries (in ``list`` only, when given)."""
        obj, record_id = record_of(record)
        wanted = (await self.schema.list(list)).slug if list is not None else None
        found = []
        for item in await self.attio.record_entries(obj, record_id):
            slug = item.get("list_api_slug")
            if not isinstance(slug, str) or (wanted is not None and slug != wanted):
                continue
            found.append(await self.get(slug, str(item["entry_id"])))
        return found

    async def stage_history(self, entry: EntryLike) -> builtins.list[StageChange]:
        """Every stage the entry has been in, oldest first."""
        lst, entry_id = entry_of(entry)
        values = await self.attio.entry_attribute_values(lst, entry_id, STAGE, show_historic=True)
        changes = [
            StageChange(
                stage=str((value.get("status") or {}).get("title", "")),
                active_from=moment(value.get("active_from")),
                active_until=moment(value.get("active_until")),
                changed_by=value.get("created_by_actor") or {},
            )
            for value in values
        ]
        return sorted(changes, key=lambda c: c.active_from.timestamp() if c.active_from else 0.0)
