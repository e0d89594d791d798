"""Runner settings, declared once: defaults, a YAML file with per-environment
overlays, the environment, then command-line flags.  Secrets come only from
the environment and are never shown.

::

    # attio-automate.yaml
    store: {url: "sqlite:///data/attio-automate.db"}
    dispatcher: {concurrency: 8, max_attempts: 10}
    environments:
      production:
        attio: {rate_limit_fraction: 0.9}

``ATTIO_AUTOMATE_ENV`` picks the overlay (default ``development``).  Every
source is merged first and validated together by the models below, so a bad
value is reported wherever it came from: ``FILE:LINE:COL`` for the file,
the variable's name for the environment, ``--flag`` for the command line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from attio_automate.attio.client import DEFAULT_BASE_URL
from attio_automate.errors import ConfigError
from attio_automate.store.base import shown_url
from attio_automate.sync.spec import MirrorSpec, SyncSpec
from attio_automate.yamlpos import Located, YamlError, load

ENVIRONMENTS = ("development", "staging", "production")
Environment = Literal["development", "staging", "production"]
Seconds = float


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Section):
    """``store:``: where events, the ledger and traces live."""

    url: str = "sqlite:///attio-automate.db"
    retention_days: float = Field(14.0, gt=0)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        scheme = urlsplit(url).scheme
        if scheme not in ("sqlite", "postgresql", "postgres"):
            # The message never carries the URL's password.
            raise ValueError(
                f"{shown_url(url)!r} is not a store URL: use sqlite:///path/to/file.db "
                "or postgresql://user@host:5432/database"
            )
        return url


class ServerSettings(_Section):
    """``server:``: the HTTP side."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(1024 * 1024, ge=1)
    #: A body must arrive within this long (408 after it).
    body_seconds: Seconds = Field(10.0, gt=0)
    #: All bodies being read at once may hold this much between them (503 over it).
    max_buffered_bytes: int = Field(8 * 1024 * 1024, ge=1)
    #: A connection that sends nothing for this long is closed.
    idle_seconds: Seconds = Field(30.0, gt=0)
    #: Kernel receive buffer per connection: what the server reads ahead of
    #: the app is sized by it, so it bounds memory under many big bodies.
    receive_buffer_bytes: int = Field(8 * 1024, ge=1024, le=16 * 1024 * 1024)
    drain_seconds: Seconds = Field(20.0, gt=0)


class ReceiverSettings(_Section):
    """``receiver:``: how deliveries are told apart."""

    #: Seconds within which a byte-identical signed body that comes with a
    #: new Idempotency-Key is taken for a replay (a duplicate); 0 turns it off.
    #: Attio does not sign the key, so without this a captured body sent again
    #: runs its rules again; with it, two genuinely identical deliveries in
    #: the window (the same attribute changed twice) count once.
    replay_window: Seconds = Field(0.0, ge=0)


