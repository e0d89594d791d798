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
from datetime import datetime, timedelta
from typing import Any

from attio_automate.actions.targets import summary, target_record
from attio_automate.bus.context import ActionContext, RegisterAction
from attio_automate.bus.hookspecs import hookimpl
from attio_automate.services import Record
from attio_automate.services.activity import attio_time

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
WAIT_SCHEMA = {
    "type": "object",
    "properties": {
        "rule": _SLUG,
        "step": {"type": "integer", "minimum": 0},
        "due_at": {"type": "string", "minLength": 1},
        "on_retrigger": {"enum": ["replace", "keep", "parallel"]},
    },
    "required": ["rule", "step", "due_at"],
    "additionalProperties": False,
}
CANCEL_WAITS_SCHEMA = {
    "type": "object",
    "properties": {"rule": _SLUG},
    "required": ["rule"],
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
    record = await ctx.services.contacts.upsert(
        params["object"], params["matching_attribute"], params["values"]
    )
    return _record_result(record)


async def update_record(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    obj, record_id = target_record(ctx, params)
    record = await ctx.services.contacts.update(
        obj, record_id, params["values"], overwrite=bool(params.get("overwrite", False))
    )
    return _record_result(record)


async def add_to_list(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    entry = await ctx.services.pipeline.add(
        target_record(ctx, params),
        params["list"],
        values=params.get("entry_values") or {},
        once=bool(params.get("once", True)),
    )
    return {"list": params["list"], "entry_id": entry.entry_id}


def wait_group(ctx: ActionContext, rule: str) -> str:
    """The waits of one rule for one record (or entry, or note)."""
    return f"{rule}|{ctx.event.event.ordering_key}"


async def wait(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    """A rule's wait: stored with the event it came from, to resume the rule
    at ``step`` when ``due_at`` comes (planned by the rules engine)."""
    due = datetime.fromisoformat(str(params["due_at"]).replace("Z", "+00:00")).timestamp()
    rule, step = params["rule"], params["step"]
    policy = params.get("on_retrigger", "replace")
    key = f"wait:{ctx.event.key}:{rule}:{step}"
    group = wait_group(ctx, rule)
    payload = {
        **ctx.event.event.to_json(),
        "wait": {
            "rule": rule,
            "step": step,
            "due_at": params["due_at"],
            "from": ctx.event.key,
            "group": group,
        },
    }
    result = {"due_at": params["due_at"], "resumes": f"rule {rule} at step {step + 1}"}
    if ctx.waits is None:
        return {**result, "stored": False}
    stored = await ctx.waits.keep(key, due, payload, group=group, policy=policy)
    return {**result, "wait": key, "stored": stored}


async def cancel_waits(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    """Cancel a rule's pending waits for the event's record (``cancel_on:``)."""
    group = wait_group(ctx, params["rule"])
    if ctx.waits is None:
        return {"cancelled": None, "rule": params["rule"]}
    reason = f"cancelled by {ctx.event.event.event_type} ({ctx.event.key})"
    return {"cancelled": await ctx.waits.cancel(group, reason=reason), "rule": params["rule"]}


async def update_entry(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    entry = await ctx.services.pipeline.update(
        (params["list"], params["entry_id"]),
        params["values"],
        overwrite=bool(params.get("overwrite", False)),
    )
    return {"list": params["list"], "entry_id": entry.entry_id}


async def complete_task(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    task = await ctx.services.activity.complete_task(params["task_id"])
    return {"task_id": task.task_id}


async def add_note(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    note = await ctx.services.activity.note(
        target_record(ctx, params),
        params["title"],
        params["content"],
        format=params.get("format", "markdown"),
    )
    return {"note_id": note.note_id}


async def create_task(ctx: ActionContext, params: Mapping[str, Any]) -> Any:
    deadline: str | None = params.get("deadline")
    if deadline is None and "deadline_in_days" in params:
        # From the event's time, like now() in templates: the same on a retry.
        deadline = attio_time(ctx.event.now() + timedelta(days=float(params["deadline_in_days"])))
    linked = []
    if params.get("link", True) and (params.get("record_id") or ctx.event.record):
        linked.append(target_record(ctx, params))
    task = await ctx.services.activity.task(
        params["content"], deadline=deadline, linked=linked, assignees=params.get("assignees", [])
    )
    return {"task_id": task.task_id}


def _record_result(record: Record) -> dict[str, Any]:
    """A short result for traces and later references: the record and its link."""
    result: dict[str, Any] = {"object": record.object, "record_id": record.record_id}
    if record.web_url:
        result["web_url"] = record.web_url
    return result


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
        "wait",
        wait,
        schema=WAIT_SCHEMA,
        idempotent=True,
        description="A rule's wait: resume the rule when it is due (from wait: steps).",
    )
    register(
        "cancel_waits",
        cancel_waits,
        schema=CANCEL_WAITS_SCHEMA,
        idempotent=True,
        description="Cancel a rule's pending waits for the record (from cancel_on:).",
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
