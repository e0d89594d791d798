"""``POST /v2/objects/records/search``: records by the text people see.

A record matches when the query (case-insensitive) is found in its name,
email addresses, domains or phone numbers.  Attio ranks fuzzily; here the
records come in the order they were created.
"""

from __future__ import annotations

from typing import Any

from attio_automate.testing.fake import values
from attio_automate.testing.fake.model import JSON, FakeAttioError, Object, Record
from attio_automate.testing.fake.workspace import Workspace

#: Attributes whose values a search looks through, with the field each is read by.
_SEARCHED = {
    "name": None,
    "email_addresses": "email_address",
    "domains": "domain",
    "phone_numbers": "original_phone_number",
}


def search(w: Workspace, body: Any) -> list[JSON]:
    """Matching records of the named objects, at most ``limit`` (25)."""
    data = body if isinstance(body, dict) else {}
    text = str(data.get("query", "")).casefold()
    limit = int(data.get("limit", 25))
    if not 1 <= limit <= 25:
        raise FakeAttioError(400, "validation_type", "limit must be between 1 and 25.")
    found: list[JSON] = []
    for slug in data.get("objects", []):
        obj = w.get_object(str(slug))
        for record in w.records[obj.slug].values():
            shown = _texts(obj, record)
            if text and not any(text in t.casefold() for texts in shown.values() for t in texts):
                continue
            found.append(_view(w, obj, record, shown))
    return found[:limit]


def _texts(obj: Object, record: Record) -> dict[str, list[str]]:
    shown: dict[str, list[str]] = {}
    for slug, field in _SEARCHED.items():
        attribute = obj.attribute(slug)
        if attribute is None:
            continue
        texts = []
        for value in record.current(attribute.id):
            if field is not None:
                texts.append(str(value.get(field) or ""))
            elif attribute.type == "personal-name":
                texts.append(str(value.get("full_name") or ""))
            else:
                texts.append(str(values.main_field(value) or ""))
        shown[slug] = [t for t in texts if t]
    return shown


def _view(w: Workspace, obj: Object, record: Record, shown: dict[str, list[str]]) -> JSON:
    view: JSON = {
        "id": {"workspace_id": w.id, "object_id": obj.id, "record_id": record.id},
        "record_text": (shown.get("name") or shown.get("domains") or [""])[0],
        "record_image": None,
        "object_slug": obj.slug,
    }
    if obj.slug == "people":
        view["email_addresses"] = shown.get("email_addresses", [])
        view["phone_numbers"] = shown.get("phone_numbers", [])
    elif obj.slug == "companies":
        view["domains"] = shown.get("domains", [])
    return view
