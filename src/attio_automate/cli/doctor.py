"""``attio-automate doctor``: the effective configuration, and whether the
store, Attio and the rules work."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import anyio
import click

from attio_automate.assembly import load_plugins_for
from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.cli.store_access import config_option, settings_or_exit
from attio_automate.errors import AttioError, ConfigError, SyncDatabaseError
from attio_automate.settings import Settings
from attio_automate.store import open_store_url
from attio_automate.store.sqlite import SQLiteStore


async def _check_store(settings: Settings) -> str:
    store = open_store_url(settings.store.url)
    # Opening would create a missing SQLite file: a mistyped path would look
    # fine here and leave the runner's events somewhere nobody looks.
    if (
        isinstance(store, SQLiteStore)
        and store.path != ":memory:"
        and not await anyio.Path(store.path).is_file()
    ):
        raise ConfigError(
            [f"no store at {store.path} (serve creates it on its first start: is the path right?)"]
        )
    await store.open()  # migrates: doctor leaves the store ready
    try:
        await store.ping()
        counts = await store.status_counts()
    finally:
        await store.close()
    return (
        f"ok ({sum(counts.values())} events: "
        + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none")
        + ")"
    )


async def _check_attio(settings: Settings) -> str:
    if not settings.secrets.api_key:
        raise ConfigError(["ATTIO_API_KEY is not set"])
    async with AttioClient(
        api_key=settings.secrets.api_key, settings=ClientSettings(base_url=settings.attio.base_url)
    ) as attio:
        me = await attio.get_self()
    if not me.get("active", False):
        raise ConfigError(["the API token is not active"])
    return f"ok (workspace {me.get('workspace_name', '?')!r}, token scopes: {me.get('scope', '')})"


def _check_rules(settings: Settings) -> str:
    if not settings.rules.path:
        raise ConfigError(["no rules file configured (--rules or rules.path)"])
    plugins = load_plugins_for(settings)
    return f"ok ({len(plugins.rules.rules.rules)} rules, {len(plugins.actions.names())} actions)"


async def _check_sync(settings: Settings) -> str:
    spec = settings.sync.spec()
    if spec is None:
        return "not configured"
    from sqlalchemy import text

    from attio_automate.sync.database import SyncDatabase

    database = SyncDatabase(spec)
    try:
        async with database.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except SyncDatabaseError as exc:
        raise ConfigError([str(exc)]) from None
    finally:
        await database.close()
    count = len(spec.mirrors)
    return f"ok ({count} mirror{'' if count == 1 else 's'} in {database.dialect})"


@click.command("doctor")
@config_option
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Rules file to check (overrides the configuration's).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def doctor(config_path: Path | None, rules_path: Path | None, as_json: bool) -> None:
    """Print the effective configuration (secrets redacted) and check the store,
    Attio (GET /v2/self), the rules and the sync database.  Exit 1 if any
    check fails."""
    settings = settings_or_exit(
        config_path, {"rules.path": str(rules_path) if rules_path else None}
    )
    checks: dict[str, str] = {}
    failed = False
    steps: list[tuple[str, Callable[[], str]]] = [
        ("store", lambda: anyio.run(_check_store, settings)),
        ("attio", lambda: anyio.run(_check_attio, settings)),
        ("rules", lambda: _check_rules(settings)),
        ("sync", lambda: anyio.run(_check_sync, settings)),
    ]
    for name, check in steps:
        try:
            checks[name] = check()
        except ConfigError as exc:
            checks[name] = "FAILED: " + "; ".join(exc.problems)
            failed = True
        except AttioError as exc:
            checks[name] = f"FAILED: {exc}"
            failed = True
        except Exception as exc:  # a store that cannot be reached, and the like
            checks[name] = f"FAILED: {type(exc).__name__}: {exc}"
            failed = True
    if as_json:
        click.echo(
            json.dumps({"settings": settings.redacted(), "checks": checks}, indent=2, default=str)
        )
    else:
        click.echo(f"environment: {settings.environment}")
        for key, value in settings.redacted().items():
            if isinstance(value, dict):
                for name, item in value.items():
                    click.echo(f"  {key}.{name}: {item}")
            else:
                click.echo(f"  {key}: {value}")
        click.echo("checks:")
        for name, outcome in checks.items():
            click.echo(f"  {name}: {outcome}")
    if failed:
        raise SystemExit(1)
