"""People and companies: find, upsert, link, and get (through the cache)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import SchemaCache
from attio_automate.cache.records import RECORD, RecordReader
from attio_automate.services.refs import RecordLike, record_of, write_values
from attio_automate.services.types import Company, Person, Record

PEOPLE, COMPANIES = "people", "companies"
JSON = dict[str, Any]


class Contacts:
    """People and companies, as plain values in and typed records out."""

    def __init__(
        self, attio: AttioClient, schema: SchemaCache, records: RecordReader | None = None
    ) -> None:
        self.attio = attio
        self.schema = schema
        self.records = records or RecordReader(attio)

    async def get(self, object: str, record_id: str) -> Record:
        """A record by id, through the record cache (a :class:`Person` or
        :class:`Company` for those objects)."""
        data = await self.records.record(object, record_id)
        return await _typed(object).of(data, object, self.schema)

    async def find_by_email(self, email: str) -> Person | None:
        """The person with this email address, if there is one."""
        found = await self._first(PEOPLE, {"email_addresses": email.strip().lower()})
        return found if isinstance(found, Person) else None

    async def find_company_by_domain(self, domain: str) -> Company | None:
        """The company with this domain, if there is one."""
        found = await self._first(COMPANIES, {"domains": domain.strip().lower()})
        return found if isinstance(found, Company) else None

    async def upsert_person(
        self, email: str, *, name: str | None = None, values: Mapping[str, Any] | None = None
    ) -> Person:
        """Create the person with this email address, or update them."""
        simple = {**(values or {}), "email_addresses": [email]}
        if name is not None:
            simple["name"] = name
        data = await self._assert(PEOPLE, "email_addresses", simple)
        return await Person.of(data, PEOPLE, self.schema)

    async def upsert_company(
        self, domain: str, *, name: str | None = None, values: Mapping[str, Any] | None = None
    ) -> Company:
        """Create the company with this domain, or update it."""
        simple = {**(values or {}), "domains": [domain]}
        if name is not None:
            simple["name"] = name
        data = await self._assert(COMPANIES, "domains", simple)
        return await Company.of(data, COMPANIES, self.schema)

    async def link_person_to_company(self, person: RecordLike, company: RecordLike) -> Person:
        """Set the person's company."""
        _, person_id = record_of(person)
        _, company_id = record_of(company)
        data = await self._update(PEOPLE, person_id, {"company": company_id}, overwrite=False)
        return await Person.of(data, PEOPLE, self.schema)

    async def update(
        self, object: str, record_id: str, values: Mapping[str, Any], *, overwrite: bool = False
    ) -> Record:
        """Change some of a record's values."""
        data = await self._update(object, record_id, values, overwrite=overwrite)
        return await _typed(object).of(data, object, self.schema)

    async def upsert(
        self, object: str, matching_attribute: str, values: Mapping[str, Any]
    ) -> Record:
        """Create or update the record matched by ``matching_attribute``."""
        data = await self._assert(object, matching_attribute, values)
        return await _typed(object).of(data, object, self.schema)

    async def _assert(self, object: str, matching: str, values: Mapping[str, Any]) -> JSON:
        written = await write_values(self.schema, "objects", object, values)
        data = await self.attio.assert_record(object, matching_attribute=matching, values=written)
        # Our own write: the copy cached before it is stale now.
        await self.records.forget(RECORD, str(data["id"]["record_id"]))
        return data

    async def _update(
        self, object: str, record_id: str, values: Mapping[str, Any], *, overwrite: bool
    ) -> JSON:
        written = await write_values(self.schema, "objects", object, values)
        data = await self.attio.update_record(object, record_id, written, overwrite=overwrite)
        await self.records.forget(RECORD, record_id)
        return data

    async def _first(self, object: str, filter: Mapping[str, Any]) -> Record | None:
        async for data in self.attio.query_records(object, filter=filter, limit=1):
            return await _typed(object).of(data, object, self.schema)
        return None


def _typed(object: str) -> type[Record]:
    return {PEOPLE: Person, COMPANIES: Company}.get(object, Record)
