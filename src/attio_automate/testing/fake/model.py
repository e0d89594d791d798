"""The fake workspace's data: objects, lists, attributes, records, entries, notes, tasks."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]


def new_id() -> str:
    """A fresh UUID, as Attio's ids are."""
    return str(uuid.uuid4())


def timestamp(at: float) -> str:
    """Attio's timestamp format: RFC 3339 in UTC with nanoseconds."""
    moment = datetime.fromtimestamp(at, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


def whole_number(value: Any, name: str, *, code: str = "validation_type") -> int:
    """``value`` as Attio reads a count: an integer, or a float or text that
    is one (``10``, ``10.0``, ``"10"``); anything else, or negative, is a 400
    with ``code``."""
    number: float | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or number < 0 or int(number) != number:
        raise FakeAttioError(400, code, f"{name} must be a whole number.")
    return int(number)


class FakeAttioError(Exception):
    """An error the fake answers with, in Attio's shape."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        super().__init__(message)

    def body(self) -> JSON:
        error_type = "invalid_request_error"
        if self.status_code == 429:
            error_type = "rate_limit_error"
        elif self.status_code in (401, 403):
            error_type = "auth_error"
        elif self.status_code >= 500:
            error_type = "api_error"
        return {
            "status_code": self.status_code,
            "type": error_type,
            "code": self.code,
            "message": self.message,
        }


def not_found(kind: str, name: str) -> FakeAttioError:
    return FakeAttioError(404, "not_found", f'{kind} with slug/ID "{name}" not found.')


@dataclass
class Choice:
    """A status of a status attribute or an option of a select attribute."""

    id: str
    title: str
    is_archived: bool = False


@dataclass
class Attribute:
    id: str
    slug: str
    title: str
    type: str
    is_multiselect: bool = False
    is_unique: bool = False
    is_required: bool = False
    is_writable: bool = True
    is_system: bool = False
    #: Object slug a record-reference attribute points at.
    target_object: str | None = None
    currency_code: str | None = None
    choices: list[Choice] = field(default_factory=list)
    description: str | None = None
    is_archived: bool = False
    created_at: str = ""

    def choice(self, name: str) -> Choice | None:
        """The status or option with this id or title (titles case-insensitive)."""
        folded = name.casefold()
        for choice in self.choices:
            if choice.id == name or choice.title.casefold() == folded:
                return choice
        return None


@dataclass
class Container:
    """What objects and lists have in common: an id, a slug and attributes."""

    id: str
    slug: str
    attributes: dict[str, Attribute] = field(default_factory=dict)
    created_at: str = ""

    def attribute(self, slug_or_id: str) -> Attribute | None:
        found = self.attributes.get(slug_or_id)
        if found is not None:
            return found
        return next((a for a in self.attributes.values() if a.id == slug_or_id), None)

    def add(self, attribute: Attribute) -> Attribute:
        self.attributes[attribute.slug] = attribute
        return attribute


@dataclass
class Object(Container):
    singular_noun: str = ""
    plural_noun: str = ""


@dataclass
class List(Container):
    name: str = ""
    parent_object: str = ""


@dataclass
class Valued:
    """A record or an entry: values by attribute id, with their history.

    Each value is Attio's read form; the current ones have ``active_until``
    None, former ones keep the time they were replaced.
    """

    id: str
    created_at: str
    values: dict[str, list[JSON]] = field(default_factory=dict)

    def current(self, attribute_id: str) -> list[JSON]:
        return [v for v in self.values.get(attribute_id, []) if v["active_until"] is None]


@dataclass
class Record(Valued):
    object_slug: str = ""


@dataclass
class Entry(Valued):
    list_slug: str = ""
    parent_object: str = ""
    parent_record_id: str = ""


@dataclass
class Note:
    id: str
    parent_object: str
    parent_record_id: str
    title: str
    content_markdown: str
    content_plaintext: str
    created_by_actor: JSON
    created_at: str


@dataclass
class Task:
    id: str
    content: str
    deadline_at: str | None
    is_completed: bool
    linked_records: list[JSON]
    assignees: list[JSON]
    created_by_actor: JSON
    created_at: str
    completed_at: str | None = None


@dataclass
class Member:
    id: str
    first_name: str
    last_name: str
    email_address: str
    access_level: str = "admin"
    created_at: str = ""
