"""Attio's value formats: write forms in, read forms out.

Attio accepts several write forms for each attribute type (a bare string for
an email, ``{"email_address": ...}``, ...) and always answers with the full
read form.  :func:`parse` turns one write value into the type's read fields;
:func:`identity` gives the key two values are equal by (uniqueness, matching,
filters).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from attio_automate.testing.fake.model import JSON, Attribute, FakeAttioError

#: Looks up (target object, matching attribute slug, raw values) -> record id.
RecordResolver = Callable[[str, str, list[Any]], str]
#: Looks up a workspace member id by email address.
MemberResolver = Callable[[str], str | None]


def invalid(attribute: Attribute, why: str) -> FakeAttioError:
    return FakeAttioError(
        400,
        "validation_type",
        f'Invalid value was passed to attribute with slug "{attribute.slug}". {why}',
    )


def _field(attribute: Attribute, raw: Any, key: str, kinds: tuple[type, ...]) -> Any:
    """The value of a write form that is either bare or ``{key: value}``."""
    value = raw.get(key) if isinstance(raw, dict) else raw
    if isinstance(value, bool) and bool not in kinds:
        raise invalid(attribute, f"Expected {kinds[0].__name__}, got boolean.")
    if not isinstance(value, kinds):
        raise invalid(attribute, f"Expected {'/'.join(k.__name__ for k in kinds)}.")
    return value


def parse(
    attribute: Attribute,
    raw: Any,
    *,
    resolve_record: RecordResolver,
    resolve_member: MemberResolver,
    object_slug: Callable[[str], str] = str,
) -> JSON:
    """The read-form fields (with ``attribute_type``) of one write value.

    ``object_slug`` turns an object's id or slug into its slug: Attio takes
    either as a reference's ``target_object``."""
    kind = attribute.type
    fields: JSON
    if kind == "text":
        fields = {"value": _field(attribute, raw, "value", (str,))}
    elif kind in ("number", "rating"):
        fields = {"value": _field(attribute, raw, "value", (int, float))}
    elif kind == "checkbox":
        fields = {"value": _field(attribute, raw, "value", (bool,))}
    elif kind == "currency":
        amount = _field(attribute, raw, "currency_value", (int, float))
        fields = {"currency_value": amount, "currency_code": attribute.currency_code}
    elif kind == "date":
        text = _field(attribute, raw, "value", (str,))
        try:
            date.fromisoformat(text)
        except ValueError:
            raise invalid(attribute, f'"{text}" is not a date (YYYY-MM-DD).') from None
        fields = {"value": text}
    elif kind == "timestamp":
        text = _field(attribute, raw, "value", (str,))
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise invalid(attribute, f'"{text}" is not an ISO 8601 timestamp.') from None
        fields = {"value": text}
    elif kind == "domain":
        fields = _domain(attribute, _field(attribute, raw, "domain", (str,)))
    elif kind == "email-address":
        fields = _email(attribute, _field(attribute, raw, "email_address", (str,)))
    elif kind == "personal-name":
        fields = _name(attribute, raw)
    elif kind == "phone-number":
        number = _field(attribute, raw, "original_phone_number", (str,))
        code = raw.get("country_code") if isinstance(raw, dict) else None
        fields = {
            "original_phone_number": number,
            "country_code": code or "US",
            "phone_number": "+" + "".join(ch for ch in number if ch.isdigit()),
        }
    elif kind in ("status", "select"):
        key = "status" if kind == "status" else "option"
        name = _field(attribute, raw, key, (str,))
        choice = attribute.choice(name)
        if choice is None or choice.is_archived:
            raise FakeAttioError(
                400,
                "value_not_found",
                f'Cannot find {key} "{name}" for attribute "{attribute.slug}".',
            )
        fields = {key: choice.id}
    elif kind == "record-reference":
        fields = _reference(attribute, raw, resolve_record, object_slug)
    elif kind == "actor-reference":
        fields = _actor(attribute, raw, resolve_member)
    else:
        raise invalid(attribute, f"Attributes of type {kind} cannot be written.")
    fields["attribute_type"] = kind
    return fields


def _domain(attribute: Attribute, text: str) -> JSON:
    domain = text.strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    domain = domain.split("/")[0].removeprefix("www.")
    if "." not in domain or " " in domain:
        raise invalid(attribute, f'"{text}" is not a domain.')
    return {"domain": domain, "root_domain": ".".join(domain.split(".")[-2:])}


