"""The schema cache: slugs and ids of objects, lists and attributes.

Attio's webhook events carry ids only; rules are written with slugs.  The
cache answers both ways and knows each attribute's type, reloading what it
holds after ``ttl`` seconds or when told the schema changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from attio_automate.attio.client import AttioClient
from attio_automate.clock import Clock, SystemClock
from attio_automate.errors import AttioAPIError

Target = Literal["objects", "lists"]


@dataclass(frozen=True)
class AttributeInfo:
    """One attribute of an object or list."""

    id: str
    slug: str
    title: str
    type: str
    is_multiselect: bool
    is_unique: bool
    #: Object slug a record-reference attribute points at, if Attio says.
    relationship_object: str | None = None


@dataclass(frozen=True)
class AttributeSet:
    """The attributes of one object or list, by slug and by id."""

    by_slug: Mapping[str, AttributeInfo]
    by_id: Mapping[str, AttributeInfo]

    def get(self, slug_or_id: str) -> AttributeInfo | None:
        """The attribute with this slug or id, if there is one."""
        return self.by_slug.get(slug_or_id) or self.by_id.get(slug_or_id)


@dataclass(frozen=True)
class ObjectInfo:
    """One object (people, companies, ...)."""

    id: str
    slug: str
    singular_noun: str
    plural_noun: str


@dataclass(frozen=True)
class ListInfo:
    """One list, and the object slug its entries belong to."""

    id: str
    slug: str
    name: str
    parent_object: str


@dataclass
class _Entry:
    value: Any
    loaded_at: float


class SchemaCache:
    """Cached schema lookups through ``client``.

    Every lookup takes a slug or an id.  Unknown names raise the same
    :class:`AttioAPIError` (404 ``not_found``) that Attio would.
    """

    def __init__(
        self, client: AttioClient, *, ttl: float = 300.0, clock: Clock | None = None
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._clock = clock or SystemClock()
        self._entries: dict[tuple[str, ...], _Entry] = {}
        self._lock = anyio.Lock()

    def invalidate(self, target: Target | None = None, identifier: str | None = None) -> None:
        """Forget cached schema: everything, or one object's or list's attributes."""
        if target is None:
            self._entries.clear()
            return
        self._entries.pop(("objects",) if target == "objects" else ("lists",), None)
        for key in [k for k in self._entries if k[0] == "attributes" and k[1] == target]:
            if identifier is None or identifier in key[2:]:
                del self._entries[key]

    async def object(self, slug_or_id: str) -> ObjectInfo:
        """The object with this slug or id."""
        objects: dict[str, ObjectInfo] = await self._load(("objects",), self._fetch_objects)
        found = objects.get(slug_or_id)
        if found is None:
            raise _not_found("Object", slug_or_id)
        return found

    async def list(self, slug_or_id: str) -> ListInfo:
        """The list with this slug or id."""
        lists: dict[str, ListInfo] = await self._load(("lists",), self._fetch_lists)
        found = lists.get(slug_or_id)
        if found is None:
            raise _not_found("List", slug_or_id)
        return found

    async def attributes(self, target: Target, slug_or_id: str) -> AttributeSet:
        """The attributes of the object or list with this slug or id."""
        parent = await (self.object(slug_or_id) if target == "objects" else self.list(slug_or_id))

        async def fetch() -> AttributeSet:
            return _attribute_set(await self._client.list_attributes(target, parent.id))

        result: AttributeSet = await self._load(
            ("attributes", target, parent.id, parent.slug), fetch
        )
        return result

    async def attribute(self, target: Target, parent: str, slug_or_id: str) -> AttributeInfo:
        """One attribute of an object or list."""
        found = (await self.attributes(target, parent)).get(slug_or_id)
        if found is None:
            raise _not_found("Attribute", slug_or_id)
        return found

    async def _load(self, key: tuple[str, ...], fetch: Any) -> Any:
        entry = self._entries.get(key)
        if entry is not None and self._clock.monotonic() - entry.loaded_at < self._ttl:
            return entry.value
        async with self._lock:
            # Whoever waited for the lock may find the work done.
            entry = self._entries.get(key)
            if entry is not None and self._clock.monotonic() - entry.loaded_at < self._ttl:
                return entry.value
            value = await fetch()
            self._entries[key] = _Entry(value, self._clock.monotonic())
            return value

    async def _fetch_objects(self) -> dict[str, ObjectInfo]:
        found: dict[str, ObjectInfo] = {}
        for raw in await self._client.list_objects():
            info = ObjectInfo(
                id=raw["id"]["object_id"],
                slug=raw.get("api_slug") or raw["id"]["object_id"],
                singular_noun=raw.get("singular_noun") or "",
                plural_noun=raw.get("plural_noun") or "",
            )
            found[info.id] = info
            found[info.slug] = info
        return found

    async def _fetch_lists(self) -> dict[str, ListInfo]:
        found: dict[str, ListInfo] = {}
        for raw in await self._client.list_lists():
            parents = raw.get("parent_object") or [""]
            info = ListInfo(
                id=raw["id"]["list_id"],
                slug=raw["api_slug"],
                name=raw.get("name", ""),
                parent_object=parents[0],
            )
            found[info.id] = info
            found[info.slug] = info
        return found


def _attribute_set(raws: list[dict[str, Any]]) -> AttributeSet:
    by_slug: dict[str, AttributeInfo] = {}
    by_id: dict[str, AttributeInfo] = {}
    for raw in raws:
        relationship = raw.get("relationship") or {}
        config = raw.get("config") or {}
        record_reference = config.get("record_reference") or {}
        allowed = record_reference.get("allowed_object_ids") or []
        info = AttributeInfo(
            id=raw["id"]["attribute_id"],
            slug=raw["api_slug"],
            title=raw.get("title", ""),
            type=raw["type"],
            is_multiselect=bool(raw.get("is_multiselect")),
            is_unique=bool(raw.get("is_unique")),
            relationship_object=relationship.get("object_slug")
            or (allowed[0] if allowed else None),
        )
        by_slug[info.slug] = info
        by_id[info.id] = info
    return AttributeSet(by_slug=by_slug, by_id=by_id)


def _not_found(kind: str, name: str) -> AttioAPIError:
    return AttioAPIError(
        status_code=404,
        type="invalid_request_error",
        code="not_found",
        message=f'{kind} with slug/ID "{name}" not found.',
    )
