"""Opening the store (and the whole runner) for operators' commands."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import click

from attio_automate.assembly import Runner, assembled
from attio_automate.cli.common import UserError
from attio_automate.errors import ConfigError
from attio_automate.settings import Settings, load_settings
from attio_automate.store import Store, open_store_url

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The runner's YAML configuration (for the store URL and rules).",
)
db_option = click.option(
    "--db",
    "db_url",
    default=None,
    help="Store URL (default: ATTIO_AUTOMATE_DB, the configuration, sqlite:///attio-automate.db).",
)


def settings_or_exit(
    config_path: Path | None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """The settings, with ``overrides`` (``{"section.key": value}``) from flags;
    a problem is a clear error and exit, never a traceback."""
    try:
        return load_settings(config_path, overrides=overrides)
    except ConfigError as exc:
        raise UserError(exc.problems) from None


@contextlib.asynccontextmanager
async def opened_store(settings: Settings) -> AsyncIterator[Store]:
    if settings.store.url.startswith("sqlite:///"):
        path = settings.store.url.split("://", 1)[1].removeprefix("/")
        if path != ":memory:" and not await anyio.Path(path).exists():
            raise UserError([f"no store at {path} (set --db or ATTIO_AUTOMATE_DB)"])
    try:
        store = open_store_url(settings.store.url)
        await store.open()
    except ConfigError as exc:  # a bad URL, or a store that cannot be opened
        raise UserError(exc.problems) from None
    try:
        yield store
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def opened_runner(settings: Settings) -> AsyncIterator[Runner]:
    """The runner's parts, to re-run events here (needs ATTIO_API_KEY and rules)."""
    problems = []
    if not settings.secrets.api_key:
        problems.append("ATTIO_API_KEY is not set: re-running events calls Attio")
    if not settings.rules.path:
        problems.append("no rules: give --rules FILE or rules.path in --config")
    if problems:
        raise UserError(problems)
    try:
        async with assembled(settings) as runner:
            yield runner
    except ConfigError as exc:
        raise UserError(exc.problems) from None


@contextlib.asynccontextmanager
async def opened_runner_for_sync(settings: Settings) -> AsyncIterator[Runner]:
    """The runner's parts (the sync database open, if configured) for
    commands that call Attio: sync run, import, export."""
    if not settings.secrets.api_key:
        raise UserError(["ATTIO_API_KEY is not set: this command calls Attio"])
    try:
        async with assembled(settings) as runner:
            yield runner
    except ConfigError as exc:
        raise UserError(exc.problems) from None