def _email(attribute: Attribute, text: str) -> JSON:
    address = text.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or " " in address:
        raise invalid(attribute, f'"{text}" is not an email address.')
    domain = domain.lower()
    return {
        "original_email_address": address,
        "email_address": address.lower(),
        "email_domain": domain,
        "email_root_domain": ".".join(domain.split(".")[-2:]),
        "email_local_specifier": local.split("+")[0].lower(),
    }


def _name(attribute: Attribute, raw: Any) -> JSON:
    if isinstance(raw, str):
        # Attio reads a bare string as "Last name(s), First name(s)" or a full name.
        last, comma, first = raw.partition(",")
        if comma:
            first, last = first.strip(), last.strip()
        else:
            first, _, last = raw.strip().partition(" ")
        raw = {"first_name": first, "last_name": last}
    if not isinstance(raw, dict):
        raise invalid(attribute, "Expected a name object or string.")
    first = raw.get("first_name") or ""
    last = raw.get("last_name") or ""
    full = raw.get("full_name") or " ".join(part for part in (first, last) if part)
    if not all(isinstance(part, str) for part in (first, last, full)):
        raise invalid(attribute, "Name parts must be strings.")
    return {"first_name": first, "last_name": last, "full_name": full}


def _reference(
    attribute: Attribute, raw: Any, resolve: RecordResolver, object_slug: Callable[[str], str]
) -> JSON:
    if isinstance(raw, str):
        raw = {"target_object": attribute.target_object, "target_record_id": raw}
    if not isinstance(raw, dict):
        raise invalid(attribute, "Expected a record reference object.")
    target = raw.get("target_object") or attribute.target_object
    if not isinstance(target, str):
        raise invalid(attribute, "Missing target_object.")
    target = object_slug(target)
    if attribute.target_object and target != attribute.target_object:
        raise invalid(attribute, f'References must point at "{attribute.target_object}".')
    record_id = raw.get("target_record_id")
    if isinstance(record_id, str):
        resolve(target, "record_id", [record_id])
        return {"target_object": target, "target_record_id": record_id}
    matching = [key for key in raw if key not in ("target_object", "target_record_id")]
    if len(matching) != 1 or not isinstance(raw[matching[0]], list):
        raise invalid(attribute, "Expected target_record_id or one matching attribute.")
    record_id = resolve(target, matching[0], raw[matching[0]])
    return {"target_object": target, "target_record_id": record_id}


def _actor(attribute: Attribute, raw: Any, resolve: MemberResolver) -> JSON:
    email = raw.get("workspace_member_email_address") if isinstance(raw, dict) else raw
    if isinstance(email, str):
        member_id = resolve(email)
        if member_id is None:
            raise FakeAttioError(
                400, "value_not_found", f'No workspace member with email "{email}".'
            )
        return {"referenced_actor_type": "workspace-member", "referenced_actor_id": member_id}
    if isinstance(raw, dict) and isinstance(raw.get("referenced_actor_id"), str):
        return {
            "referenced_actor_type": raw.get("referenced_actor_type", "workspace-member"),
            "referenced_actor_id": raw["referenced_actor_id"],
        }
    raise invalid(attribute, "Expected a workspace member.")


#: The field a value of each type is known by; "value" for the rest.
MAIN_FIELD = {
    "email-address": "email_address",
    "domain": "domain",
    "personal-name": "full_name",
    "phone-number": "phone_number",
    "status": "status",
    "select": "option",
    "record-reference": "target_record_id",
    "actor-reference": "referenced_actor_id",
    "currency": "currency_value",
}


def main_field(value: JSON) -> Any:
    """The field ``value`` is known by (a status or option as stored or rendered)."""
    return value.get(MAIN_FIELD.get(value["attribute_type"], "value"))


def identity(value: JSON) -> Any:
    """The key a value is compared by: equal keys are the same value."""
    found = main_field(value)
    if isinstance(found, dict):
        # A rendered status or option: its id.
        ids = found["id"]
        return ids.get("status_id") or ids.get("option_id")
    if value["attribute_type"] == "personal-name" and isinstance(found, str):
        return found.casefold()
    return found
