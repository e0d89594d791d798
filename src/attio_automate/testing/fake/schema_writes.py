"""Changing the fake workspace's schema: objects, attributes, select options
and statuses, as Attio's ``POST``/``PATCH`` endpoints do (request shapes are
checked against the description before these run)."""

from __future__ import annotations

import re
from typing import Any

from attio_automate.testing.fake.model import (
    JSON,
    Attribute,
    Choice,
    Container,
    FakeAttioError,
    List,
    Object,
    new_id,
    not_found,
)
from attio_automate.testing.fake.workspace import Workspace

_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise FakeAttioError(
            400, "validation_type", f"api_slug {value!r} must be snake_case (a-z, 0-9, _)."
        )
    return value


def _conflict(what: str, slug: str) -> FakeAttioError:
    return FakeAttioError(409, "slug_conflict", f'{what} with slug "{slug}" already exists.')


def create_object(w: Workspace, data: JSON) -> Object:
    slug = _slug(data["api_slug"])
    if slug in w.objects:
        raise _conflict("Object", slug)
    obj = Object(
        id=new_id(),
        slug=slug,
        created_at=w.now(),
        singular_noun=data["singular_noun"],
        plural_noun=data["plural_noun"],
    )
    w.objects[slug] = obj
    w.records[slug] = {}
    return obj


def update_object(w: Workspace, identifier: str, data: JSON) -> Object:
    obj = w.get_object(identifier)
    if "api_slug" in data and data["api_slug"] != obj.slug:
        slug = _slug(data["api_slug"])
        if slug in w.objects:
            raise _conflict("Object", slug)
        w.objects[slug] = w.objects.pop(obj.slug)
        w.records[slug] = w.records.pop(obj.slug)
        for record in w.records[slug].values():
            record.object_slug = slug
        # What names the object by slug follows it (ids never change).
        for container in [*w.objects.values(), *w.lists.values()]:
            for attribute in container.attributes.values():
                if attribute.target_object == obj.slug:
                    attribute.target_object = slug
        for lst in w.lists.values():
            if lst.parent_object == obj.slug:
                lst.parent_object = slug
                for entry in w.entries[lst.slug].values():
                    entry.parent_object = slug
        for note in w.notes.values():
            if note.parent_object == obj.slug:
                note.parent_object = slug
        obj.slug = slug
    obj.singular_noun = data.get("singular_noun", obj.singular_noun)
    obj.plural_noun = data.get("plural_noun", obj.plural_noun)
    return obj


def _event(container: Container, suffix: str) -> tuple[str, str]:
    if isinstance(container, List):
        return f"list-attribute.{suffix}", "list_id"
    return f"object-attribute.{suffix}", "object_id"


def _target(w: Workspace, config: Any, kind: str) -> str | None:
    if kind != "record-reference":
        return None
    allowed = ((config or {}).get("record_reference") or {}).get("allowed_objects") or []
    if not allowed:
        raise FakeAttioError(
            400, "validation_type", "record-reference attributes need allowed_objects."
        )
    return w.get_object(str(allowed[0])).slug


def create_attribute(
    w: Workspace, container: Container, data: JSON, *, actor: JSON | None = None
) -> Attribute:
    slug = _slug(data["api_slug"])
    if container.attribute(slug) is not None:
        raise _conflict("Attribute", slug)
    kind = data["type"]
    currency = ((data.get("config") or {}).get("currency") or {}).get("default_currency_code")
    attribute = Attribute(
        id=new_id(),
        slug=slug,
        title=data["title"],
        type=kind,
        is_multiselect=bool(data["is_multiselect"]),
        is_unique=bool(data["is_unique"]),
        is_required=bool(data["is_required"]),
        target_object=_target(w, data.get("config"), kind),
        currency_code=currency if kind == "currency" else None,
        description=data.get("description"),
        created_at=w.now(),
    )
    container.add(attribute)
    event, key = _event(container, "created")
    w.emit(event, {key: container.id, "attribute_id": attribute.id}, actor)
    return attribute


def update_attribute(
    w: Workspace, container: Container, identifier: str, data: JSON, *, actor: JSON | None = None
) -> Attribute:
    attribute = container.attribute(identifier)
    if attribute is None:
        raise not_found("Attribute", identifier)
    if attribute.is_system and set(data) - {"title", "description"}:
        raise FakeAttioError(
            400, "system_edit_unauthorized", "System attributes can only be retitled."
        )
    if "api_slug" in data and data["api_slug"] != attribute.slug:
        slug = _slug(data["api_slug"])
        if container.attribute(slug) is not None:
            raise _conflict("Attribute", slug)
        del container.attributes[attribute.slug]
        attribute.slug = slug
        container.add(attribute)
    for name in ("title", "description", "is_required", "is_unique", "is_archived"):
        if name in data:
            setattr(attribute, name, data[name])
    event, key = _event(container, "updated")
    w.emit(event, {key: container.id, "attribute_id": attribute.id}, actor)
    return attribute


def choice_attribute(container: Container, identifier: str, kind: str) -> Attribute:
    """The status (``kind`` status) or select attribute named, or 404."""
    attribute = container.attribute(identifier)
    if attribute is None or attribute.type != kind:
        raise not_found("Attribute", identifier)
    return attribute


def add_choice(attribute: Attribute, data: JSON) -> Choice:
    title = data["title"]
    if attribute.choice(title) is not None:
        raise FakeAttioError(409, "slug_conflict", f'"{title}" already exists.')
    choice = Choice(id=new_id(), title=title)
    attribute.choices.append(choice)
    return choice


def update_choice(attribute: Attribute, identifier: str, data: JSON) -> Choice:
    choice = attribute.choice(identifier)
    if choice is None:
        raise not_found("Option" if attribute.type == "select" else "Status", identifier)
    if "title" in data and data["title"].casefold() != choice.title.casefold():
        if attribute.choice(data["title"]) is not None:
            raise FakeAttioError(409, "slug_conflict", f'"{data["title"]}" already exists.')
        choice.title = data["title"]
    choice.is_archived = bool(data.get("is_archived", choice.is_archived))
    return choice
