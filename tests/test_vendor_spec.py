"""The spec regeneration script: each patch does what it says, and only that."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "vendor_spec", ROOT / "scripts" / "vendor_spec.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def error_response(code: str) -> dict[str, object]:
    return {
        "type": "object",
        "properties": {
            "status_code": {"type": "number", "enum": [400]},
            "type": {"type": "string", "enum": ["invalid_request_error"]},
            "code": {"type": "string", "enum": [code]},
            "message": {"type": "string"},
        },
    }


SOURCE = {
    "paths": {
        "/v2/x": {
            "get": {
                "summary": "drop me",
                "description": "drop me",
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "description": {
                                            "type": "string",
                                            "description": "a field named description",
                                        },
                                        "actor": {"type": "string", "nullable": True},
                                        "currency_code": {
                                            "type": ["string", "null"],
                                            "enum": ["USD"],
                                        },
                                        "stamp": {
                                            "type": "object",
                                            "properties": {
                                                "attribute_type": {
                                                    "type": "string",
                                                    "enum": ["timestamp"],
                                                },
                                                "value": {"type": "string", "format": "date"},
                                            },
                                        },
                                        "day": {
                                            "type": "object",
                                            "properties": {
                                                "attribute_type": {
                                                    "type": "string",
                                                    "enum": ["date"],
                                                },
                                                "value": {"type": "string", "format": "date"},
                                            },
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "400": {
                        "content": {"application/json": {"schema": error_response("missing_value")}}
                    },
                    "404": {
                        "content": {"application/json": {"schema": error_response("not_found")}}
                    },
                },
            }
        }
    },
}


def test_build_strips_prose_and_applies_each_patch() -> None:
    script = load_script()
    built, counts = script.build(json.loads(json.dumps(SOURCE)))
    op = built["paths"]["/v2/x"]["get"]
    assert "summary" not in op
    assert "description" not in op
    props = op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert props["description"] == {"type": "string"}  # a property, kept
    assert props["actor"] == {"type": ["string", "null"]}
    assert props["currency_code"]["enum"] == ["USD", None]
    assert props["stamp"]["properties"]["value"]["format"] == "date-time"
    assert props["day"]["properties"]["value"]["format"] == "date"
    codes = op["responses"]["400"]["content"]["application/json"]["schema"]["properties"]["code"]
    assert set(codes["enum"]) == {"missing_value", "not_found", "uniqueness_conflict"}
    assert counts == {
        "patch_nullable": 1,
        "patch_nullable_enums": 1,
        "patch_timestamp_format": 1,
        "patch_error_codes": 2,
        "patch_newer_fields": 0,
    }


def test_the_newer_fields_are_declared_once() -> None:
    script = load_script()
    document: dict[str, Any] = {
        "components": {"schemas": {"task": {"type": "object", "properties": {}}}},
        "paths": {
            "/v2/self": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "anyOf": [
                                            {"properties": {"active": {"enum": [False]}}},
                                            {"properties": {"active": {"type": "boolean"}}},
                                        ]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    }
    assert script.patch_newer_fields(document) == 2
    assert script.patch_newer_fields(document) == 0
    task = document["components"]["schemas"]["task"]["properties"]
    assert task["completed_at"] == {"type": ["string", "null"], "format": "date-time"}
    self_answer = document["paths"]["/v2/self"]["get"]["responses"]["200"]
    branches = self_answer["content"]["application/json"]["schema"]["anyOf"]
    assert "token_level" not in branches[0]["properties"]  # an inactive token says nothing
    assert branches[1]["properties"]["token_level"] == {"type": "string"}


def test_vendored_copy_is_what_the_script_writes(tmp_path: Path) -> None:
    vendored = ROOT / "src" / "attio_automate" / "testing" / "spec" / "attio-openapi.json"
    document = json.loads(vendored.read_text())
    assert document["openapi"].startswith("3.1")
    # Re-running the patches on the vendored copy changes nothing: it is fully patched.
    script = load_script()
    again, counts = script.build(document)
    assert counts["patch_nullable"] == 0
    assert counts["patch_timestamp_format"] == 0
    assert again == document
