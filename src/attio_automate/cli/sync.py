"""``attio-automate sync``: the mirror's state, a reconcile now, the outbox
and its conflicts."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import click

from attio_automate.cli.common import UserError
from attio_automate.cli.store_access import (
    config_option,
    opened_runner_for_sync,
    opened_store,
    settings_or_exit,
)
from attio_automate.errors import AttioError, ConfigError, SyncDatabaseError
from attio_automate.heap import settle_heap
from attio_automate.settings import Settings
from attio_automate.sync.database import SyncDatabase
from attio_automate.sync.outbox import CONFLICT, FAILED, PENDING, QUEUED, Outbox
from attio_automate.sync.reconcile import Counts, Reconciler

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


@click.group()
def sync() -> None:
    """The mirror of Attio in the sync database (the ``sync:`` configuration)."""


@sync.command("run")
@json_option
@config_option
def sync_run(as_json: bool, config_path: Path | None) -> None:
    """Reconcile every mirror with Attio now (resuming an interrupted run)."""
    settings = _settings(config_path)
    counts = anyio.run(_reconcile, settings)
    if as_json:
        click.echo(json.dumps({t: vars(c) for t, c in counts.items()}, indent=2))
        return
    click.echo(f"{'TABLE':<24} {'CHECKED':>8} {'CREATED':>8} {'UPDATED':>8} {'DELETED':>8} SAME")
    for table, c in counts.items():
        click.echo(
            f"{table:<24} {c.checked:>8} {c.created:>8} {c.updated:>8} {c.deleted:>8} {c.unchanged}"
        )


async def _reconcile(settings: Settings) -> dict[str, Counts]:
    async with opened_runner_for_sync(settings) as runner:
        sync_plugin = runner.plugins.sync
        assert sync_plugin is not None
        assert sync_plugin.database is not None
        reconciler = Reconciler(
            sync_plugin.database,
            attio=runner.attio,
            schema=runner.schema,
            store=runner.store,
            clock=runner.clock,
        )
        settle_heap()
        try:
            return await reconciler.run()
        except (SyncDatabaseError, AttioError) as exc:
            raise UserError([f"stopped: {exc}", "the run keeps its place: run it again"]) from None


@sync.command("status")
@json_option
@config_option
def sync_status(as_json: bool, config_path: Path | None) -> None:
    """Each mirror's rows, last reconcile and changes waiting; the outbox's
    backlog and conflicts."""
    settings = _settings(config_path)
    status = anyio.run(_status, settings)
    if as_json:
        click.echo(json.dumps(status, indent=2, default=str))
        return
    for mirror in status["mirrors"]:
        click.echo(
            f"{mirror['table']} ({mirror['source']}): {mirror['rows']} rows, "
            f"{mirror['deleted']} deleted; last Attio change {mirror['last_change'] or '-'}, "
            f"last synced {mirror['last_synced'] or '-'}"
        )
        reconcile = mirror["reconcile"]
        click.echo(f"  last reconcile: {reconcile}")
    click.echo(f"inbox: {status['inbox_waiting']} events waiting (the mirror's lag)")
    outbox = status["outbox"]
    click.echo(
        f"outbox: {outbox.get(PENDING, 0) + outbox.get(QUEUED, 0)} waiting, "
        f"{outbox.get(FAILED, 0)} failed, {outbox.get(CONFLICT, 0)} conflicts, "
        f"{outbox.get('done', 0)} done"
    )


async def _status(settings: Settings) -> dict[str, Any]:
    async with _database(settings) as database:
        mirrors = []
        for mirror in database.spec.mirrors:
            counts = await database.counts(mirror)
            state = await database.get_state(f"reconcile:{mirror.table}") or {}
            if state.get("phase") == "done":
                c = state.get("counts", {})
                reconcile = (
                    f"finished {state.get('finished_at')}: {c.get('checked', 0)} checked, "
                    f"{c.get('created', 0)} created, {c.get('updated', 0)} updated, "
                    f"{c.get('deleted', 0)} deleted"
                )
            elif state:
                reconcile = f"in progress since {state.get('started_at')} ({state.get('phase')})"
            else:
                reconcile = "never"
            mirrors.append(
                {
                    "table": mirror.table,
                    "source": f"{'list' if mirror.is_list else 'object'} {mirror.source}",
                    **{k: _iso(v) for k, v in counts.items()},
                    "reconcile": reconcile,
                }
            )
        outbox = await Outbox(database).counts()
    waiting = 0
    with contextlib.suppress(UserError):
        async with opened_store(settings) as store:
            waiting = (await store.depths())[0]
    return {"mirrors": mirrors, "outbox": outbox, "inbox_waiting": waiting}


@sync.group("conflicts")
def conflicts() -> None:
    """Pushed rows that crossed a later change in Attio (``conflicts: queue``)."""


@conflicts.command("list")
@json_option
@config_option
def conflicts_list(as_json: bool, config_path: Path | None) -> None:
    """The rows waiting for a person to choose."""
    rows = anyio.run(_rows, _settings(config_path), CONFLICT)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo("no conflicts")
    for row in rows:
        click.echo(f"#{row['id']} {row['object']} by {row['matching_attribute']}:")
        for slug, crossing in (row.get("conflict") or {}).get("attributes", {}).items():
            click.echo(
                f"  {slug}: local {crossing['local']!r} ({crossing['local_at']}) / "
                f"Attio {crossing['attio']!r} ({crossing['attio_at']})"
            )


@conflicts.command("resolve")
@click.argument("row_id", type=int)
@click.option("--keep", type=click.Choice(["local", "attio"]), required=True)
@config_option
def conflicts_resolve(row_id: int, keep: str, config_path: Path | None) -> None:
    """Keep the local values (pushed now) or Attio's (the row is settled)."""
    settled = anyio.run(_resolve, _settings(config_path), row_id, keep)
    if not settled:
        raise UserError([f"outbox row {row_id} is not a conflict"])
    click.echo(f"#{row_id}: keeping {keep}" + (" (queued to push)" if keep == "local" else ""))


