"""A record or entry as Attio returns it, as the row its mirror holds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from attio_automate.attio.schema import AttributeSet
from attio_automate.sync.columns import column_value, last_change
from attio_automate.sync.spec import MirrorSpec


def row_for(
    mirror: MirrorSpec, attributes: AttributeSet, item: Mapping[str, Any], *, synced_at: datetime
) -> dict[str, Any]:
    """The mirror row of ``item`` (a record, or an entry for a list mirror):
    live, its values as Attio has them now."""
    values_key = "entry_values" if mirror.is_list else "values"
    values: Mapping[str, Any] = item.get(values_key) or {}
    ids = item.get("id") or {}
    row: dict[str, Any] = {mirror.key: str(ids[mirror.key])}
    if mirror.is_list:
        row["parent_record_id"] = item.get("parent_record_id")
        row["parent_object"] = item.get("parent_object")
    for column, slug in mirror.columns.items():
        attribute = attributes.get(slug)
        row[column] = column_value(attribute, values.get(slug)) if attribute else None
    changed = last_change(item, values_key)
    row.update(
        attio_values=dict(values),
        attio_updated_at=changed.astimezone(UTC) if changed else None,
        synced_at=synced_at,
        deleted=False,
        merged_into=None,
    )
    return row


def same_values(row: Mapping[str, Any] | None, item: Mapping[str, Any], mirror: MirrorSpec) -> bool:
    """Whether the mirror ``row`` holds what Attio says of ``item`` now."""
    if row is None or row.get("deleted"):
        return False
    values_key = "entry_values" if mirror.is_list else "values"
    return bool(row.get("attio_values") == dict(item.get(values_key) or {}))
