"""The built-in actions, registered through the same hook plugins use.

- ``upsert_record``: create or update a record by a unique attribute.
- ``update_record``: change values of a record (the event's by default).
- ``add_to_list``: put a record in a list, once per record unless told otherwise.
- ``add_note``: a markdown (or plain text) note on a record.
- ``create_task``: a task with a deadline and assignees, linked to the record.
- ``update_entry``: change a list entry's values (move it to another stage).
- ``complete_task``: mark a task as done.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from attio_automate.actions.targets import summary, target_record, write_values
from attio_automate.bus.context import ActionContext, RegisterAction
from attio_automate.bus.hookspecs import hookimpl
from attio_automate.errors import ActionError

PLUGIN_NAME = "builtin-actions"

_SLUG = {"type": "string", "minLength": 1}
_VALUES = {"type": "object", "additionalProperties": True}
_RECORD = {"object": _SLUG, "record_id": _SLUG}

UPDATE_ENTRY_SCHEMA = {
    "type": "object",
    "properties": {
        "list": _SLUG,
        "entry_id": _SLUG,
        "values": _VALUES,
        "overwrite": {"type": "boolean"},
    },
    "required": ["list", "entry_id", "values"],
    "additionalProperties": False,
}
COMPLETE_TASK_SCHEMA = {
    "type": "object",
    "properties": {"task_id": _SLUG},
    "required": ["task_id"],
    "additionalProperties": False,
}
UPSERT_SCHEMA = {
    "type": "object",
    "properties": {"object": _SLUG, "matching_attribute": _SLUG, "values": _VALUES},
    "required": ["object", "matching_attribute", "values"],
    "additionalProperties": False,
}
UPDATE_SCHEMA = {
    "type": "object",
    "properties": {**_RECORD, "values": _VALUES, "overwrite": {"type": "boolean"}},
    "required": ["values"],
    "additionalProperties": False,
}
ADD_TO_LIST_SCHEMA = {
    "type": "object",
    "properties": {**_RECORD, "list": _SLUG, "entry_values": _VALUES, "once": {"type": "boolean"}},
    "required": ["list"],
    "additionalProperties": False,
}
ADD_NOTE_SCHEMA = {
    "type": "object",
    "properties": {
        **_RECORD,
        "title": {"type": "string"},
        "content": {"type": "string"},
        "format": {"enum": ["markdown", "plaintext"]},
    },
    "required": ["title", "content"],
    "additionalProperties": False,
}
CREATE_TASK_SCHEMA = {
    "type": "object",
    "properties": {
        **_RECORD,
        "content": {"type": "string", "minLength": 1, "maxLength": 2000},
        "deadline": {"type": "string"},
        "deadline_in_days": {"type": "number", "minimum": 0},
        "assignees": {"type": "array", "items": {"type": "string", "minLength": 3}},
        "link": {"type": "boolean"},
    },
    "required": ["content"],
    "additionalProperties": False,
}


async def upsert_record(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    obj = params["object"]
    values = await write_values(ctx.schema, "objects", obj, params["values"])
    record = await ctx.attio.assert_record(
        obj, matching_attribute=params["matching_attribute"], values=values
    )
    return {"object": obj, **summary("record_id", record, "record_id")}


async def update_record(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    obj, record_id = target_record(ctx, params)
    values = await write_values(ctx.schema, "objects", obj, params["values"])
    record = await ctx.attio.update_record(
        obj, record_id, values, overwrite=bool(params.get("overwrite", False))
    )
    return {"object": obj, **summary("record_id", record, "record_id")}


async def add_to_list(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    obj, record_id = target_record(ctx, params)
    lst = params["list"]
    values = await write_values(ctx.schema, "lists", lst, params.get("entry_values") or {})
    add = ctx.attio.assert_entry if params.get("once", True) else ctx.attio.create_entry
    entry = await add(lst, parent_object=obj, parent_record_id=record_id, entry_values=values)
    return {"list": lst, **summary("entry_id", entry, "entry_id")}


async def update_entry(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    lst, entry_id = params["list"], params["entry_id"]
    values = await write_values(ctx.schema, "lists", lst, params["values"])
    await ctx.attio.update_entry(
        lst, entry_id, values, overwrite=bool(params.get("overwrite", False))
    )
    return {"list": lst, "entry_id": entry_id}


async def complete_task(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    task = await ctx.attio.update_task(params["task_id"], is_completed=True)
    return summary("task_id", task, "task_id")


async def add_note(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    obj, record_id = target_record(ctx, params)
    note = await ctx.attio.create_note(
        parent_object=obj,
        parent_record_id=record_id,
        title=params["title"],
        content=params["content"],
        format=params.get("format", "markdown"),
    )
    return summary("note_id", note, "note_id")


async def create_task(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    deadline = params.get("deadline")
    if deadline is None and "deadline_in_days" in params:
        # From the event's time, like now() in templates: the same on a retry.
        moment = ctx.event.now() + timedelta(days=float(params["deadline_in_days"]))
        deadline = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    elif deadline is not None:
        deadline = _timestamp(str(deadline))
    linked = []
    if params.get("link", True) and (params.get("record_id") or ctx.event.record):
        obj, record_id = target_record(ctx, params)
        linked.append({"target_object": obj, "target_record_id": record_id})
    task = await ctx.attio.create_task(
        content=params["content"],
        deadline_at=deadline,
        linked_records=linked,
        assignees=[
            {"workspace_member_email_address": email} for email in params.get("assignees", [])
        ],
    )
    return summary("task_id", task, "task_id")


# -- reconciling interrupted creates ---------------------------------------------------


async def _find_note(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    obj, record_id = target_record(ctx, params)
    for note in await ctx.attio.list_notes(parent_object=obj, parent_record_id=record_id):
        body = (
            note.get("content_markdown")
            if params.get("format", "markdown") == "markdown"
            else note.get("content_plaintext")
        )
        same = note.get("title") == params["title"] and body == params["content"]
        if same and await ctx.could_be_ours("note_id", note):
            return summary("note_id", note, "note_id")
    return None


async def _find_task(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    if params.get("link", True) and (params.get("record_id") or ctx.event.record):
        obj, record_id = target_record(ctx, params)
        tasks = await ctx.attio.list_tasks(linked_object=obj, linked_record_id=record_id)
    else:
        tasks = await ctx.attio.list_tasks()
    for task in tasks:
        same = task.get("content_plaintext") == params["content"]
        if same and await ctx.could_be_ours("task_id", task):
            return summary("task_id", task, "task_id")
    return None


async def _find_entry(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    if params.get("once", True):
        return None  # an assert: running it again is harmless
    obj, record_id = target_record(ctx, params)
    lst = (await ctx.schema.list(params["list"])).slug
    for entry in await ctx.attio.record_entries(obj, record_id):
        entry_id = entry.get("entry_id")
        if entry.get("list_api_slug") != lst or not isinstance(entry_id, str):
            continue
        # Another action's entry (an earlier event's) is not this one's.
        if ctx.claimed is None or not await ctx.claimed("entry_id", entry_id):
            return {"list": lst, "entry_id": entry_id}
    return None


def _timestamp(text: str) -> str:
    """A date or date-time as Attio's UTC timestamp."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ActionError(f"deadline {text!r} is not an ISO 8601 date or date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@hookimpl
