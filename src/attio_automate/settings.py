"""Runner settings: defaults, a YAML file with per-environment overlays, the
environment.  Secrets come only from the environment and are never shown.

::

    # attio-automate.yaml
    store: {url: "sqlite:///data/attio-automate.db"}
    dispatcher: {concurrency: 8, max_attempts: 10}
    environments:
      production:
        attio: {rate_limit_fraction: 0.9}

``ATTIO_AUTOMATE_ENV`` picks the overlay (default ``development``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from attio_automate.attio.client import DEFAULT_BASE_URL
from attio_automate.errors import ConfigError
from attio_automate.store.base import shown_url
from attio_automate.yamlpos import YamlError, load

ENVIRONMENTS = ("development", "staging", "production")
_NUMBER = {"type": "number", "exclusiveMinimum": 0}
_COUNT = {"type": "integer", "minimum": 1}

_SECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "store": {
            "type": "object",
            "properties": {"url": {"type": "string"}, "retention_days": _NUMBER},
            "additionalProperties": False,
        },
        "server": {
            "type": "object",
            "properties": {
                "host": {"type": "string"},
                "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                "max_body_bytes": _COUNT,
                "drain_seconds": _NUMBER,
            },
            "additionalProperties": False,
        },
        "attio": {
            "type": "object",
            "properties": {
                "base_url": {"type": "string"},
                "rate_limit_fraction": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "reads_per_second": _NUMBER,
                "writes_per_second": _NUMBER,
                "schema_ttl": _NUMBER,
                "own_token_ids": {"type": "array", "items": {"type": "string"}},
                "loop_guard": {"type": "boolean"},
                "shared_budget": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
        "dispatcher": {
            "type": "object",
            "properties": {
                "concurrency": _COUNT,
                "max_attempts": _COUNT,
                "lease_seconds": _NUMBER,
                "poll_seconds": _NUMBER,
                "backoff_initial": _NUMBER,
                "backoff_max": _NUMBER,
            },
            "additionalProperties": False,
        },
        "rules": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "additionalProperties": False,
        },
        "plugins": {
            "type": "object",
            "properties": {
                "paths": {"type": "array", "items": {"type": "string"}},
                "installed": {"type": "boolean"},
                "settings": {"type": "object", "additionalProperties": {"type": "object"}},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
CONFIG_SCHEMA: dict[str, Any] = {
    **_SECTION_SCHEMA,
    "properties": {
        **_SECTION_SCHEMA["properties"],
        "environments": {
            "type": "object",
            "propertyNames": {"enum": list(ENVIRONMENTS)},
            "additionalProperties": _SECTION_SCHEMA,
        },
    },
}


@dataclass(frozen=True)
class Settings:
    """Everything the runner is told.  Secrets live here but never print."""

    environment: str = "development"
    store_url: str = "sqlite:///attio-automate.db"
    retention_days: float = 14.0
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 1024 * 1024
    drain_seconds: float = 20.0
    base_url: str = DEFAULT_BASE_URL
    rate_limit_fraction: float = 0.98
    reads_per_second: float = 100.0
    writes_per_second: float = 25.0
    schema_ttl: float = 300.0
    own_token_ids: tuple[str, ...] = ()
    loop_guard: bool = True
    #: Keep the rate-limit budget in the store, shared by every runner on it
    #: (None: yes on PostgreSQL, no on SQLite).
    shared_budget: bool | None = None
    concurrency: int = 8
    max_attempts: int = 10
    lease_seconds: float = 30.0
    poll_seconds: float = 0.5
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    rules_path: str | None = None
    plugin_paths: tuple[str, ...] = ()
    installed_plugins: bool = True
    plugin_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    api_key: str = field(default="", repr=False)
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    admin_token: str = field(default="", repr=False)

    def redacted(self) -> dict[str, Any]:
        """Every setting, secrets replaced by whether they are set."""
        shown: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "api_key":
                value = "<set>" if value else "<not set>"
            elif item.name == "admin_token":
                value = "<set>" if value else "<not set: admin endpoints off>"
            elif item.name == "store_url":
                value = shown_url(value)
            elif item.name == "webhook_secrets":
                value = f"<{len(value)} set>" if value else "<not set>"
            shown[item.name] = list(value) if isinstance(value, tuple) else value
        return shown


#: Config file keys (section, key) -> Settings field.
_FIELDS = {
    ("store", "url"): "store_url",
    ("store", "retention_days"): "retention_days",
    ("server", "host"): "host",
    ("server", "port"): "port",
    ("server", "max_body_bytes"): "max_body_bytes",
    ("server", "drain_seconds"): "drain_seconds",
    ("attio", "base_url"): "base_url",
    ("attio", "rate_limit_fraction"): "rate_limit_fraction",
    ("attio", "reads_per_second"): "reads_per_second",
    ("attio", "writes_per_second"): "writes_per_second",
    ("attio", "schema_ttl"): "schema_ttl",
    ("attio", "own_token_ids"): "own_token_ids",
    ("attio", "loop_guard"): "loop_guard",
    ("attio", "shared_budget"): "shared_budget",
    ("dispatcher", "concurrency"): "concurrency",
    ("dispatcher", "max_attempts"): "max_attempts",
    ("dispatcher", "lease_seconds"): "lease_seconds",
    ("dispatcher", "poll_seconds"): "poll_seconds",
    ("dispatcher", "backoff_initial"): "backoff_initial",
    ("dispatcher", "backoff_max"): "backoff_max",
    ("rules", "path"): "rules_path",
    ("plugins", "paths"): "plugin_paths",
    ("plugins", "installed"): "installed_plugins",
    ("plugins", "settings"): "plugin_settings",
}


def load_settings(
    config_path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults, then the config file and its environment overlay, then the
    environment variables, then ``overrides`` (command-line flags)."""
    env = os.environ if environ is None else environ
    environment = env.get("ATTIO_AUTOMATE_ENV", "development")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            [f"ATTIO_AUTOMATE_ENV={environment!r}: expected one of {', '.join(ENVIRONMENTS)}"]
        )
    values: dict[str, Any] = {"environment": environment}
    if config_path is not None:
        data = _read_config(Path(config_path))
        base = Path(config_path).parent
        values.update(_flatten(data, base))
        overlay = (data.get("environments") or {}).get(environment) or {}
        values.update(_flatten(overlay, base))
    if env.get("ATTIO_AUTOMATE_DB"):
        values["store_url"] = env["ATTIO_AUTOMATE_DB"]
    if env.get("ATTIO_BASE_URL"):
        values["base_url"] = env["ATTIO_BASE_URL"]
    values["api_key"] = env.get("ATTIO_API_KEY", "")
    values["admin_token"] = env.get("ATTIO_AUTOMATE_ADMIN_TOKEN", "")
    values["webhook_secrets"] = tuple(
        s.strip() for s in env.get("ATTIO_WEBHOOK_SECRET", "").split(",") if s.strip()
    )
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return replace(Settings(), **values)


def _read_config(path: Path) -> dict[str, Any]:
    try:
        located = load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except YamlError as exc:
        raise ConfigError([f"{path}:{exc.line}:{exc.column}: {exc.message}"]) from None
    data = located.data if located.data is not None else {}
    problems = []
    for error in Draft202012Validator(CONFIG_SCHEMA).iter_errors(data):
        line, column = located.position(tuple(error.absolute_path))
        where = ".".join(str(p) for p in error.absolute_path) or "the file"
        problems.append(f"{path}:{line}:{column}: {where}: {error.message}")
    if problems:
        raise ConfigError(sorted(problems))
    return dict(data)


def _flatten(data: Mapping[str, Any], base: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for (section, key), name in _FIELDS.items():
        if key in (data.get(section) or {}):
            value = data[section][key]
            if name == "rules_path":
                value = str(base / value)
            elif name == "plugin_paths":
                value = tuple(str(base / p) for p in value)
            elif isinstance(value, list):
                value = tuple(value)
            values[name] = value
    return values
