"""An index of records by attribute value, for the fake's lookups by a
unique or matching attribute (asserts, uniqueness checks, record references).

Without it every write scanned every record of the object, and a workspace
of tens of thousands made the fake slow enough to stall the requests queued
behind one write: bursts at its rate limiter that no client sent.  Built
lazily per attribute on first use, then kept in step by the workspace's
writes and deletes.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from attio_automate.testing.fake import values
from attio_automate.testing.fake.model import JSON, Record


class ValueIndex:
    """Record ids by (object, attribute, value identity)."""

    def __init__(self) -> None:
        self._maps: dict[tuple[str, str], dict[Hashable, set[str]]] = {}

    def find(
        self, slug: str, attribute_id: str, keys: Iterable[Hashable], records: Iterable[Record]
    ) -> set[str]:
        """Ids of the records with any of ``keys`` as a current value."""
        found: set[str] = set()
        index = self._map(slug, attribute_id, records)
        for key in keys:
            found |= index.get(key, set())
        return found

    def records_with(
        self, slug: str, attribute_id: str, keys: Iterable[Hashable], records: dict[str, Record]
    ) -> list[Record]:
        """The records with any of ``keys`` in the order they were made (as a
        scan would meet them); one or none without looking at the rest."""
        ids = self.find(slug, attribute_id, keys, records.values())
        if len(ids) <= 1:
            return [records[i] for i in ids if i in records]
        return [record for record_id, record in records.items() if record_id in ids]

    def changed(
        self, slug: str, attribute_id: str, record_id: str, old: list[JSON], new: list[JSON]
    ) -> None:
        """A record's current values of one attribute went from ``old`` to ``new``."""
        index = self._maps.get((slug, attribute_id))
        if index is None:
            return  # not built yet: it will be, from the records as they are then
        for value in old:
            holders = index.get(values.identity(value))
            if holders is not None:
                holders.discard(record_id)
        for value in new:
            index.setdefault(values.identity(value), set()).add(record_id)

    def forget(self, slug: str, record: Record) -> None:
        """A record is gone."""
        for (indexed, attribute_id), index in self._maps.items():
            if indexed != slug:
                continue
            for value in record.current(attribute_id):
                holders = index.get(values.identity(value))
                if holders is not None:
                    holders.discard(record.id)

    def _map(
        self, slug: str, attribute_id: str, records: Iterable[Record]
    ) -> dict[Hashable, set[str]]:
        index = self._maps.get((slug, attribute_id))
        if index is None:
            index = {}
            for record in records:
                for value in record.current(attribute_id):
                    index.setdefault(values.identity(value), set()).add(record.id)
            self._maps[(slug, attribute_id)] = index
        return index
