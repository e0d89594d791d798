"""Checks request and response bodies against Attio's OpenAPI description.

The description ships with the package (a trimmed, patched copy of Attio's
published document; ``scripts/vendor_spec.py`` regenerates it), so plugin
authors can check their own traffic too::

    spec = AttioSpec.load()
    spec.check_request("PUT", "/v2/objects/people/records", body)
    spec.check_response("PUT", "/v2/objects/people/records", 200, answer)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_SPEC_URI = "urn:attio-openapi"
#: Attio's error shape, for statuses the description does not list (429, 5xx).
_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "status_code": {"type": "number"},
        "type": {"type": "string"},
        "code": {"type": "string"},
        "message": {"type": "string"},
    },
    "required": ["status_code", "type", "code", "message"],
}


class ContractError(AssertionError):
    """A body does not match Attio's description."""


def _formats() -> FormatChecker:
    """Strict format checks that need no optional packages."""
    checker = FormatChecker(formats=())

    @checker.checks("uuid", raises=ValueError)
    def is_uuid(value: object) -> bool:
        return not isinstance(value, str) or str(UUID(value)) == value.lower()

    @checker.checks("date", raises=ValueError)
    def is_date(value: object) -> bool:
        return not isinstance(value, str) or bool(date.fromisoformat(value))

    @checker.checks("date-time", raises=ValueError)
    def is_datetime(value: object) -> bool:
        if not isinstance(value, str):
            return True
        # Python wants at most microseconds; Attio sends nanoseconds.
        trimmed = re.sub(r"(\.\d{6})\d+", r"\1", value)
        return "T" in value and datetime.fromisoformat(trimmed).tzinfo is not None

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(parts.scheme and parts.netloc)

    @checker.checks("email")
    def is_email(value: object) -> bool:
        return not isinstance(value, str) or "@" in value

    return checker


@dataclass(frozen=True)
class _Operation:
    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    method: str
    pointer: str


