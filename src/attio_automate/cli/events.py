"""``attio-automate events`` and ``dead-letter``: see, explain, run again."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import anyio
import click

from attio_automate import operations
from attio_automate.cli import output
from attio_automate.cli.common import UserError
from attio_automate.cli.store_access import (
    config_option,
    db_option,
    opened_runner,
    opened_store,
    settings_or_exit,
)
from attio_automate.errors import ConfigError
from attio_automate.processing.results import EventResult
from attio_automate.settings import Settings
from attio_automate.store.base import EventFilter

_STATUS = click.Choice(operations.STATUSES)
rules_option = click.option(
    "--rules",
    "rules_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Rules to run them with (default: the configuration's).",
)


def filter_options(fn: Any, *, limit: int | None = 100) -> Any:
    limit_help = (
        "At most this many events, newest first."
        if limit
        else "At most this many events, newest first (default: every matching event)."
    )
    for option in reversed(
        [
            click.option("--status", type=_STATUS, help="Only events in this state."),
            click.option("--type", "event_type", help="Event type, or a glob like record.*"),
            click.option("--record", help="Only events about this record id."),
            click.option("--rule", help="Only events this rule matched."),
            click.option("--since", help="Received since: ISO time or an age (30m, 2h, 7d)."),
            click.option("--until", help="Received before: ISO time or an age."),
            click.option(
                "--limit",
                default=limit,
                show_default=bool(limit),
                type=click.IntRange(min=1),
                help=limit_help,
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _filter(**kwargs: Any) -> EventFilter:
    try:
        return operations.event_filter(**kwargs)
    except ConfigError as exc:
        raise UserError(exc.problems) from None


def _table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        click.echo("no events")
        return
    # Subjects are ids people copy into --record and Attio's URL: never cut.
    width = max(len("SUBJECT"), *(len(row["subject"]) for row in rows))
    header = (
        f"{'ID':>6}  {'STATUS':<8} {'TYPE':<22} {'SUBJECT':<{width}} {'TRIES':>5}  "
        f"{'RECEIVED':<25} REASON"
    )
    click.echo(header)
    for row in rows:
        reason = (row["reason"] or "")[:60]
        click.echo(
            f"{row['id']:>6}  {row['status']:<8} {row['event_type'][:22]:<22} "
            f"{row['subject']:<{width}} {row['attempts']:>5}  "
            f"{row['received_at'] or '':<25} {reason}"
        )


async def _list(settings: Settings, where: EventFilter) -> list[dict[str, Any]]:
    async with opened_store(settings) as store:
        return [operations.summary(e) for e in await store.list_events(where)]


@click.group("events")
def events() -> None:
    """List events, show their traces, replay them."""


@events.command("list")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@config_option
@db_option
def list_events(
    as_json: bool, config_path: Path | None, db_url: str | None, **filters: Any
) -> None:
    """Events, newest first."""
    settings = settings_or_exit(config_path, {"store.url": db_url})
    rows = anyio.run(_list, settings, _filter(**filters))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _table(rows)


@events.command("show")
@click.argument("event_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@config_option
@db_option
def show(event_id: int, as_json: bool, config_path: Path | None, db_url: str | None) -> None:
    """One event: what arrived, each rule's decision, each action, each attempt."""
    settings = settings_or_exit(config_path, {"store.url": db_url})

    async def fetch() -> dict[str, Any] | None:
        async with opened_store(settings) as store:
            return await operations.detail(store, event_id)

    found = anyio.run(fetch)
    if found is None:
        raise UserError([f"no event with id {event_id}"])
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False, default=str))
        return
    show_trace(found)


def show_trace(found: dict[str, Any]) -> None:
    click.echo(f"event {found['id']}: {found['event_type']} on {found['subject']}")
    click.echo(
        f"  status {found['status']} after {found['attempts']} attempt(s) "
        f"({len(found['history'])} run(s) in all); "
        f"received {found['received_at']}, finished {found['finished_at'] or '-'}"
    )
    if found["reason"]:
        click.echo(f"  reason: {found['reason']}")
    click.echo(f"  key {found['key']}; ids {output.compact(found['payload'].get('id'), 200)}")
    trace = found.get("trace") or {}
    if trace.get("decisions"):
        click.echo("rules:")
        output.decisions(click.echo, trace["decisions"])
    if trace.get("actions"):
        click.echo("actions:")
        output.actions(click.echo, trace["actions"], indent="  ")
    for error in trace.get("errors", []):
        click.echo(
            f"error: {error.get('plugin') or ''} {error.get('rule') or ''}: {error.get('error')}"
        )
    for note in trace.get("notes", []):
        click.echo(f"note: {note}")
    if found["history"]:
        click.echo("attempts:")
        for attempt in found["history"]:
            click.echo(
                f"  {attempt['finished_at']} {attempt['status']:<8} by {attempt['owner']}"
                f"{': ' + attempt['reason'] if attempt['reason'] else ''}"
            )


