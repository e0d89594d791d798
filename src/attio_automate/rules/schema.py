"""The JSON Schema of a rules file (version 1)."""

from __future__ import annotations

from typing import Any

OPERATORS = ("equals", "not_equals", "in", "contains", "matches", "exists", "gt", "lt")

_FIELD_CONDITION: dict[str, Any] = {
    "type": "object",
    "properties": {"field": {"type": "string", "minLength": 1}, **{op: {} for op in OPERATORS}},
    "required": ["field"],
    "additionalProperties": False,
    "minProperties": 2,
    "maxProperties": 2,
}

CONDITION: dict[str, Any] = {
    "$id": "condition",
    "anyOf": [
        {"type": "string", "pattern": r"^\s*\{\{.*\}\}\s*$"},
        _FIELD_CONDITION,
        {
            "type": "object",
            "properties": {"any": {"type": "array", "items": {"$ref": "#"}}},
            "required": ["any"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"all": {"type": "array", "items": {"$ref": "#"}}},
            "required": ["all"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"not": {"$ref": "#"}},
            "required": ["not"],
            "additionalProperties": False,
        },
    ],
}

RULES_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "version": {"const": 1},
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
                    "description": {"type": "string"},
                    "on": {
                        "anyOf": [
                            {"type": "string", "minLength": 1},
                            {
                                "type": "array",
                                "items": {"type": "string", "minLength": 1},
                                "minItems": 1,
                            },
                        ]
                    },
                    "object": {"type": "string", "minLength": 1},
                    "list": {"type": "string", "minLength": 1},
                    "enabled": {"type": "boolean"},
                    "when": {"type": "array", "items": {"$ref": "condition"}},
                    "recheck": {"type": "boolean"},
                    "schedule": {"type": "string", "minLength": 1},
                    "timezone": {"type": "string", "minLength": 1},
                    "catch_up": {"type": "boolean"},
                    "query": {
                        "type": "object",
                        "properties": {
                            "object": {"type": "string", "minLength": 1},
                            "list": {"type": "string", "minLength": 1},
                            "filter": {"type": "object"},
                            "sorts": {"type": "array", "items": {"type": "object"}},
                            "limit": {"type": "integer", "minimum": 1},
                        },
                        "additionalProperties": False,
                    },
                    "on_retrigger": {"enum": ["replace", "keep", "parallel"]},
                    "cancel_on": {
                        "type": "object",
                        "properties": {
                            "on": {
                                "anyOf": [
                                    {"type": "string", "minLength": 1},
                                    {
                                        "type": "array",
                                        "items": {"type": "string", "minLength": 1},
                                        "minItems": 1,
                                    },
                                ]
                            },
                            "when": {"type": "array", "items": {"$ref": "condition"}},
                        },
                        "required": ["on"],
                        "additionalProperties": False,
                    },
                    "do": {
                        "type": "array",
                        "items": {
                            "anyOf": [
                                {
                                    "type": "object",
                                    "properties": {
                                        "action": {"type": "string", "minLength": 1},
                                        "with": {"type": "object"},
                                    },
                                    "required": ["action"],
                                    "additionalProperties": False,
                                },
                                {
                                    "type": "object",
                                    "properties": {
                                        "wait": {
                                            "anyOf": [
                                                {"type": "string", "minLength": 1},
                                                {"type": "number", "exclusiveMinimum": 0},
                                            ]
                                        },
                                        "until": {"type": "string", "minLength": 1},
                                        "timezone": {"type": "string", "minLength": 1},
                                        "catch_up": {"type": "boolean"},
                                    },
                                    "oneOf": [{"required": ["wait"]}, {"required": ["until"]}],
                                    "additionalProperties": False,
                                },
                            ]
                        },
                    },
                },
                "required": ["id", "do"],
                "anyOf": [{"required": ["on"]}, {"required": ["schedule", "query"]}],
                "additionalProperties": False,
            },
        },
    },
    "required": ["version", "rules"],
    "additionalProperties": False,
    "$defs": {"condition": CONDITION},
}