class AttioSpec:
    """Attio's OpenAPI description, ready to validate bodies."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._registry: Registry[Any] = Registry().with_resource(
            _SPEC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
        )
        self._formats = _formats()
        self._operations: list[_Operation] = []
        for template, operations in document["paths"].items():
            segments = template.strip("/").split("/")
            regex = "/".join("[^/]+" if s.startswith("{") else re.escape(s) for s in segments)
            literal = sum(1 for s in segments if not s.startswith("{"))
            for method in operations:
                if method in ("get", "post", "put", "patch", "delete"):
                    self._operations.append(
                        _Operation(
                            template,
                            re.compile(f"^/{regex}$"),
                            literal,
                            method.upper(),
                            "/paths/" + _escape(template) + "/" + method,
                        )
                    )
        # Most specific first: /v2/objects/records/search before /v2/objects/{object}/...
        self._operations.sort(key=lambda op: -op.literal_segments)

    @classmethod
    def load(cls) -> AttioSpec:
        """The description shipped with the package (parsed once per process)."""
        return _load()

    def operation(self, method: str, path: str) -> str:
        """The path template of the operation serving ``method path``."""
        return self._find(method, path).template

    def check_request(self, method: str, path: str, body: Any) -> None:
        """Raise :class:`ContractError` unless ``body`` fits the operation's request."""
        op = self._find(method, path)
        pointer = op.pointer + "/requestBody/content/application~1json/schema"
        if not self._exists(pointer):
            if body is not None:
                raise ContractError(f"{method} {op.template} takes no body")
            return
        self._validate(body, {"$ref": f"{_SPEC_URI}#{pointer}"}, f"request {method} {path}")
        values = _write_values(body)
        for slug, items in values:
            for item in items:
                self._validate(
                    item,
                    {"$ref": f"{_SPEC_URI}#/components/schemas/input-value"},
                    f"request {method} {path} value of {slug!r}",
                )

    def check_request_shape(self, method: str, path: str, body: Any) -> None:
        """Like :meth:`check_request`, but the request's shape only, not each
        write value (Attio also takes shorthands the description omits);
        operations the description lacks pass."""
        try:
            op = self._find(method, path)
        except ContractError:
            return
        pointer = op.pointer + "/requestBody/content/application~1json/schema"
        if not self._exists(pointer):
            return
        # Shape only: string formats and patterns are the handlers' to judge
        # (the fake takes readable ids in fixtures and http:// on loopback).
        validator = Draft202012Validator(
            {"$ref": f"{_SPEC_URI}#{pointer}"}, registry=self._registry
        )
        errors = [e for e in validator.iter_errors(_arrays(body)) if not _about_format(e)]
        if errors:
            errors.sort(key=lambda e: list(e.path))
            raise ContractError(
                f"{method} {op.template} does not match Attio's description:\n"
                + "\n".join(_describe(e) for e in errors[:5])
            )

    def check_response(
        self, method: str, path: str, status: int, body: Any, *, patterns: bool = True
    ) -> None:
        """Raise :class:`ContractError` unless ``body`` fits the operation's
        answer (``patterns=False`` lets strings differ from their patterns:
        the fake takes http:// webhook URLs on loopback, for tests)."""
        op = self._find(method, path)
        pointer = f"{op.pointer}/responses/{status}/content/application~1json/schema"
        if self._exists(pointer):
            schema: dict[str, Any] = {"$ref": f"{_SPEC_URI}#{pointer}"}
        elif status >= 400:
            schema = _ERROR_SCHEMA
        else:
            raise ContractError(f"{method} {op.template} does not answer {status}")
        self._validate(body, schema, f"response {status} to {method} {path}", patterns=patterns)

    def _find(self, method: str, path: str) -> _Operation:
        path = urlsplit(path).path
        for op in self._operations:
            if op.method == method.upper() and op.pattern.match(path):
                return op
        raise ContractError(f"{method} {path} is not an operation of Attio's API")

    def _exists(self, pointer: str) -> bool:
        node: Any = self.document
        for part in pointer.strip("/").split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or key not in node:
                return False
            node = node[key]
        return True

    def _validate(
        self, instance: Any, schema: dict[str, Any], what: str, *, patterns: bool = True
    ) -> None:
        validator = Draft202012Validator(
            schema, registry=self._registry, format_checker=self._formats
        )
        found = validator.iter_errors(instance)
        errors = sorted(
            (e for e in found if patterns or not _about_format(e)), key=lambda e: list(e.path)
        )
        if errors:
            raise ContractError(
                f"{what} does not match Attio's description:\n"
                + "\n".join(_describe(e) for e in errors[:5])
            )


def _describe(error: ValidationError) -> str:
    location = "/".join(str(p) for p in error.absolute_path) or "(root)"
    best = error
    if error.context:
        # For oneOf/anyOf, the deepest sub-error says most.
        best = max(error.context, key=lambda e: len(e.absolute_path))
    return f"  at {location}: {best.message[:300]}"


def _about_format(error: ValidationError) -> bool:
    """Whether ``error`` is only about a string's pattern (in every branch)."""
    if error.context:
        return all(_about_format(e) for e in error.context)
    return error.validator == "pattern"


def _arrays(body: Any) -> Any:
    """``body`` with single write values as one-item arrays: Attio takes a
    single value where its description asks for an array of them."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return body
    data = dict(body["data"])
    for key in ("values", "entry_values"):
        if isinstance(data.get(key), dict):
            data[key] = {
                slug: value if isinstance(value, list) else [value]
                for slug, value in data[key].items()
            }
    return {**body, "data": data}


def _write_values(body: Any) -> list[tuple[str, list[Any]]]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return []
    data = body["data"]
    found: list[tuple[str, list[Any]]] = []
    for key in ("values", "entry_values"):
        if isinstance(data.get(key), dict):
            found.extend((slug, v) for slug, v in data[key].items() if isinstance(v, list))
    return found


def _escape(template: str) -> str:
    return template.replace("~", "~0").replace("/", "~1")


@cache
def _load() -> AttioSpec:
    text = resources.files("attio_automate.testing").joinpath("spec/attio-openapi.json")
    return AttioSpec(json.loads(text.read_text(encoding="utf-8")))
