"""The fake workspace: schema, records, entries, notes and tasks in memory.

Every method is what one Attio endpoint does, minus HTTP: it takes decoded
input, returns Attio's read form, and raises :class:`FakeAttioError` with
Attio's status and code where Attio would refuse.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from attio_automate.testing.fake import query, values
from attio_automate.testing.fake.model import (
    JSON,
    Attribute,
    Container,
    Entry,
    FakeAttioError,
    List,
    Member,
    Note,
    Object,
    Record,
    Task,
    Valued,
    new_id,
    not_found,
    timestamp,
)

WriteMode = str  # "create" | "append" | "replace"
V = TypeVar("V", bound=Valued)


class Workspace:
    """One Attio workspace held in memory.

    ``clock`` gives epoch seconds; tests may pass a fake one.  Writes are
    attributed to the API token ``api_token_id`` unless ``actor`` says otherwise.
    """

    def __init__(self, *, name: str = "Fake Workspace", clock: Callable[[], float] = time.time):
        self.id = new_id()
        self.name = name
        self.slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        self.api_token_id = new_id()
        self.client_id = new_id()
        self.clock = clock
        self.objects: dict[str, Object] = {}
        self.lists: dict[str, List] = {}
        self.members: dict[str, Member] = {}
        self.records: dict[str, dict[str, Record]] = {}
        self.entries: dict[str, dict[str, Entry]] = {}
        self.notes: dict[str, Note] = {}
        self.tasks: dict[str, Task] = {}
        #: Called after every change with (event_type, ids); webhook emission hooks in here.
        self.listeners: list[Callable[[str, JSON], None]] = []

    # -- helpers ------------------------------------------------------------------------

    def now(self) -> str:
        return timestamp(self.clock())

    def token_actor(self) -> JSON:
        return {"type": "api-token", "id": self.api_token_id}

    def _emit(self, event_type: str, ids: JSON) -> None:
        for listener in list(self.listeners):
            listener(event_type, {"workspace_id": self.id, **ids})

    def get_object(self, slug_or_id: str) -> Object:
        found = self.objects.get(slug_or_id) or next(
            (o for o in self.objects.values() if o.id == slug_or_id), None
        )
        if found is None:
            raise not_found("Object", slug_or_id)
        return found

    def get_list(self, slug_or_id: str) -> List:
        found = self.lists.get(slug_or_id) or next(
            (lst for lst in self.lists.values() if lst.id == slug_or_id), None
        )
        if found is None:
            raise not_found("List", slug_or_id)
        return found

    def container(self, target: str, identifier: str) -> Container:
        if target == "objects":
            return self.get_object(identifier)
        if target == "lists":
            return self.get_list(identifier)
        raise not_found("Target", target)

    def member_by_email(self, email: str) -> str | None:
        folded = email.casefold()
        return next(
            (m.id for m in self.members.values() if m.email_address.casefold() == folded), None
        )

    # -- rendering ----------------------------------------------------------------------

    def render_value(self, container: Container, attribute: Attribute, stored: JSON) -> JSON:
        """A stored value in Attio's read form, statuses and options expanded."""
        out = dict(stored)
        kind = attribute.type
        if kind in ("status", "select"):
            key = "status" if kind == "status" else "option"
            choice = next(c for c in attribute.choices if c.id == stored[key])
            choice_ids: JSON = {
                "workspace_id": self.id,
                "object_id" if isinstance(container, Object) else "list_id": container.id,
                "attribute_id": attribute.id,
                "status_id" if kind == "status" else "option_id": choice.id,
            }
            if isinstance(container, List):
                # Attio's schema names the parent "object_id" for list attributes too.
                choice_ids["object_id"] = choice_ids.pop("list_id")
            rendered: JSON = {
                "id": choice_ids,
                "title": choice.title,
                "is_archived": choice.is_archived,
            }
            if kind == "status":
                rendered.update(celebration_enabled=False, target_time_in_status=None)
            out[key] = rendered
        return out

    def _renderer(self, container: Container) -> Callable[[JSON], JSON]:
        by_id = {a.id: a for a in container.attributes.values()}

        def render(stored: JSON) -> JSON:
            return self.render_value(container, by_id[stored["_attribute_id"]], stored)

        return render

    def _values_out(self, container: Container, item: Valued) -> JSON:
        return {
            attribute.slug: [
                self.render_value(container, attribute, _public(v))
                for v in item.current(attribute.id)
            ]
            for attribute in container.attributes.values()
        }

    def render_record(self, record: Record) -> JSON:
        obj = self.get_object(record.object_slug)
        return {
            "id": {"workspace_id": self.id, "object_id": obj.id, "record_id": record.id},
            "created_at": record.created_at,
            "web_url": f"https://app.attio.com/{self.slug}/{obj.slug}/{record.id}",
            "values": self._values_out(obj, record),
        }

    def render_entry(self, entry: Entry) -> JSON:
        lst = self.get_list(entry.list_slug)
        return {
            "id": {"workspace_id": self.id, "list_id": lst.id, "entry_id": entry.id},
            "parent_record_id": entry.parent_record_id,
            "parent_object": entry.parent_object,
            "created_at": entry.created_at,
            "entry_values": self._values_out(lst, entry),
        }

    # -- writing values -----------------------------------------------------------------

    def _resolve_record(self, target: str, matching: str, raw: list[Any]) -> str:
        obj = self.get_object(target)
        records = self.records[obj.slug]
        if matching == "record_id":
            if raw[0] not in records:
                raise not_found("Record", str(raw[0]))
            return str(raw[0])
        attribute = obj.attribute(matching)
        if attribute is None:
            raise not_found("Attribute", matching)
        wanted = {values.identity(self._parse(attribute, item)) for item in raw}
        for record in records.values():
            if wanted & {values.identity(v) for v in record.current(attribute.id)}:
                return record.id
        raise FakeAttioError(
            400, "value_not_found", f'No "{obj.slug}" record matches "{matching}".'
        )

    def _parse(self, attribute: Attribute, raw: Any) -> JSON:
        return values.parse(
            attribute,
            raw,
            resolve_record=self._resolve_record,
            resolve_member=self.member_by_email,
        )

    def _parse_all(self, container: Container, raw_values: Any) -> dict[str, list[JSON]]:
        """Parse a ``values`` object: attribute id -> parsed values, deduplicated."""
        if not isinstance(raw_values, dict):
            raise FakeAttioError(400, "validation_type", "values must be an object.")
        parsed: dict[str, list[JSON]] = {}
        for slug, raw in raw_values.items():
            attribute = container.attribute(slug)
            if attribute is None:
                raise FakeAttioError(
                    404, "not_found", f'Cannot find attribute with slug/ID "{slug}".'
                )
            if not attribute.is_writable:
                raise FakeAttioError(
                    400, "immutable_value", f'Attribute "{attribute.slug}" is not writable.'
                )
            items = raw if isinstance(raw, list) else [raw]
            if len(items) > 1 and not attribute.is_multiselect:
                raise values.invalid(attribute, "This attribute takes a single value.")
            unique: dict[Any, JSON] = {}
            for item in items:
                value = self._parse(attribute, item)
                unique.setdefault(values.identity(value), value)
            parsed[attribute.id] = list(unique.values())
        return parsed

    def _check_unique(
        self,
        container: Container,
        siblings: Iterable[Valued],
        item_id: str,
        parsed: dict[str, list[JSON]],
    ) -> None:
        for attribute_id, new_values in parsed.items():
            attribute = next(a for a in container.attributes.values() if a.id == attribute_id)
            if not attribute.is_unique:
                continue
            keys = {values.identity(v) for v in new_values}
            for other in siblings:
                if other.id != item_id and keys & {
                    values.identity(v) for v in other.current(attribute_id)
                }:
                    raise FakeAttioError(
                        400,
                        "uniqueness_conflict",
                        f'A record with the same value for unique attribute "{attribute.slug}" '
                        "already exists.",
                    )

    def _apply(
        self,
        container: Container,
        item: Valued,
        parsed: dict[str, list[JSON]],
        mode: WriteMode,
        actor: JSON,
    ) -> bool:
        """Write ``parsed`` into ``item``; former values keep their history.
        Returns whether anything changed."""
        now = self.now()
        changed = False
        for attribute_id, new_values in parsed.items():
            attribute = next(a for a in container.attributes.values() if a.id == attribute_id)
            history = item.values.setdefault(attribute_id, [])
            current = [v for v in history if v["active_until"] is None]
            current_keys = {values.identity(v) for v in current}
            new_keys = {values.identity(v) for v in new_values}
            if mode == "append" and attribute.is_multiselect:
                retire: list[JSON] = []
            else:
                retire = [v for v in current if values.identity(v) not in new_keys]
            for old in retire:
                old["active_until"] = now
                changed = True
            for value in new_values:
                if values.identity(value) in current_keys:
                    continue
                history.append(
                    {
                        **value,
                        "active_from": now,
                        "active_until": None,
                        "created_by_actor": dict(actor),
                        "_attribute_id": attribute_id,
                    }
                )
                changed = True
        return changed

    def _missing_required(self, container: Container, parsed: dict[str, list[JSON]]) -> None:
        for attribute in container.attributes.values():
            if attribute.is_required and not parsed.get(attribute.id):
                raise FakeAttioError(
                    400, "missing_value", f'Required attribute "{attribute.slug}" is missing.'
                )

    # -- records ------------------------------------------------------------------------

    def get_record(self, object: str, record_id: str) -> Record:
        obj = self.get_object(object)
        record = self.records[obj.slug].get(record_id)
        if record is None:
            raise not_found("Record", record_id)
        return record

    def create_record(self, object: str, raw_values: Any, *, actor: JSON | None = None) -> Record:
        obj = self.get_object(object)
        parsed = self._parse_all(obj, raw_values)
        self._missing_required(obj, parsed)
        record = Record(id=new_id(), created_at=self.now(), object_slug=obj.slug)
        self._check_unique(obj, self.records[obj.slug].values(), record.id, parsed)
        self._apply(obj, record, parsed, "create", actor or self.token_actor())
        self.records[obj.slug][record.id] = record
        self._emit("record.created", {"object_id": obj.id, "record_id": record.id})
        return record

    def update_record(
        self,
        object: str,
        record_id: str,
        raw_values: Any,
        *,
        mode: WriteMode,
        actor: JSON | None = None,
    ) -> Record:
        obj = self.get_object(object)
        record = self.get_record(obj.slug, record_id)
        parsed = self._parse_all(obj, raw_values)
        self._check_unique(obj, self.records[obj.slug].values(), record.id, parsed)
        self._record_changed(obj, record, parsed, mode, actor)
        return record

    def _record_changed(
        self,
        obj: Object,
        record: Record,
        parsed: dict[str, list[JSON]],
        mode: WriteMode,
        actor: JSON | None,
    ) -> None:
        for attribute_id in parsed:
            if self._apply(
                obj, record, {attribute_id: parsed[attribute_id]}, mode, actor or self.token_actor()
            ):
                self._emit(
                    "record.updated",
                    {"object_id": obj.id, "record_id": record.id, "attribute_id": attribute_id},
                )

    def assert_record(
        self, object: str, matching_attribute: str, raw_values: Any, *, actor: JSON | None = None
    ) -> Record:
        obj = self.get_object(object)
        attribute = obj.attribute(matching_attribute)
        if attribute is None:
            raise not_found("Attribute", matching_attribute)
        if not attribute.is_unique:
            raise FakeAttioError(
                400,
                "validation_type",
                f'Matching attribute "{attribute.slug}" must be a unique attribute.',
            )
        parsed = self._parse_all(obj, raw_values)
        wanted = {values.identity(v) for v in parsed.get(attribute.id, [])}
        if not wanted:
            raise FakeAttioError(
                400,
                "missing_value",
                f'The matching attribute "{attribute.slug}" must have a value.',
            )
        found = [
            r
            for r in self.records[obj.slug].values()
            if wanted & {values.identity(v) for v in r.current(attribute.id)}
        ]
        if len(found) > 1:
            raise FakeAttioError(
                400,
                "multiple_match_results",
                f'Multiple records match "{attribute.slug}"; cannot assert one.',
            )
        if not found:
            return self.create_record(obj.slug, raw_values, actor=actor)
        record = found[0]
        self._check_unique(obj, self.records[obj.slug].values(), record.id, parsed)
        self._record_changed(obj, record, parsed, "append", actor)
        return record

    def delete_record(self, object: str, record_id: str) -> None:
        obj = self.get_object(object)
        self.get_record(obj.slug, record_id)
        del self.records[obj.slug][record_id]
        for lst in self.lists.values():
            for entry_id, entry in list(self.entries[lst.slug].items()):
                if entry.parent_record_id == record_id:
                    del self.entries[lst.slug][entry_id]
        self._emit("record.deleted", {"object_id": obj.id, "record_id": record_id})

    def query(self, container: Container, items: Iterable[V], body: Any) -> list[V]:
        if not isinstance(body, dict):
            raise query.filter_error("The body must be an object.")
        render = self._renderer(container)
        if body.get("filter"):
            # Check the filter once against an empty item: a bad filter is an
            # error even when there is nothing to match.
            query.matches(Valued(id="", created_at=""), container, body["filter"], render)
        selected = [
            item
            for item in items
            if not body.get("filter") or query.matches(item, container, body["filter"], render)
        ]
        selected = query.sort_items(selected, container, body.get("sorts"), render)
        limit = body.get("limit", 500)
        offset = body.get("offset", 0)
        if not isinstance(limit, int) or not isinstance(offset, int) or limit < 0 or offset < 0:
            raise FakeAttioError(400, "validation_type", "limit and offset must be whole numbers.")
        return selected[offset : offset + limit]

    def attribute_values(
        self, object: str, record_id: str, attribute_slug: str, *, show_historic: bool
    ) -> list[JSON]:
        obj = self.get_object(object)
        record = self.get_record(obj.slug, record_id)
        attribute = obj.attribute(attribute_slug)
        if attribute is None:
            raise not_found("Attribute", attribute_slug)
        stored = record.values.get(attribute.id, [])
        if not show_historic:
            stored = [v for v in stored if v["active_until"] is None]
        return [self.render_value(obj, attribute, _public(v)) for v in stored]

    # -- list entries -------------------------------------------------------------------

    def _parent(self, lst: List, data: Any) -> tuple[str, str, Any]:
        if not isinstance(data, dict):
            raise FakeAttioError(400, "validation_type", "data must be an object.")
        parent_object = data.get("parent_object")
        parent_record_id = data.get("parent_record_id")
        if not isinstance(parent_object, str) or not isinstance(parent_record_id, str):
            raise FakeAttioError(
                400, "validation_type", "parent_object and parent_record_id are required."
            )
        obj = self.get_object(parent_object)
        if obj.slug != lst.parent_object:
            raise FakeAttioError(
                400,
                "validation_type",
                f'List "{lst.slug}" takes "{lst.parent_object}" records, not "{obj.slug}".',
            )
        self.get_record(obj.slug, parent_record_id)
        return obj.slug, parent_record_id, data.get("entry_values", {})

    def get_entry(self, list_slug: str, entry_id: str) -> Entry:
        lst = self.get_list(list_slug)
        entry = self.entries[lst.slug].get(entry_id)
        if entry is None:
            raise not_found("Entry", entry_id)
        return entry

    def create_entry(self, list_slug: str, data: Any, *, actor: JSON | None = None) -> Entry:
        lst = self.get_list(list_slug)
        parent_object, parent_record_id, raw_values = self._parent(lst, data)
        parsed = self._parse_all(lst, raw_values)
        entry = Entry(
            id=new_id(),
            created_at=self.now(),
            list_slug=lst.slug,
            parent_object=parent_object,
            parent_record_id=parent_record_id,
        )
        self._apply(lst, entry, parsed, "create", actor or self.token_actor())
        self.entries[lst.slug][entry.id] = entry
        self._emit(
            "list-entry.created",
            {
                "list_id": lst.id,
                "entry_id": entry.id,
                "parent_object_id": self.get_object(parent_object).id,
                "parent_record_id": parent_record_id,
            },
        )
        return entry

    def assert_entry(self, list_slug: str, data: Any, *, actor: JSON | None = None) -> Entry:
        lst = self.get_list(list_slug)
        _, parent_record_id, raw_values = self._parent(lst, data)
        found = [
            e for e in self.entries[lst.slug].values() if e.parent_record_id == parent_record_id
        ]
        if len(found) > 1:
            raise FakeAttioError(
                400,
                "multiple_match_results",
                f'Record "{parent_record_id}" has several entries in list "{lst.slug}".',
            )
        if not found:
            return self.create_entry(lst.slug, data, actor=actor)
        return self.update_entry(lst.slug, found[0].id, raw_values, mode="append", actor=actor)

    def update_entry(
        self,
        list_slug: str,
        entry_id: str,
        raw_values: Any,
        *,
        mode: WriteMode,
        actor: JSON | None = None,
    ) -> Entry:
        lst = self.get_list(list_slug)
        entry = self.get_entry(lst.slug, entry_id)
        parsed = self._parse_all(lst, raw_values)
        for attribute_id, new_values in parsed.items():
            if self._apply(
                lst, entry, {attribute_id: new_values}, mode, actor or self.token_actor()
            ):
                self._emit(
                    "list-entry.updated",
                    {
                        "list_id": lst.id,
                        "entry_id": entry.id,
                        "attribute_id": attribute_id,
                        "parent_object_id": self.get_object(entry.parent_object).id,
                        "parent_record_id": entry.parent_record_id,
                    },
                )
        return entry

    # -- notes and tasks ----------------------------------------------------------------

    def create_note(self, data: Any, *, actor: JSON | None = None) -> Note:
        if not isinstance(data, dict):
            raise FakeAttioError(400, "validation_type", "data must be an object.")
        missing = [
            k
            for k in ("parent_object", "parent_record_id", "title", "format", "content")
            if k not in data
        ]
        if missing:
            raise FakeAttioError(400, "validation_type", f"Missing required fields: {missing}.")
        obj = self.get_object(str(data.get("parent_object", "")))
        record = self.get_record(obj.slug, str(data.get("parent_record_id", "")))
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
            created_by_actor=actor or self.token_actor(),
            created_at=self.now(),
        )
        self.notes[note.id] = note
        self._emit(
            "note.created",
            {"note_id": note.id, "parent_object_id": obj.id, "parent_record_id": record.id},
        )
        return note

    def render_note(self, note: Note) -> JSON:
        return {
            "id": {"workspace_id": self.id, "note_id": note.id},
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

    def create_task(self, data: Any, *, actor: JSON | None = None) -> Task:
        if not isinstance(data, dict):
            raise FakeAttioError(400, "validation_type", "data must be an object.")
        content = data.get("content")
        if not isinstance(content, str) or not content or len(content) > 2000:
            raise FakeAttioError(
                400, "validation_type", "content must be a string of 1 to 2000 characters."
            )
        linked = []
        for link in data.get("linked_records") or []:
            target = self.get_object(str(link.get("target_object", "")))
            record_id = link.get("target_record_id")
            if not isinstance(record_id, str):
                matching = [k for k in link if k != "target_object"]
                record_id = (
                    self._resolve_record(target.slug, matching[0], link[matching[0]])
                    if matching
                    else ""
                )
            self.get_record(target.slug, record_id)
            linked.append({"target_object_id": target.id, "target_record_id": record_id})
        assignees = []
        for assignee in data.get("assignees") or []:
            email = assignee.get("workspace_member_email_address")
            member_id = (
                self.member_by_email(email)
                if isinstance(email, str)
                else assignee.get("referenced_actor_id")
            )
            if member_id not in self.members:
                raise FakeAttioError(400, "value_not_found", f"Unknown assignee {assignee!r}.")
            assignees.append(
                {"referenced_actor_type": "workspace-member", "referenced_actor_id": member_id}
            )
        deadline = data.get("deadline_at")
        if deadline is not None:
            try:
                datetime.fromisoformat(str(deadline))
            except ValueError:
                raise FakeAttioError(
                    400, "validation_type", f'deadline_at "{deadline}" is not a timestamp.'
                ) from None
        task = Task(
            id=new_id(),
            content=content,
            deadline_at=deadline,
            is_completed=bool(data.get("is_completed", False)),
            linked_records=linked,
            assignees=assignees,
            created_by_actor=actor or self.token_actor(),
            created_at=self.now(),
        )
        self.tasks[task.id] = task
        self._emit("task.created", {"task_id": task.id})
        return task

    def render_task(self, task: Task) -> JSON:
        return {
            "id": {"workspace_id": self.id, "task_id": task.id},
            "content_plaintext": task.content,
            "deadline_at": task.deadline_at,
            "is_completed": task.is_completed,
            "linked_records": task.linked_records,
            "assignees": task.assignees,
            "created_by_actor": task.created_by_actor,
            "created_at": task.created_at,
        }


def _public(stored: JSON) -> JSON:
    return {k: v for k, v in stored.items() if not k.startswith("_")}


def _plaintext(markdown: str) -> str:
    text = re.sub(r"^#{1,6}\s*", "", markdown, flags=re.MULTILINE)
    text = re.sub(r"[*_`]+", "", text)
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