async def _resolve(settings: Settings, row_id: int, keep: str) -> bool:
    async with _database(settings) as database:
        return await Outbox(database).resolve(row_id, keep=keep)


@sync.group("outbox")
def outbox() -> None:
    """Rows the application wrote to be pushed to Attio."""


@outbox.command("list")
@click.option("--status", type=click.Choice([PENDING, QUEUED, "done", FAILED, CONFLICT]))
@json_option
@config_option
def outbox_list(status: str | None, as_json: bool, config_path: Path | None) -> None:
    """Outbox rows, oldest first (``--status failed`` for the refused)."""
    rows = anyio.run(_rows, _settings(config_path), status)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for row in rows:
        why = f" {row['error_code']}: {row['error_message']}" if row["error_code"] else ""
        click.echo(
            f"#{row['id']} {row['status']:<9} {row['object']} {json.dumps(row['values'])}"
            f" -> {row['record_id'] or '-'}{why}"
        )


@outbox.command("retry")
@click.argument("row_ids", type=int, nargs=-1, required=True)
@config_option
def outbox_retry(row_ids: Sequence[int], config_path: Path | None) -> None:
    """Push failed rows again."""
    count = anyio.run(_retry, _settings(config_path), list(row_ids))
    click.echo(f"{count} row(s) queued again")


async def _retry(settings: Settings, row_ids: list[int]) -> int:
    async with _database(settings) as database:
        return await Outbox(database).retry(row_ids)


async def _rows(settings: Settings, status: str | None) -> list[dict[str, Any]]:
    async with _database(settings) as database:
        return await Outbox(database).rows(status, limit=1000)


def _settings(config_path: Path | None) -> Settings:
    settings = settings_or_exit(config_path)
    if settings.sync.spec() is None:
        raise UserError(["no sync: section in the configuration (give --config)"])
    return settings


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[SyncDatabase]:
    """The sync database as the runner made it, without asking Attio."""
    spec = settings.sync.spec()
    assert spec is not None
    try:
        database = SyncDatabase(spec)
    except ConfigError as exc:
        raise UserError(exc.problems) from None
    try:
        await database.open_existing()
        yield database
    except SyncDatabaseError as exc:
        raise UserError([str(exc)]) from None
    finally:
        await database.close()


def _iso(value: Any) -> Any:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value
