"""Attio's values as mirror columns: an SQL type per attribute type, and the
simplified value a column holds.

A single-valued attribute becomes a column of its type (text, a number, a
boolean, a date, a timestamp); a multi-valued one (``email_addresses``) a
JSON array of the simplified values; the structured ones (a location, an
interaction) JSON.  Every value, in Attio's own form, is in ``attio_values``
besides, so nothing is lost by simplifying.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, Text
from sqlalchemy.types import TypeEngine

from attio_automate.attio.schema import AttributeInfo
from attio_automate.attio.values import simplify_value

_NUMBERS = frozenset({"number", "currency"})
_STRUCTURED = frozenset({"location", "interaction"})


def sql_type(attribute: AttributeInfo) -> TypeEngine[Any]:
    """The column type that holds ``attribute``'s simplified value."""
    kind = attribute.type
    if attribute.is_multiselect or kind in _STRUCTURED:
        return JSON()
    if kind in _NUMBERS:
        return Float()
    if kind == "rating":
        return Integer()
    if kind == "checkbox":
        return Boolean()
    if kind == "date":
        return Date()
    if kind == "timestamp":
        return DateTime(timezone=True)
    return Text()


def column_value(attribute: AttributeInfo, values: list[Mapping[str, Any]] | None) -> Any:
    """The simplified value of ``attribute`` from Attio's current values."""
    current = [v for v in values or [] if v.get("active_until") is None]
    simple = [_scalar(attribute, v) for v in current]
    if attribute.is_multiselect:
        return simple
    return simple[0] if simple else None


def _scalar(attribute: AttributeInfo, value: Mapping[str, Any]) -> Any:
    kind = attribute.type
    if kind == "personal-name":
        return value.get("full_name")
    if kind == "record-reference":
        return value.get("target_record_id")
    if kind == "actor-reference":
        return value.get("referenced_actor_id")
    simple = simplify_value(value)
    if simple is None or kind in _STRUCTURED:
        return simple
    if kind in _NUMBERS:
        return float(simple)
    if kind == "rating":
        return int(simple)
    if kind == "checkbox":
        return bool(simple)
    if kind == "date":
        return date.fromisoformat(str(simple)[:10])
    if kind == "timestamp":
        return parse_time(str(simple))
    return str(simple)


def parse_time(text: str) -> datetime:
    """An aware datetime from Attio's ISO 8601 timestamps (nanoseconds and Z)."""
    cleaned = text.replace("Z", "+00:00")
    head, dot, rest = cleaned.partition(".")
    if dot:
        # Attio writes up to nine fractional digits; Python reads six.
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        offset = rest[len(digits) :]
        cleaned = f"{head}.{digits[:6].ljust(6, '0')}{offset}"
    moment = datetime.fromisoformat(cleaned)
    # Attio's times are UTC; one written without an offset is taken as such.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def last_change(item: Mapping[str, Any], values_key: str = "values") -> datetime | None:
    """When Attio last changed ``item`` (a record or entry): the latest
    ``active_from`` of its values, or its creation."""
    latest: datetime | None = None
    for values in (item.get(values_key) or {}).values():
        for value in values or []:
            stamp = value.get("active_from")
            if stamp:
                moment = parse_time(str(stamp))
                latest = moment if latest is None or moment > latest else latest
    created = item.get("created_at")
    if latest is None and created:
        latest = parse_time(str(created))
    return latest
