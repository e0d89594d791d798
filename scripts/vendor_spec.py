"""Regenerate the trimmed copy of Attio's OpenAPI description used by the tests.

Usage::

    python scripts/vendor_spec.py [SOURCE] [DEST]

SOURCE defaults to ``../shared/attio/openapi.json`` (Attio's published
description, converted to JSON); DEST defaults to
``src/attio_automate/testing/spec/attio-openapi.json``.

The copy drops prose (descriptions, examples, summaries, vendor extensions) and
applies the patches below.  Each patch fixes one known defect of the published
document, named and explained, so that validation stays strict everywhere else.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

DROP_KEYS = frozenset(
    {
        "description",
        "example",
        "examples",
        "summary",
        "tags",
        "security",
        "x-speakeasy-name-override",
        "x-speakeasy-group",
    }
)

Json = Any


def strip_prose(node: Json) -> Json:
    """Remove keys that only carry prose; schemas keep their meaning."""
    if isinstance(node, dict):
        # "properties" maps names to schemas: a property named like a prose
        # key (a "description" attribute) must survive.
        return {
            key: (
                {name: strip_prose(sub) for name, sub in value.items()}
                if key == "properties"
                else strip_prose(value)
            )
            for key, value in node.items()
            if key == "properties" or key not in DROP_KEYS
        }
    if isinstance(node, list):
        return [strip_prose(item) for item in node]
    return node


def walk(node: Json, visit: Callable[[dict[str, Json]], int]) -> int:
    """Apply ``visit`` to every object in the document; return the total count."""
    count = 0
    if isinstance(node, dict):
        count += visit(node)
        for value in node.values():
            count += walk(value, visit)
    elif isinstance(node, list):
        for item in node:
            count += walk(item, visit)
    return count


def patch_nullable(schema: dict[str, Json]) -> int:
    """`nullable: true` is OpenAPI 3.0 vocabulary; 3.1 (JSON Schema 2020-12)
    ignores it, so `created_by_actor.id` and `.type` would reject the null
    that Attio sends for system actors.  Express it as a `null` type."""
    if schema.pop("nullable", None) is not True:
        return 0
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return 1


def patch_nullable_enums(schema: dict[str, Json]) -> int:
    """Several fields are typed `["string", "null"]` with an enum that lacks
    null (`currency_code`, `country_code`, `workspace_access`...).  JSON
    Schema checks `type` and `enum` independently, so the null the type admits
    would fail the enum.  Add null to such enums."""
    kind = schema.get("type")
    enum = schema.get("enum")
    if isinstance(kind, list) and "null" in kind and isinstance(enum, list) and None not in enum:
        schema["enum"] = [*enum, None]
        return 1
    return 0


def patch_timestamp_format(schema: dict[str, Json]) -> int:
    """Timestamp attribute values declare `format: date`, but Attio returns
    and accepts full RFC 3339 date-times (`2023-01-01T15:00:00.000000000Z`).
    Only the `value` of schemas discriminated by `attribute_type: timestamp`
    is changed; real `date` values keep `format: date`."""
    props = schema.get("properties")
    if not isinstance(props, dict):
        return 0
    attribute_type = props.get("attribute_type")
    if not isinstance(attribute_type, dict) or attribute_type.get("enum") != ["timestamp"]:
        return 0
    value = props.get("value")
    if isinstance(value, dict) and value.get("format") == "date":
        value["format"] = "date-time"
        return 1
    return 0


#: Codes Attio documents in its guides but the description never lists.
DOCUMENTED_ERROR_CODES = ("uniqueness_conflict",)


def _error_code_enum(schema: dict[str, Json]) -> list[Json] | None:
    """The ``code`` enum of an error body schema, if ``schema`` is one."""
    props = schema.get("properties")
    if not isinstance(props, dict) or set(props) != {"status_code", "type", "code", "message"}:
        return None
    code = props["code"]
    return code.get("enum") if isinstance(code, dict) else None


def patch_error_codes(document: Json) -> int:
    """Each error response lists one example code for its status (a 400 to
    `PATCH .../records/{id}` lists only `missing_value`), though the same
    status carries others (`validation_type`, `value_not_found`,
    `uniqueness_conflict`...).  Allow, on every error response, any code the
    document lists for any error, plus the few documented elsewhere.  Status
    and type stay as declared."""
    codes: set[str] = set(DOCUMENTED_ERROR_CODES)

    def collect(schema: dict[str, Json]) -> int:
        enum = _error_code_enum(schema)
        codes.update(enum or ())
        return 0

    def widen(schema: dict[str, Json]) -> int:
        if _error_code_enum(schema) is None:
            return 0
        schema["properties"]["code"]["enum"] = sorted(codes)
        return 1

    walk(document, collect)
    return walk(document, widen)


def patch_newer_fields(document: Json) -> int:
    """Attio's API has moved on from the published description: tasks carry
    ``completed_at`` (when they were completed, or null), and ``GET /v2/self``
    says the token's ``token_level``.  Clients generated from Attio's current
    description read both, so the copy declares them (optional, so answers
    without them still fit)."""
    count = 0
    task = document.get("components", {}).get("schemas", {}).get("task")
    if isinstance(task, dict) and "completed_at" not in task.get("properties", {}):
        task["properties"]["completed_at"] = {"type": ["string", "null"], "format": "date-time"}
        count += 1
    answer = (
        document.get("paths", {})
        .get("/v2/self", {})
        .get("get", {})
        .get("responses", {})
        .get("200", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
    )
    for branch in answer.get("anyOf", []):
        properties = branch.get("properties", {})
        if properties.get("active", {}).get("enum") != [False] and "token_level" not in properties:
            properties["token_level"] = {"type": "string"}
            count += 1
    return count


PATCHES: list[Callable[[dict[str, Json]], int]] = [
    patch_nullable,
    patch_nullable_enums,
    patch_timestamp_format,
]


def build(spec: Json) -> tuple[Json, dict[str, int]]:
    """Return the trimmed, patched document and how often each patch applied."""
    trimmed = strip_prose(spec)
    counts = {patch.__name__: walk(trimmed, patch) for patch in PATCHES}
    counts[patch_error_codes.__name__] = patch_error_codes(trimmed)
    counts[patch_newer_fields.__name__] = patch_newer_fields(trimmed)
    return trimmed, counts


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    source = Path(argv[1]) if len(argv) > 1 else root.parent / "shared" / "attio" / "openapi.json"
    dest = (
        Path(argv[2])
        if len(argv) > 2
        else root / "src" / "attio_automate" / "testing" / "spec" / "attio-openapi.json"
    )
    spec = json.loads(source.read_text(encoding="utf-8"))
    trimmed, counts = build(spec)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(
        json.dumps(trimmed, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8"
    )
    for name, count in counts.items():
        print(f"{name}: {count} schemas patched")
    print(f"wrote {dest} ({dest.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
