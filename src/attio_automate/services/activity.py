"""Notes and tasks on records."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from attio_automate.attio.client import AttioClient
from attio_automate.errors import ActionError
from attio_automate.services.refs import RecordLike, record_of, task_id_of
from attio_automate.services.types import Note, Task


def attio_time(when: datetime | str) -> str:
    """A datetime (naive: UTC) or ISO 8601 text as Attio's UTC timestamp."""
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            raise ActionError(f"{when!r} is not an ISO 8601 date or date-time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def assignee(who: str) -> dict[str, str]:
    """A workspace member by email address, or by member id."""
    if "@" in who:
        return {"workspace_member_email_address": who}
    return {"referenced_actor_type": "workspace-member", "referenced_actor_id": who}


class Activity:
    """Notes and tasks."""

    def __init__(self, attio: AttioClient) -> None:
        self.attio = attio

    async def note(
        self,
        record: RecordLike,
        title: str,
        content: str,
        format: Literal["markdown", "plaintext"] = "markdown",
    ) -> Note:
        """Add a note to ``record``."""
        obj, record_id = record_of(record)
        data = await self.attio.create_note(
            parent_object=obj,
            parent_record_id=record_id,
            title=title,
            content=content,
            format=format,
        )
        return Note.of(data)

    async def task(
        self,
        content: str,
        *,
        deadline: datetime | str | None = None,
        linked: Sequence[RecordLike] = (),
        assignees: Sequence[str] = (),
    ) -> Task:
        """Create a task, linked to records and assigned to members (emails or ids)."""
        data = await self.attio.create_task(
            content=content,
            deadline_at=attio_time(deadline) if deadline is not None else None,
            linked_records=[_link(r) for r in linked],
            assignees=[assignee(a) for a in assignees],
        )
        return Task.of(data)

    async def complete_task(self, task: Task | Mapping[str, Any] | str) -> Task:
        """Mark a task done."""
        return Task.of(await self.attio.update_task(task_id_of(task), is_completed=True))

    async def notes_for(self, record: RecordLike) -> builtins.list[Note]:
        """The record's notes."""
        obj, record_id = record_of(record)
        found = await self.attio.list_notes(parent_object=obj, parent_record_id=record_id)
        return [Note.of(data) for data in found]

    async def tasks_for(self, record: RecordLike) -> builtins.list[Task]:
        """The tasks linked to the record."""
        obj, record_id = record_of(record)
        found = await self.attio.list_tasks(linked_object=obj, linked_record_id=record_id)
        return [Task.of(data) for data in found]


def _link(record: RecordLike) -> dict[str, str]:
    obj, record_id = record_of(record)
    return {"target_object": obj, "target_record_id": record_id}
