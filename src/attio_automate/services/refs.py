"""Naming records and entries in service calls, and writing simple values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from attio_automate.attio.schema import SchemaCache
from attio_automate.attio.values import to_input_values
from attio_automate.errors import ActionError
from attio_automate.services.types import Entry, Record, Task

#: A record: a :class:`Record`, a mapping with ``object`` and ``record_id``
#: (an event's ``record``), or ``(object, record_id)``.
RecordLike = Record | Mapping[str, Any] | tuple[str, str]
#: An entry: an :class:`Entry`, a mapping with ``list`` and ``entry_id``, or ``(list, entry_id)``.
EntryLike = Entry | Mapping[str, Any] | tuple[str, str]


def record_of(record: RecordLike) -> tuple[str, str]:
    """``(object, record_id)`` of whatever names a record."""
    if isinstance(record, Record):
        return record.object, record.record_id
    if isinstance(record, tuple):
        return record
    obj, record_id = record.get("object"), record.get("record_id")
    if not obj or not record_id:
        raise ActionError(f"not a record (needs 'object' and 'record_id'): {dict(record)!r}")
    return str(obj), _id(record_id)


def entry_of(entry: EntryLike) -> tuple[str, str]:
    """``(list, entry_id)`` of whatever names an entry."""
    if isinstance(entry, Entry):
        return entry.list, entry.entry_id
    if isinstance(entry, tuple):
        return entry
    lst, entry_id = entry.get("list"), entry.get("entry_id")
    if not lst or not entry_id:
        raise ActionError(f"not an entry (needs 'list' and 'entry_id'): {dict(entry)!r}")
    return str(lst), _id(entry_id)


def task_id_of(task: Task | Mapping[str, Any] | str) -> str:
    """A task's id from a :class:`Task`, a result mapping or the id itself."""
    if isinstance(task, Task):
        return task.task_id
    if isinstance(task, str):
        return task
    return str(task.get("task_id"))


def _id(value: Any) -> Any:
    # A reference to an earlier planned action's result stays as it is: the
    # runner fills it in before the action runs.
    return value if isinstance(value, Mapping) else str(value)


async def write_values(
    schema: SchemaCache,
    target: Literal["objects", "lists"],
    identifier: str,
    simple: Mapping[str, Any],
) -> dict[str, list[Any]]:
    """Simple values (``{"stage": "Lead"}``) as the arrays Attio takes."""
    values: dict[str, list[Any]] = {}
    for slug, value in simple.items():
        attribute = await schema.attribute(target, identifier, slug)
        values[slug] = to_input_values(attribute, value)
    return values