def _rerun(
    settings: Settings,
    ids: list[int],
    where: EventFilter | None,
    force: bool,
    *,
    limit: int | None = None,
) -> None:
    async def go() -> tuple[list[tuple[int, EventResult]], list[int]]:
        async with opened_runner(settings) as runner:
            try:
                chosen = await operations.select_ids(runner.store, ids, where, limit=limit)
            except ConfigError as exc:
                raise UserError(exc.problems) from None
            if not chosen:
                return [], []
            if len(chosen) == 1:
                return await operations.rerun(runner.store, runner.dispatcher, chosen, force=force)
            progress_bar: Any = click.progressbar(
                length=len(chosen), label="re-running", file=sys.stderr
            )
            with progress_bar as bar:
                return await operations.rerun(
                    runner.store,
                    runner.dispatcher,
                    chosen,
                    force=force,
                    progress=lambda i, r: bar.update(1),
                )

    results, busy = anyio.run(go)
    for event_id, result in results:
        skipped = sum(1 for o in result.outcomes if o.status == "skipped")
        done = sum(1 for o in result.outcomes if o.status == "done")
        click.echo(
            f"event {event_id}: {result.status}"
            f" ({done} action(s) run, {skipped} already done)"
            f"{' - ' + result.reason if result.reason else ''}"
        )
    for event_id in busy:
        click.echo(f"event {event_id}: left alone, a runner is working on it")
    if not results and not busy:
        click.echo("no events matched")
    if any(r.status in ("failed", "retry") for _, r in results):
        raise SystemExit(1)


@events.command("replay")
@click.argument("event_ids", nargs=-1, type=int)
@functools.partial(filter_options, limit=None)
@click.option("--force", is_flag=True, help="Run actions again even if already done.")
@rules_option
@config_option
@db_option
def replay(
    event_ids: tuple[int, ...],
    force: bool,
    rules_path: Path | None,
    config_path: Path | None,
    db_url: str | None,
    **filters: Any,
) -> None:
    """Run events again with the current rules (by id, or --since/--rule/--status).

    Actions already done are skipped (the ledger) unless --force.
    """
    settings = settings_or_exit(
        config_path, {"store.url": db_url, "rules.path": str(rules_path) if rules_path else None}
    )
    limit = filters.pop("limit")
    chosen = [k for k, v in filters.items() if v is not None]
    where = _filter(**filters) if chosen else None
    _rerun(settings, list(event_ids), where, force, limit=limit)


@click.group("dead-letter")
def dead_letter() -> None:
    """Events that failed for good: list them, retry them."""


@dead_letter.command("list")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@config_option
@db_option
def dead_list(limit: int, as_json: bool, config_path: Path | None, db_url: str | None) -> None:
    """Dead letters, newest first, with the reason."""
    settings = settings_or_exit(config_path, {"store.url": db_url})
    rows = anyio.run(_list, settings, _filter(status="dead", limit=limit))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _table(rows)


@dead_letter.command("retry")
@click.argument("event_ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Retry every dead letter.")
@rules_option
@config_option
@db_option
def dead_retry(
    event_ids: tuple[int, ...],
    retry_all: bool,
    rules_path: Path | None,
    config_path: Path | None,
    db_url: str | None,
) -> None:
    """Run dead letters again with the current rules; done actions are skipped."""
    if not event_ids and not retry_all:
        raise click.UsageError("give event ids or --all")
    settings = settings_or_exit(
        config_path, {"store.url": db_url, "rules.path": str(rules_path) if rules_path else None}
    )
    if event_ids:

        async def check() -> list[int]:
            async with opened_store(settings) as store:
                return [
                    i
                    for i in event_ids
                    if (e := await store.get_event(i)) is not None and e.status != "dead"
                ]

        not_dead = anyio.run(check)
        if not_dead:
            raise UserError([f"not in the dead letter: {', '.join(map(str, not_dead))}"])
    _rerun(settings, list(event_ids), _filter(status="dead"), False)
