"""Notes and tasks of the fake workspace."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attio_automate.testing.fake.model import JSON, FakeAttioError, Note, Task, new_id
from attio_automate.testing.fake.workspace import Workspace


def create_note(w: Workspace, data: Any, *, actor: JSON | None = None) -> Note:
    if not isinstance(data, dict):
        raise FakeAttioError(400, "validation_type", "data must be an object.")
    missing = [
        k
        for k in ("parent_object", "parent_record_id", "title", "format", "content")
        if k not in data
    ]
    if missing:
        raise FakeAttioError(400, "validation_type", f"Missing required fields: {missing}.")
    obj = w.get_object(str(data.get("parent_object", "")))
    record = w.get_record(obj.slug, str(data.get("parent_record_id", "")))
    content = data.get("content", "")
    title = data.get("title", "")
    if not isinstance(content, str) or not isinstance(title, str):
        raise FakeAttioError(400, "validation_type", "title and content must be strings.")
    markdown = data.get("format") == "markdown"
    note = Note(
        id=new_id(),
        parent_object=obj.slug,
        parent_record_id=record.id,
        title=title,
        content_markdown=content,
        content_plaintext=_plaintext(content) if markdown else content,
        created_by_actor=actor or w.token_actor(),
        created_at=w.now(),
    )
    w.notes[note.id] = note
    w.emit(
        "note.created",
        {"note_id": note.id, "parent_object_id": obj.id, "parent_record_id": record.id},
        actor,
    )
    return note


def render_note(w: Workspace, note: Note) -> JSON:
    return {
        "id": {"workspace_id": w.id, "note_id": note.id},
        "parent_object": note.parent_object,
        "parent_record_id": note.parent_record_id,
        "title": note.title,
        "meeting_id": None,
        "content_plaintext": note.content_plaintext,
        "content_markdown": note.content_markdown,
        "tags": [],
        "created_by_actor": note.created_by_actor,
        "created_at": note.created_at,
    }


def create_task(w: Workspace, data: Any, *, actor: JSON | None = None) -> Task:
    if not isinstance(data, dict):
        raise FakeAttioError(400, "validation_type", "data must be an object.")
    content = data.get("content")
    if not isinstance(content, str) or not content or len(content) > 2000:
        raise FakeAttioError(
            400, "validation_type", "content must be a string of 1 to 2000 characters."
        )
    completed = bool(data.get("is_completed", False))
    task = Task(
        id=new_id(),
        content=content,
        deadline_at=_deadline(data.get("deadline_at")),
        is_completed=completed,
        linked_records=_linked(w, data.get("linked_records") or []),
        assignees=_assignees(w, data.get("assignees") or []),
        created_by_actor=actor or w.token_actor(),
        created_at=w.now(),
        completed_at=w.now() if completed else None,
    )
    w.tasks[task.id] = task
    w.emit("task.created", {"task_id": task.id}, actor)
    return task


def get_task(w: Workspace, task_id: str) -> Task:
    task = w.tasks.get(task_id)
    if task is None:
        raise FakeAttioError(404, "not_found", f'Task with ID "{task_id}" not found.')
    return task


def update_task(w: Workspace, task_id: str, data: Any, *, actor: JSON | None = None) -> Task:
    """PATCH: the deadline, completion, linked records and assignees (not the content)."""
    task = get_task(w, task_id)
    if not isinstance(data, dict):
        raise FakeAttioError(400, "validation_type", "data must be an object.")
    unknown = set(data) - {"deadline_at", "is_completed", "linked_records", "assignees"}
    if unknown:
        raise FakeAttioError(
            400, "validation_type", f"Unrecognized keys: {', '.join(sorted(unknown))}."
        )
    if "deadline_at" in data:
        task.deadline_at = _deadline(data["deadline_at"])
    if "linked_records" in data:
        task.linked_records = _linked(w, data["linked_records"] or [])
    if "assignees" in data:
        task.assignees = _assignees(w, data["assignees"] or [])
    if "is_completed" in data:
        if not isinstance(data["is_completed"], bool):
            raise FakeAttioError(400, "validation_type", "is_completed must be a boolean.")
        if data["is_completed"] and not task.is_completed:
            task.completed_at = w.now()
        elif not data["is_completed"]:
            task.completed_at = None
        task.is_completed = data["is_completed"]
    w.emit("task.updated", {"task_id": task.id}, actor)
    return task


def delete_task(w: Workspace, task_id: str, *, actor: JSON | None = None) -> None:
    get_task(w, task_id)
    del w.tasks[task_id]
    w.emit("task.deleted", {"task_id": task_id}, actor)


def _linked(w: Workspace, links: Any) -> list[JSON]:
    if not isinstance(links, list):
        raise FakeAttioError(400, "validation_type", "linked_records must be an array.")
    linked = []
    for link in links:
        if not isinstance(link, dict):
            raise FakeAttioError(400, "validation_type", "each linked record must be an object.")
        target = w.get_object(str(link.get("target_object", "")))
        record_id = link.get("target_record_id")
        if not isinstance(record_id, str):
            matching = [k for k in link if k != "target_object"]
            record_id = (
                w.resolve_record(target.slug, matching[0], link[matching[0]]) if matching else ""
            )
        w.get_record(target.slug, record_id)
        linked.append({"target_object_id": target.id, "target_record_id": record_id})
    return linked


def _assignees(w: Workspace, given: Any) -> list[JSON]:
    if not isinstance(given, list):
        raise FakeAttioError(400, "validation_type", "assignees must be an array.")
    assignees = []
    for assignee in given:
        if not isinstance(assignee, dict):
            raise FakeAttioError(400, "validation_type", "each assignee must be an object.")
        email = assignee.get("workspace_member_email_address")
        member_id = (
            w.member_by_email(email)
            if isinstance(email, str)
            else assignee.get("referenced_actor_id")
        )
        if not isinstance(member_id, str) or member_id not in w.members:
            raise FakeAttioError(400, "value_not_found", f"Unknown assignee {assignee!r}.")
        assignees.append(
            {"referenced_actor_type": "workspace-member", "referenced_actor_id": member_id}
        )
    return assignees


def _deadline(deadline: Any) -> str | None:
    if deadline is None:
        return None
    try:
        datetime.fromisoformat(str(deadline))
    except ValueError:
        raise FakeAttioError(
            400, "validation_type", f'deadline_at "{deadline}" is not a timestamp.'
        ) from None
    return str(deadline)


def find_tasks(w: Workspace, params: Mapping[str, str]) -> list[Task]:
    """``GET /v2/tasks``: by linked object or record, assignee (email or
    member id), completion; oldest first unless ``sort=created_at:desc``."""
    linked_object = params.get("linked_object")
    object_id = w.get_object(linked_object).id if linked_object else None
    linked_record = params.get("linked_record_id")
    completed = params.get("is_completed")
    if completed not in (None, "true", "false"):
        raise FakeAttioError(400, "validation_type", "is_completed must be true or false.")
    sort = params.get("sort", "created_at:asc")
    if sort not in ("created_at:asc", "created_at:desc"):
        raise FakeAttioError(
            400, "validation_type", "sort must be created_at:asc or created_at:desc."
        )
    assignee = params.get("assignee")
    member = w.member_by_email(assignee) if assignee and "@" in assignee else assignee

    def wanted(task: Task) -> bool:
        links = task.linked_records
        if object_id is not None and not any(r["target_object_id"] == object_id for r in links):
            return False
        if linked_record is not None and not any(
            r["target_record_id"] == linked_record for r in links
        ):
            return False
        if completed is not None and task.is_completed != (completed == "true"):
            return False
        return assignee is None or any(a["referenced_actor_id"] == member for a in task.assignees)

    found = sorted((t for t in w.tasks.values() if wanted(t)), key=lambda t: t.created_at)
    return found[::-1] if sort == "created_at:desc" else found


def render_task(w: Workspace, task: Task) -> JSON:
    return {
        "id": {"workspace_id": w.id, "task_id": task.id},
        "content_plaintext": task.content,
        "deadline_at": task.deadline_at,
        "is_completed": task.is_completed,
        "completed_at": task.completed_at,
        "linked_records": task.linked_records,
        "assignees": task.assignees,
        "created_by_actor": task.created_by_actor,
        "created_at": task.created_at,
    }


def _plaintext(markdown: str) -> str:
    text = re.sub(r"^#{1,6}\s*", "", markdown, flags=re.MULTILINE)
    text = re.sub(r"[*_`]+", "", text)
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
