"""The fake workspace: schema, records, entries, notes and tasks in memory.

Every method is what one Attio endpoint does, minus HTTP: it takes decoded
input, returns Attio's read form, and raises :class:`FakeAttioError` with
Attio's status and code where Attio would refuse.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
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
    whole_number,
)
from attio_automate.testing.fake.query import Render
from attio_automate.testing.fake.unique import ValueIndex

WriteMode = str  # "create" | "append" | "replace"
log = logging.getLogger(__name__)
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
        #: Called after every change with the event in Attio's webhook shape
        #: (``event_type``, ``id``, ``actor``); webhook emission hooks in here.
        self.listeners: list[Callable[[JSON], None]] = []
        #: Records by attribute value: lookups without a scan of every record.
        self.index = ValueIndex()

    # -- helpers ------------------------------------------------------------------------

    def now(self) -> str:
        return timestamp(self.clock())

    def token_actor(self) -> JSON:
        return {"type": "api-token", "id": self.api_token_id}

    def emit(self, event_type: str, ids: JSON, actor: JSON | None) -> None:
        """Tell the listeners about a change, as Attio's webhook event.  The
        change is made whatever a listener does: a listener that fails is
        logged, never the write's failure."""
        event = {
            "event_type": event_type,
            "id": {"workspace_id": self.id, **ids},
            "actor": dict(actor or self.token_actor()),
        }
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a listener failed on %s", event_type)

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

    def values_out(self, container: Container, item: Valued) -> JSON:
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
            "values": self.values_out(obj, record),
        }

    def render_entry(self, entry: Entry) -> JSON:
        lst = self.get_list(entry.list_slug)
        return {
            "id": {"workspace_id": self.id, "list_id": lst.id, "entry_id": entry.id},
            "parent_record_id": entry.parent_record_id,
            "parent_object": entry.parent_object,
            "created_at": entry.created_at,
            "entry_values": self.values_out(lst, entry),
        }

    # -- writing values -----------------------------------------------------------------

    def resolve_record(self, target: str, matching: str, raw: list[Any]) -> str:
        obj = self.get_object(target)
        records = self.records[obj.slug]
        if matching == "record_id":
            if raw[0] not in records:
                raise not_found("Record", str(raw[0]))
            return str(raw[0])
        attribute = obj.attribute(matching)
        if attribute is None:
            raise not_found("Attribute", matching)
        wanted = {values.identity(self.parse(attribute, item)) for item in raw}
        found = self.index.records_with(obj.slug, attribute.id, wanted, records)
        if found:
            return found[0].id
        raise FakeAttioError(
            400, "value_not_found", f'No "{obj.slug}" record matches "{matching}".'
        )

    def parse(self, attribute: Attribute, raw: Any) -> JSON:
        return values.parse(
            attribute,
            raw,
            resolve_record=self.resolve_record,
            resolve_member=self.member_by_email,
            object_slug=lambda target: self.get_object(target).slug,
        )

    def parse_values(self, container: Container, raw_values: Any) -> dict[str, list[JSON]]:
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
                value = self.parse(attribute, item)
                unique.setdefault(values.identity(value), value)
            parsed[attribute.id] = list(unique.values())
        return parsed

    def check_unique(
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
            if isinstance(container, Object):
                records = self.records[container.slug]
                holders = self.index.find(container.slug, attribute_id, keys, records.values())
                taken = bool(holders - {item_id})
            else:
                taken = any(
                    other.id != item_id
                    and keys & {values.identity(v) for v in other.current(attribute_id)}
                    for other in siblings
                )
            if taken:
                raise FakeAttioError(
                    400,
                    "uniqueness_conflict",
                    f'A record with the same value for unique attribute "{attribute.slug}" '
                    "already exists.",
                )

    def write_values(
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
            before = list(current)
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
            if isinstance(container, Object):
                after = [v for v in history if v["active_until"] is None]
                self.index.changed(container.slug, attribute_id, item.id, before, after)
        return changed

    def check_required(self, container: Container, parsed: dict[str, list[JSON]]) -> None:
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

    def create_record(
        self,
        object: str,
        raw_values: Any,
        *,
        actor: JSON | None = None,
        record_id: str | None = None,
    ) -> Record:
        obj = self.get_object(object)
        parsed = self.parse_values(obj, raw_values)
        self.check_required(obj, parsed)
        record = Record(id=record_id or new_id(), created_at=self.now(), object_slug=obj.slug)
        self.check_unique(obj, self.records[obj.slug].values(), record.id, parsed)
        self.write_values(obj, record, parsed, "create", actor or self.token_actor())
        self.records[obj.slug][record.id] = record
        self.emit("record.created", {"object_id": obj.id, "record_id": record.id}, actor)
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
        parsed = self.parse_values(obj, raw_values)
        self.check_unique(obj, self.records[obj.slug].values(), record.id, parsed)
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
            if self.write_values(
                obj, record, {attribute_id: parsed[attribute_id]}, mode, actor or self.token_actor()
            ):
                self.emit(
                    "record.updated",
                    {"object_id": obj.id, "record_id": record.id, "attribute_id": attribute_id},
                    actor,
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
        parsed = self.parse_values(obj, raw_values)
        wanted = {values.identity(v) for v in parsed.get(attribute.id, [])}
        if not wanted:
            raise FakeAttioError(
                400,
                "missing_value",
                f'The matching attribute "{attribute.slug}" must have a value.',
            )
        records = self.records[obj.slug]
        found = self.index.records_with(obj.slug, attribute.id, wanted, records)
        if len(found) > 1:
            raise FakeAttioError(
                400,
                "multiple_match_results",
                f'Multiple records match "{attribute.slug}"; cannot assert one.',
            )
        if not found:
            return self.create_record(obj.slug, raw_values, actor=actor)
        record = found[0]
        self.check_unique(obj, self.records[obj.slug].values(), record.id, parsed)
        self._record_changed(obj, record, parsed, "append", actor)
        return record

    def delete_record(self, object: str, record_id: str, *, actor: JSON | None = None) -> None:
        obj = self.get_object(object)
        self.index.forget(obj.slug, self.get_record(obj.slug, record_id))
        del self.records[obj.slug][record_id]
        for lst in self.lists.values():
            for entry_id, entry in list(self.entries[lst.slug].items()):
                if entry.parent_record_id == record_id:
                    self.delete_entry(lst, entry_id, actor=actor)
        self.emit("record.deleted", {"object_id": obj.id, "record_id": record_id}, actor)

    def merge_records(
        self, object: str, keep: str, duplicate: str, *, actor: JSON | None = None
    ) -> Record:
        """Merge ``duplicate`` into ``keep``, as a person does in Attio's app (the
        API has no merge): ``keep`` gains the values it lacks, ``duplicate`` is
        gone, and one ``record.merged`` event says so."""
        obj = self.get_object(object)
        winner = self.get_record(obj.slug, keep)
        loser = self.get_record(obj.slug, duplicate)
        self.index.forget(obj.slug, loser)
        for attribute_id in loser.values:
            if not winner.current(attribute_id):
                gained = loser.current(attribute_id)
                winner.values.setdefault(attribute_id, []).extend(gained)
                self.index.changed(obj.slug, attribute_id, winner.id, [], gained)
        del self.records[obj.slug][duplicate]
        self.emit(
            "record.merged",
            {
                "object_id": obj.id,
                "record_id": keep,
                "duplicate_object_id": obj.id,
                "duplicate_record_id": duplicate,
            },
            actor,
        )
        return winner

    def delete_entry(self, lst: List, entry_id: str, *, actor: JSON | None = None) -> None:
        """Remove an entry (also when its record goes), with Attio's event."""
        entry = self.entries[lst.slug].pop(entry_id)
        parent = self.get_object(entry.parent_object)
        ids = {
            "list_id": lst.id,
            "entry_id": entry_id,
            "parent_object_id": parent.id,
            "parent_record_id": entry.parent_record_id,
        }
        self.emit("list-entry.deleted", ids, actor)

    def query(self, container: Container, items: Iterable[V], body: Any) -> list[V]:
        if not isinstance(body, dict):
            raise query.filter_error("The body must be an object.")
        render = self._renderer(container)
        condition = body.get("filter")
        if condition:
            # Check the filter once against an empty item: a bad filter is an
            # error even when there is nothing to match.
            empty = Valued(id="", created_at="")
            query.matches(empty, container, condition, render, self._follow)
        selected = [
            item
            for item in items
            if not condition or query.matches(item, container, condition, render, self._follow)
        ]
        selected = query.sort_items(selected, container, body.get("sorts"), render)
        # A query's every 400 is a filter_error, as Attio's description says.
        limit = whole_number(body.get("limit", 500), "limit", code="filter_error")
        offset = whole_number(body.get("offset", 0), "offset", code="filter_error")
        return selected[offset : offset + limit]

    def _follow(
        self, item: Valued, container: Container, attribute_slug: str
    ) -> list[tuple[Valued, Container, Render]]:
        """What an attribute of ``item`` points at: an entry's parent record,
        or the records a record reference names."""
        if attribute_slug == "parent_record" and isinstance(container, List):
            if not isinstance(item, Entry):
                return []  # the empty item a filter is first checked against
            obj = self.get_object(item.parent_object)
            record = self.records[obj.slug].get(item.parent_record_id)
            if record is None:
                return []
            return [(record, obj, self._renderer(obj))]
        attribute = container.attribute(attribute_slug)
        if attribute is None:
            raise query.filter_error(f'Unknown attribute slug "{attribute_slug}" in path.')
        if attribute.type != "record-reference":
            raise query.filter_error(f'"{attribute_slug}" does not point at records.')
        reached: list[tuple[Valued, Container, Render]] = []
        for value in item.current(attribute.id):
            obj = self.get_object(str(value.get("target_object")))
            record = self.records[obj.slug].get(str(value.get("target_record_id")))
            if record is not None:
                reached.append((record, obj, self._renderer(obj)))
        return reached

    def attribute_values(
        self, object: str, record_id: str, attribute_slug: str, *, show_historic: bool
    ) -> list[JSON]:
        obj = self.get_object(object)
        return self.values_of(
            obj, self.get_record(obj.slug, record_id), attribute_slug, show_historic
        )

    def values_of(
        self, container: Container, item: Valued, attribute_slug: str, show_historic: bool
    ) -> list[JSON]:
        """An attribute's values on a record or entry (former ones too if asked)."""
        attribute = container.attribute(attribute_slug)
        if attribute is None:
            raise not_found("Attribute", attribute_slug)
        stored = item.values.get(attribute.id, [])
        if not show_historic:
            stored = [v for v in stored if v["active_until"] is None]
        return [self.render_value(container, attribute, _public(v)) for v in stored]


def _public(stored: JSON) -> JSON:
    return {k: v for k, v in stored.items() if not k.startswith("_")}