class AttioSettings(_Section):
    """``attio:``: the client and the loop guard."""

    base_url: str = DEFAULT_BASE_URL
    #: Of Attio's limits the runner may use: a little below the client's own
    #: default (0.99), as runners sharing one budget through the store each
    #: judge the second by their own clock.
    rate_limit_fraction: float = Field(0.98, gt=0, le=1)
    reads_per_second: float = Field(100.0, gt=0)
    writes_per_second: float = Field(25.0, gt=0)
    schema_ttl: Seconds = Field(300.0, gt=0)
    own_token_ids: tuple[str, ...] = ()
    loop_guard: bool = True
    #: Keep the rate-limit budget in the store, shared by every runner on it
    #: (None: yes on PostgreSQL, no on SQLite).
    shared_budget: bool | None = None

    @field_validator("base_url")
    @classmethod
    def _http(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url.rstrip("/")


class DispatcherSettings(_Section):
    """``dispatcher:``: how many events at once, and how patiently to retry."""

    concurrency: int = Field(8, ge=1)
    max_attempts: int = Field(10, ge=1)
    lease_seconds: Seconds = Field(30.0, gt=0)
    poll_seconds: Seconds = Field(0.5, gt=0)
    backoff_initial: Seconds = Field(1.0, gt=0)
    backoff_max: Seconds = Field(300.0, gt=0)


#: The record cache's time to live by environment, seconds.
CACHE_TTL = {"development": 10.0, "staging": 60.0, "production": 300.0}


class CacheSettings(_Section):
    """``cache:``: the record cache (records and entries by id)."""

    #: ``redis://host:6379/0`` shares it across runners; None keeps it in
    #: this process (an LRU).
    url: str | None = None
    #: Seconds a copy is served; None: by environment (10 s development,
    #: 60 s staging, 300 s production).  0 turns the cache off.
    ttl_seconds: Seconds | None = Field(None, ge=0)
    #: The in-process LRU's size.
    max_entries: int = Field(10_000, ge=1)

    @field_validator("url")
    @classmethod
    def _redis(cls, url: str | None) -> str | None:
        if url is not None and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            # The message never carries the URL's password.
            raise ValueError(f"{shown_url(url)!r} is not a Redis URL: use redis://host:6379/0")
        return url


class MirrorSettings(_Section):
    """One entry of ``sync.mirrors``: an object or a list, and its table."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    object: str | None = None
    list_: str | None = Field(None, alias="list")
    table: str
    #: Column name -> attribute slug.
    columns: dict[str, str] = Field(default_factory=dict)


class SyncSettings(_Section):
    """``sync:``: a mirror of Attio in a database of the user's, kept in step
    both ways (see :mod:`attio_automate.sync`)."""

    #: ``postgresql://...`` or ``sqlite:///...``; may differ from the store.
    database: str | None = None
    mirrors: tuple[MirrorSettings, ...] = ()
    #: How often ``serve`` reconciles (``1h``, ``30m`` or seconds); None: never
    #: on its own (``sync run`` still does).
    reconcile_every: Seconds | None = None
    conflicts: Literal["last_write_wins", "queue"] = "last_write_wins"
    #: Seconds between outbox polls where the database cannot notify (SQLite).
    poll_seconds: Seconds = Field(1.0, gt=0)
    #: Records per page a reconcile reads (Attio's largest is 500).  Large
    #: pages take the fewest reads; smaller ones suit records with many
    #: values, and let Attio's read limit set the pace rather than the CPU.
    page_size: int = Field(500, ge=1, le=500)

    @field_validator("reconcile_every", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        from attio_automate.rules.waits import duration

        if value is None or isinstance(value, int | float):
            return value
        return duration(str(value))

    @field_validator("database")
    @classmethod
    def _database(cls, url: str | None) -> str | None:
        if url is not None and urlsplit(url).scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(
                f"{shown_url(url)!r} is not a database URL: use sqlite:///crm.db "
                "or postgresql://user@host:5432/crm"
            )
        return url

    @model_validator(mode="after")
    def _whole(self) -> SyncSettings:
        if self.mirrors and self.database is None:
            raise ValueError("sync.mirrors needs sync.database: where the mirror lives")
        spec = self.spec()
        problems = spec.problems() if spec is not None else []
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def spec(self) -> SyncSpec | None:
        """The sync configuration as the sync package takes it (None: no sync)."""
        if self.database is None:
            return None
        return SyncSpec(
            database=self.database,
            mirrors=tuple(
                MirrorSpec(table=m.table, columns=dict(m.columns), object=m.object, list=m.list_)
                for m in self.mirrors
            ),
            reconcile_every=self.reconcile_every,
            conflicts=self.conflicts,
            poll_seconds=self.poll_seconds,
            page_size=self.page_size,
        )


class RulesSettings(_Section):
    """``rules:``: the rules file (relative to the configuration file)."""

    path: str | None = None


class PluginsSettings(_Section):
    """``plugins:``: where plugins come from, and their settings by name."""

    paths: tuple[str, ...] = ()
    installed: bool = True
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)


class Secrets(_Section):
    """From the environment only; never printed (see :meth:`Settings.redacted`)."""

    api_key: str = Field("", repr=False)
    webhook_secrets: tuple[str, ...] = Field((), repr=False)
    admin_token: str = Field("", repr=False)


#: The sections a configuration file (and each of its overlays) may have.
SECTIONS: dict[str, type[_Section]] = {
    "store": StoreSettings,
    "server": ServerSettings,
    "receiver": ReceiverSettings,
    "attio": AttioSettings,
    "dispatcher": DispatcherSettings,
    "cache": CacheSettings,
    "rules": RulesSettings,
    "plugins": PluginsSettings,
    "sync": SyncSettings,
}


class Settings(_Section):
    """Everything the runner is told, by section.  Secrets live here but never print."""

    environment: Environment = "development"
    store: StoreSettings = StoreSettings()
    server: ServerSettings = ServerSettings()
    receiver: ReceiverSettings = ReceiverSettings()
    attio: AttioSettings = AttioSettings()
    dispatcher: DispatcherSettings = DispatcherSettings()
    cache: CacheSettings = CacheSettings()
    rules: RulesSettings = RulesSettings()
    plugins: PluginsSettings = PluginsSettings()
    sync: SyncSettings = SyncSettings()
    secrets: Secrets = Field(default_factory=Secrets, repr=False)

    def cache_ttl(self) -> float:
        """The record cache's TTL: as set, or this environment's."""
        if self.cache.ttl_seconds is not None:
            return self.cache.ttl_seconds
        return CACHE_TTL[self.environment]

    def redacted(self) -> dict[str, Any]:
        """Every setting, secrets replaced by whether they are set."""
        shown = self.model_dump(mode="json", exclude={"secrets"})
        shown["store"]["url"] = shown_url(self.store.url)
        if self.cache.url is not None:
            shown["cache"]["url"] = shown_url(self.cache.url)
        shown["cache"]["ttl_seconds"] = self.cache_ttl()
        if self.sync.database is not None:
            shown["sync"]["database"] = shown_url(self.sync.database)
        shown["secrets"] = {
            "api_key": "<set>" if self.secrets.api_key else "<not set>",
            "webhook_secrets": (
                f"<{len(self.secrets.webhook_secrets)} set>"
                if self.secrets.webhook_secrets
                else "<not set>"
            ),
            "admin_token": (
                "<set>" if self.secrets.admin_token else "<not set: admin endpoints off>"
            ),
        }
        return shown


#: Environment variables and the setting each one sets.
ENVIRONMENT_VARIABLES = {
    "ATTIO_AUTOMATE_DB": ("store", "url"),
    "ATTIO_BASE_URL": ("attio", "base_url"),
    "ATTIO_API_KEY": ("secrets", "api_key"),
    "ATTIO_WEBHOOK_SECRET": ("secrets", "webhook_secrets"),
    "ATTIO_AUTOMATE_ADMIN_TOKEN": ("secrets", "admin_token"),
}


class _Sources:
    """The merged values, and where each one came from (for messages)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.origins: dict[tuple[str, ...], str] = {}

    def set(self, section: str, key: str, value: Any, origin: str) -> None:
        self.values.setdefault(section, {})[key] = value
        self.origins[(section, key)] = origin

    def origin(self, loc: tuple[int | str, ...]) -> str:
        probe = tuple(str(part) for part in loc)
        while probe:
            if probe in self.origins:
                return self.origins[probe]
            probe = probe[:-1]
        return "settings"


def load_settings(
    config_path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults, then the config file and its environment overlay, then the
    environment variables, then ``overrides`` (command-line flags, as
    ``{"section.key": value}``; None leaves a setting alone).

    Raises :class:`ConfigError` naming every problem and where it came from.
    """
    env = os.environ if environ is None else environ
    sources = _Sources()
    environment = env.get("ATTIO_AUTOMATE_ENV", "development")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            [f"ATTIO_AUTOMATE_ENV={environment!r}: expected one of {', '.join(ENVIRONMENTS)}"]
        )
    if config_path is not None:
        _read_config(Path(config_path), environment, sources)
    for name, (section, key) in ENVIRONMENT_VARIABLES.items():
        raw = env.get(name)
        if raw is None or (not raw and section != "secrets"):
            continue
        value: Any = raw
        if key == "webhook_secrets":
            # Comma-separated: the old and the new secret while rotating.
            value = tuple(s.strip() for s in raw.split(",") if s.strip())
        sources.set(section, key, value, name)
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        sources.set(section, key, value, f"--{key.replace('_', '-')}")
    try:
        return Settings.model_validate({"environment": environment, **sources.values})
    except ValidationError as exc:
        raise ConfigError(_problems(exc, sources)) from None


def _problems(error: ValidationError, sources: _Sources) -> list[str]:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        where = ".".join(str(part) for part in loc)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown setting {loc[-1]!r}"
        # The value is never shown: it may be a secret or hold a password.
        problems.append(f"{sources.origin(loc)}: {where}: {message}")
    return sorted(problems)


def _read_config(path: Path, environment: str, sources: _Sources) -> None:
    try:
        located = load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}:1:1: not UTF-8 text"]) from None
    except YamlError as exc:
        raise ConfigError([f"{path}:{exc.line}:{exc.column}: {exc.message}"]) from None
    data = located.data if located.data is not None else {}
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise ConfigError([f"{path}:1:1: expected a mapping of sections"])
    overlays = data.get("environments") or {}
    if not isinstance(overlays, Mapping):
        problems.append(_at(path, located, ("environments",), "expected a mapping"))
        overlays = {}
    for name in overlays:
        if name not in ENVIRONMENTS:
            problems.append(
                _at(
                    path,
                    located,
                    ("environments", name),
                    f"unknown environment {name!r} (one of: {', '.join(ENVIRONMENTS)})",
                    key=True,
                )
            )
    layers: list[tuple[tuple[str, ...], Mapping[str, Any]]] = [((), data)]
    overlay = overlays.get(environment) if isinstance(overlays, Mapping) else None
    if overlay is not None:
        layers.append((("environments", environment), overlay))
    for prefix, layer in layers:
        if not isinstance(layer, Mapping):
            problems.append(_at(path, located, prefix, "expected a mapping of sections"))
            continue
        for section, body in layer.items():
            if section == "environments" and not prefix:
                continue
            if section not in SECTIONS:
                problems.append(
                    _at(
                        path,
                        located,
                        (*prefix, section),
                        f"unknown section {section!r} (one of: {', '.join(SECTIONS)})",
                        key=True,
                    )
                )
                continue
            if not isinstance(body, Mapping):
                problems.append(
                    _at(path, located, (*prefix, section), f"{section}: expected a mapping")
                )
                continue
            for key, value in body.items():
                line, column = located.position((*prefix, section, key))
                sources.set(
                    section,
                    str(key),
                    _resolve(section, key, value, path.parent),
                    f"{path}:{line}:{column}",
                )
    if problems:
        raise ConfigError(sorted(problems))


def _resolve(section: str, key: str, value: Any, base: Path) -> Any:
    """Paths in the file are relative to the file."""
    if (section, key) == ("rules", "path") and isinstance(value, str):
        return str(base / value)
    if (section, key) == ("plugins", "paths") and isinstance(value, list):
        return tuple(str(base / p) if isinstance(p, str) else p for p in value)
    return value


def _at(
    path: Path, located: Located, where: tuple[str, ...], message: str, *, key: bool = False
) -> str:
    line, column = located.position(where, key=key)
    return f"{path}:{line}:{column}: {message}"
