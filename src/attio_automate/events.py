"""Attio webhook events as the runner sees them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The event types Attio's webhooks can subscribe to.  Others may come: the
#: runner stores and ignores types it does not know.
EVENT_TYPES = (
    "call-recording.created",
    "comment.created",
    "comment.resolved",
    "comment.unresolved",
    "comment.deleted",
    "list.created",
    "list.updated",
    "list.deleted",
    "list-attribute.created",
    "list-attribute.updated",
    "list-entry.created",
    "list-entry.updated",
    "list-entry.deleted",
    "object-attribute.created",
    "object-attribute.updated",
    "note.created",
    "note-content.updated",
    "note.updated",
    "note.deleted",
    "record.created",
    "record.merged",
    "record.updated",
    "record.deleted",
    "task.created",
    "task.updated",
    "task.deleted",
    "workspace-member.created",
)

#: Where the thing an event is about sits in its ``id``, most specific first.
_SUBJECT_KEYS = (
    "entry_id",
    "record_id",
    "note_id",
    "task_id",
    "comment_id",
    "call_recording_id",
    "list_id",
    "attribute_id",
    "workspace_member_id",
)


@dataclass(frozen=True)
class AttioEvent:
    """One event of a webhook delivery.

    ``id`` holds Attio's ids for the event's subject (``object_id`` and
    ``record_id`` for ``record.*``, ``list_id`` and ``entry_id`` for
    ``list-entry.*``...).  ``actor`` is who made the change.
    """

    event_type: str
    id: Mapping[str, str] = field(default_factory=dict)
    actor: Mapping[str, Any] = field(default_factory=dict)
    #: For a rule's wait that fell due: the rule, the step to resume at, when
    #: it was due and the event that started it (the rest is that event's).
    wait: Mapping[str, Any] | None = None
    #: For a scheduled rule's run: the rule and the run (when it was due).
    schedule: Mapping[str, Any] | None = None
    #: For a change a sync reconcile found that no webhook told of: the
    #: reconcile run and the mirror table (the event is synthetic).
    reconciled: Mapping[str, Any] | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AttioEvent:
        """Build from one item of a delivery's ``events`` array (already validated)."""
        ids = raw.get("id") or {}
        actor = raw.get("actor") or {}
        wait, schedule = raw.get("wait"), raw.get("schedule")
        reconciled = raw.get("reconciled")
        return cls(
            event_type=str(raw["event_type"]),
            id={str(k): str(v) for k, v in ids.items() if v is not None},
            actor=dict(actor),
            wait=dict(wait) if isinstance(wait, Mapping) else None,
            schedule=dict(schedule) if isinstance(schedule, Mapping) else None,
            reconciled=dict(reconciled) if isinstance(reconciled, Mapping) else None,
        )

    def to_json(self) -> dict[str, Any]:
        data = {"event_type": self.event_type, "id": dict(self.id), "actor": dict(self.actor)}
        if self.wait is not None:
            data["wait"] = dict(self.wait)
        if self.schedule is not None:
            data["schedule"] = dict(self.schedule)
        if self.reconciled is not None:
            data["reconciled"] = dict(self.reconciled)
        return data

    @property
    def rules_only(self) -> bool:
        """Whether the event is the rules' own (a wait fell due, a scheduled
        run): no plugin is shown it, and its record is always fetched."""
        return self.wait is not None or self.schedule is not None

    @property
    def family(self) -> str:
        """The part before the dot: ``record``, ``list-entry``, ``note``..."""
        return self.event_type.split(".", 1)[0]

    @property
    def ordering_key(self) -> str:
        """Events with the same key run one at a time, in arrival order:
        the record, entry or note (or other subject) the event is about."""
        for key in _SUBJECT_KEYS:
            if key in self.id:
                return f"{key.removesuffix('_id')}:{self.id[key]}"
        return f"type:{self.event_type}"
