"""Exporting an object's records or a list's entries to JSON Lines or CSV,
streamed page by page at the client's pace (memory flat in the count).

The file is written beside its name and moved into place when complete, so
an export that stops part-way never leaves a file that looks whole.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import AttributeSet, SchemaCache
from attio_automate.attio.values import simplify_values
from attio_automate.errors import ConfigError

Progress = Callable[[int], None]


async def export(
    attio: AttioClient,
    schema: SchemaCache,
    *,
    to: Path,
    object: str | None = None,
    list: str | None = None,
    progress: Progress = lambda count: None,
) -> int:
    """Write every record of ``object`` (or entry of ``list``) to ``to``
    (``.jsonl`` or ``.csv``); how many were written."""
    suffix = to.suffix.lower()
    if suffix not in (".jsonl", ".ndjson", ".csv"):
        raise ConfigError([f"{to}: export writes .jsonl or .csv files"])
    if (object is None) == (list is None):
        raise ConfigError(["export an object or a --list, one of the two"])
    if list is not None:
        attributes = await schema.attributes("lists", list)
        items = _items(attio.query_entries(list), attributes, "entry_id", "entry_values")
    else:
        attributes = await schema.attributes("objects", str(object))
        items = _items(attio.query_records(str(object)), attributes, "record_id", "values")
    partial = to.with_name(f".{to.name}.partial")
    count = 0
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            if suffix == ".csv":
                key = "entry_id" if list is not None else "record_id"
                columns = [key, *(["parent_record_id"] if list is not None else [])]
                columns += sorted(attributes.by_slug)
                writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
                writer.writeheader()
                async for item in items:
                    writer.writerow({k: _cell(v) for k, v in item.items()})
                    count += 1
                    progress(count)
            else:
                async for item in items:
                    handle.write(json.dumps(item, default=str, ensure_ascii=False) + "\n")
                    count += 1
                    progress(count)
        os.replace(partial, to)
    finally:
        partial.unlink(missing_ok=True)
    return count


async def _items(
    pages: AsyncIterator[dict[str, Any]], attributes: AttributeSet, key: str, values_key: str
) -> AsyncIterator[dict[str, Any]]:
    async for raw in pages:
        item: dict[str, Any] = {key: raw["id"][key]}
        if "parent_record_id" in raw:
            item["parent_record_id"] = raw["parent_record_id"]
        item.update(simplify_values(raw.get(values_key) or {}, attributes.by_slug))
        yield item


def _cell(value: Any) -> Any:
    """A simplified value as one CSV cell (several values joined by ``; ``)."""
    if isinstance(value, list):
        return "; ".join(str(_cell(v)) for v in value if v is not None)
    if isinstance(value, dict):
        return value.get("full_name") or value.get("record_id") or json.dumps(value)
    return value
