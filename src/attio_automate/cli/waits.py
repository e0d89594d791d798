"""``attio-automate waits``: rules' pending waits, and cancelling them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import click

from attio_automate.cli.common import UserError
from attio_automate.cli.store_access import config_option, db_option, opened_store, settings_or_exit
from attio_automate.errors import ConfigError
from attio_automate.operations import parse_when
from attio_automate.settings import Settings
from attio_automate.store.base import EventFilter, StoredEvent


@click.group()
def waits() -> None:
    """Rules' waits that have not fired yet."""


@waits.command("list")
@click.option("--rule", help="Only this rule's waits.")
@click.option("--record", help="Only waits about this record id.")
@click.option("--due-before", help="Only waits due before: ISO time, or an age (2h ago).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@config_option
@db_option
def list_waits(
    rule: str | None,
    record: str | None,
    due_before: str | None,
    as_json: bool,
    config_path: Path | None,
    db_url: str | None,
) -> None:
    """Pending waits, the soonest due first."""
    settings = settings_or_exit(config_path, {"store.url": db_url})
    try:
        before = parse_when(due_before) if due_before else None
    except (ValueError, ConfigError) as exc:
        problem = "; ".join(exc.problems) if isinstance(exc, ConfigError) else str(exc)
        raise UserError([f"--due-before: {problem}"]) from None
    found = anyio.run(_pending, settings)
    rows = [
        _row(e)
        for e in sorted(found, key=lambda e: e.available_at)
        if (rule is None or _wait(e).get("rule") == rule)
        and (record is None or e.payload.get("id", {}).get("record_id") == record)
        and (before is None or e.available_at < before)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no pending waits")
        return
    click.echo(f"{'ID':>6}  {'DUE (UTC)':<20} {'RULE':<24} {'RESUMES AT':<10} SUBJECT")
    for row in rows:
        click.echo(
            f"{row['id']:>6}  {row['due']:<20} {row['rule'][:24]:<24} "
            f"{'step ' + str(row['step'] + 1):<10} {row['subject']}"
        )


@waits.command("cancel")
@click.argument("ids", type=int, nargs=-1, required=True)
@config_option
@db_option
def cancel(ids: tuple[int, ...], config_path: Path | None, db_url: str | None) -> None:
    """Cancel these pending waits (they end skipped; the rule does not go on)."""
    settings = settings_or_exit(config_path, {"store.url": db_url})

    async def run() -> int:
        async with opened_store(settings) as store:
            now = datetime.now(UTC).timestamp()
            return await store.cancel_waits(ids=list(ids), now=now, reason="cancelled by hand")

    cancelled = anyio.run(run)
    click.echo(f"cancelled {cancelled} of {len(ids)} (the rest were not pending waits)")


async def _pending(settings: Settings) -> list[StoredEvent]:
    async with opened_store(settings) as store:
        where = EventFilter(event_type="wait", status="pending", limit=100_000)
        return await store.list_events(where)


def _wait(event: StoredEvent) -> dict[str, Any]:
    wait = event.payload.get("wait")
    return dict(wait) if isinstance(wait, dict) else {}


def _row(event: StoredEvent) -> dict[str, Any]:
    wait = _wait(event)
    ids = event.payload.get("id", {})
    subject = ids.get("record_id") or ids.get("entry_id") or ids.get("note_id") or "-"
    return {
        "id": event.id,
        "due": datetime.fromtimestamp(event.available_at, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "rule": str(wait.get("rule", "?")),
        "step": int(wait.get("step", 0)),
        "subject": subject,
        "from": wait.get("from"),
    }