def register_actions(register: RegisterAction) -> None:
    register(
        "upsert_record",
        upsert_record,
        schema=UPSERT_SCHEMA,
        idempotent=True,
        description="Create or update a record matched by a unique attribute.",
    )
    register(
        "update_record",
        update_record,
        schema=UPDATE_SCHEMA,
        idempotent=True,
        description="Update values of a record (the event's record by default).",
    )
    register(
        "add_to_list",
        add_to_list,
        schema=ADD_TO_LIST_SCHEMA,
        reconcile=_find_entry,
        description="Add the record to a list (one entry per record unless once: false).",
    )
    register(
        "update_entry",
        update_entry,
        schema=UPDATE_ENTRY_SCHEMA,
        idempotent=True,
        description="Update values of a list entry (its stage, say).",
    )
    register(
        "complete_task",
        complete_task,
        schema=COMPLETE_TASK_SCHEMA,
        idempotent=True,
        description="Mark a task as done.",
    )
    register(
        "add_note",
        add_note,
        schema=ADD_NOTE_SCHEMA,
        reconcile=_find_note,
        description="Add a markdown note to the record.",
    )
    register(
        "create_task",
        create_task,
        schema=CREATE_TASK_SCHEMA,
        reconcile=_find_task,
        description="Create a task linked to the record, with deadline and assignees.",
    )
