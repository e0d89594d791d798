"""List entries of the fake workspace: create, assert by parent, update."""

from __future__ import annotations

from typing import Any

from attio_automate.testing.fake.model import JSON, Entry, FakeAttioError, List, new_id, not_found
from attio_automate.testing.fake.workspace import Workspace, WriteMode


def _parent(w: Workspace, lst: List, data: Any) -> tuple[str, str, Any]:
    if not isinstance(data, dict):
        raise FakeAttioError(400, "validation_type", "data must be an object.")
    parent_object = data.get("parent_object")
    parent_record_id = data.get("parent_record_id")
    if not isinstance(parent_object, str) or not isinstance(parent_record_id, str):
        raise FakeAttioError(
            400, "validation_type", "parent_object and parent_record_id are required."
        )
    obj = w.get_object(parent_object)
    if obj.slug != lst.parent_object:
        raise FakeAttioError(
            400,
            "validation_type",
            f'List "{lst.slug}" takes "{lst.parent_object}" records, not "{obj.slug}".',
        )
    w.get_record(obj.slug, parent_record_id)
    return obj.slug, parent_record_id, data.get("entry_values", {})


def get_entry(w: Workspace, list_slug: str, entry_id: str) -> Entry:
    lst = w.get_list(list_slug)
    entry = w.entries[lst.slug].get(entry_id)
    if entry is None:
        raise not_found("Entry", entry_id)
    return entry


def create_entry(
    w: Workspace,
    list_slug: str,
    data: Any,
    *,
    actor: JSON | None = None,
    entry_id: str | None = None,
) -> Entry:
    lst = w.get_list(list_slug)
    parent_object, parent_record_id, raw_values = _parent(w, lst, data)
    parsed = w.parse_values(lst, raw_values)
    entry = Entry(
        id=entry_id or new_id(),
        created_at=w.now(),
        list_slug=lst.slug,
        parent_object=parent_object,
        parent_record_id=parent_record_id,
    )
    w.write_values(lst, entry, parsed, "create", actor or w.token_actor())
    w.entries[lst.slug][entry.id] = entry
    w.emit(
        "list-entry.created",
        {
            "list_id": lst.id,
            "entry_id": entry.id,
            "parent_object_id": w.get_object(parent_object).id,
            "parent_record_id": parent_record_id,
        },
        actor,
    )
    return entry


def assert_entry(w: Workspace, list_slug: str, data: Any, *, actor: JSON | None = None) -> Entry:
    lst = w.get_list(list_slug)
    _, parent_record_id, raw_values = _parent(w, lst, data)
    found = [e for e in w.entries[lst.slug].values() if e.parent_record_id == parent_record_id]
    if len(found) > 1:
        raise FakeAttioError(
            400,
            "multiple_match_results",
            f'Record "{parent_record_id}" has several entries in list "{lst.slug}".',
        )
    if not found:
        return create_entry(w, lst.slug, data, actor=actor)
    return update_entry(w, lst.slug, found[0].id, raw_values, mode="append", actor=actor)


def update_entry(
    w: Workspace,
    list_slug: str,
    entry_id: str,
    raw_values: Any,
    *,
    mode: WriteMode,
    actor: JSON | None = None,
) -> Entry:
    lst = w.get_list(list_slug)
    entry = get_entry(w, lst.slug, entry_id)
    parsed = w.parse_values(lst, raw_values)
    for attribute_id, new_values in parsed.items():
        if w.write_values(lst, entry, {attribute_id: new_values}, mode, actor or w.token_actor()):
            w.emit(
                "list-entry.updated",
                {
                    "list_id": lst.id,
                    "entry_id": entry.id,
                    "attribute_id": attribute_id,
                    "parent_object_id": w.get_object(entry.parent_object).id,
                    "parent_record_id": entry.parent_record_id,
                },
                actor,
            )
    return entry


def entry_attribute_values(
    w: Workspace, list_slug: str, entry_id: str, attribute_slug: str, *, show_historic: bool
) -> list[JSON]:
    """An entry attribute's values, former ones too when ``show_historic``."""
    lst = w.get_list(list_slug)
    return w.values_of(lst, get_entry(w, lst.slug, entry_id), attribute_slug, show_historic)
