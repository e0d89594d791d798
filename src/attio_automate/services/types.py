"""What the services return: plain, typed views of Attio's objects.

Values are simplified (an email address is a string, a status its title, a
record reference ``{"object", "record_id"}``); Attio's own value arrays stay
in ``raw`` for whoever needs ``active_from`` or the actor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from attio_automate.attio.schema import SchemaCache
from attio_automate.attio.values import simplify_values

JSON = dict[str, Any]
R = TypeVar("R", bound="Record")


def _first(value: Any) -> str | None:
    """The first of a multiselect value (or the value), as text."""
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value is not None else None


def moment(text: Any) -> datetime | None:
    """Attio's timestamp as an aware datetime (None for none)."""
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Record:
    """A record: its object, id and simplified values (``record["job_title"]``)."""

    object: str
    record_id: str
    values: Mapping[str, Any] = field(default_factory=dict)
    web_url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __getitem__(self, slug: str) -> Any:
        return self.values[slug]

    def get(self, slug: str, default: Any = None) -> Any:
        """A simplified value, or ``default`` when the record has none."""
        value = self.values.get(slug)
        return default if value is None or value == [] else value

    @classmethod
    async def of(cls: type[R], data: Mapping[str, Any], object: str, schema: SchemaCache) -> R:
        """From Attio's record object (attribute types from ``schema``)."""
        attributes = (await schema.attributes("objects", object)).by_slug
        return cls(
            object=object,
            record_id=str(data["id"]["record_id"]),
            values=simplify_values(data.get("values", {}), attributes),
            web_url=data.get("web_url"),
            raw=data.get("values", {}),
        )


@dataclass(frozen=True)
class Person(Record):
    """A record of ``people``."""

    @property
    def email(self) -> str | None:
        """The first email address."""
        return _first(self.get("email_addresses"))

    @property
    def name(self) -> str | None:
        """The full name."""
        name = self.get("name")
        return name.get("full_name") if isinstance(name, Mapping) else name

    @property
    def company_id(self) -> str | None:
        """The record id of the person's company."""
        company = self.get("company")
        return company.get("record_id") if isinstance(company, Mapping) else None


@dataclass(frozen=True)
class Company(Record):
    """A record of ``companies``."""

    @property
    def domain(self) -> str | None:
        """The first domain."""
        return _first(self.get("domains"))

    @property
    def name(self) -> str | None:
        """The company's name."""
        name = self.get("name")
        return str(name) if name is not None else None


@dataclass(frozen=True)
class Entry:
    """A list entry: the list, its id, its parent record and simplified values."""

    list: str
    entry_id: str
    parent_object: str
    parent_record_id: str
    values: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def stage(self) -> str | None:
        """The ``stage`` status's title, for pipelines."""
        stage = self.values.get("stage")
        return stage if isinstance(stage, str) else None

    @classmethod
    async def of(cls, data: Mapping[str, Any], list: str, schema: SchemaCache) -> Entry:
        info = await schema.list(list)
        attributes = (await schema.attributes("lists", info.slug)).by_slug
        return cls(
            list=info.slug,
            entry_id=str(data["id"]["entry_id"]),
            parent_object=info.parent_object,
            parent_record_id=str(data.get("parent_record_id", "")),
            values=simplify_values(data.get("entry_values", {}), attributes),
            raw=data.get("entry_values", {}),
        )


@dataclass(frozen=True)
class StageChange:
    """One stage an entry was in, from when until when (None: still)."""

    stage: str
    active_from: datetime | None
    active_until: datetime | None
    changed_by: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Note:
    """A note on a record."""

    note_id: str
    parent_object: str
    parent_record_id: str
    title: str
    content: str
    created_at: datetime | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Note:
        return cls(
            note_id=str(data["id"]["note_id"]),
            parent_object=str(data.get("parent_object", "")),
            parent_record_id=str(data.get("parent_record_id", "")),
            title=str(data.get("title", "")),
            content=str(data.get("content_markdown") or data.get("content_plaintext") or ""),
            created_at=moment(data.get("created_at")),
        )


@dataclass(frozen=True)
class Task:
    """A task: content, deadline, completion, linked records and assignees."""

    task_id: str
    content: str
    deadline: datetime | None = None
    is_completed: bool = False
    completed_at: datetime | None = None
    #: Record ids the task is linked to.
    linked: tuple[str, ...] = ()
    #: Workspace member ids it is assigned to.
    assignees: tuple[str, ...] = ()

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Task:
        return cls(
            task_id=str(data["id"]["task_id"]),
            content=str(data.get("content_plaintext", "")),
            deadline=moment(data.get("deadline_at")),
            is_completed=bool(data.get("is_completed")),
            completed_at=moment(data.get("completed_at")),
            linked=tuple(str(r.get("target_record_id")) for r in data.get("linked_records", [])),
            assignees=tuple(str(a.get("referenced_actor_id")) for a in data.get("assignees", [])),
        )
