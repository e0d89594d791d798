"""Attio values for people: simplified reads, and write values from simple ones.

Attio returns every attribute as an array of value objects.  Rules and
plugins see a simpler shape: a single-valued attribute as one scalar (or a
small dict for names and references), a multiselect attribute as a list.
Going the other way, :func:`to_input_values` turns what a rule writes
(``"ada@example.com"``, ``"Lead"``, ``12000``) into Attio's write objects for
the attribute's type, so every request carries arrays of input values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attio_automate.attio.schema import AttributeInfo

JSON = dict[str, Any]


def simplify_value(value: Mapping[str, Any]) -> Any:
    """One Attio read value as a plain scalar or small dict."""
    kind = value.get("attribute_type")
    if kind == "email-address":
        return value.get("email_address")
    if kind == "domain":
        return value.get("domain")
    if kind == "phone-number":
        return value.get("phone_number") or value.get("original_phone_number")
    if kind == "personal-name":
        return {k: value.get(k) for k in ("first_name", "last_name", "full_name")}
    if kind in ("status", "select"):
        choice = value.get("status" if kind == "status" else "option")
        return choice.get("title") if isinstance(choice, Mapping) else choice
    if kind == "currency":
        return value.get("currency_value")
    if kind == "record-reference":
        return {"object": value.get("target_object"), "record_id": value.get("target_record_id")}
    if kind == "actor-reference":
        return {"type": value.get("referenced_actor_type"), "id": value.get("referenced_actor_id")}
    if kind in ("location", "interaction"):
        return {
            k: v
            for k, v in value.items()
            if k not in ("attribute_type", "active_from", "active_until", "created_by_actor")
        }
    return value.get("value")


def simplify_values(
    values: Mapping[str, Sequence[Mapping[str, Any]]],
    attributes: Mapping[str, AttributeInfo] | None = None,
) -> JSON:
    """Every attribute simplified: multiselect ones as lists, others as one value.

    Without ``attributes`` (slug -> info), an attribute with more than one
    value is taken for a multiselect one.
    """
    simple: JSON = {}
    for slug, items in values.items():
        info = (attributes or {}).get(slug)
        converted = [simplify_value(item) for item in items]
        multiselect = info.is_multiselect if info is not None else len(converted) > 1
        simple[slug] = converted if multiselect else (converted[0] if converted else None)
    return simple


def to_input_value(attribute: AttributeInfo, value: Any) -> Any:
    """One simple value as Attio's write object for ``attribute``'s type.

    Dicts are taken to be write objects already and pass unchanged.
    """
    if isinstance(value, Mapping):
        return dict(value)
    kind = attribute.type
    if kind == "email-address":
        return {"email_address": str(value)}
    if kind == "domain":
        return {"domain": str(value)}
    if kind == "status":
        return {"status": str(value)}
    if kind == "select":
        return {"option": str(value)}
    if kind == "currency":
        return {"currency_value": value}
    if kind == "phone-number":
        return {"original_phone_number": str(value)}
    if kind == "personal-name":
        first, _, last = str(value).strip().partition(" ")
        return {"first_name": first, "last_name": last, "full_name": str(value).strip()}
    if kind == "record-reference":
        return {"target_object": attribute.relationship_object, "target_record_id": str(value)}
    if kind == "actor-reference":
        return {"workspace_member_email_address": str(value)}
    return {"value": value}


def to_input_values(attribute: AttributeInfo, value: Any) -> list[Any]:
    """A simple value, or a list of them, as the array Attio takes."""
    items = value if isinstance(value, list | tuple) else [value]
    return [to_input_value(attribute, item) for item in items if item is not None]
