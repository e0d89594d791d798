"""``attio-automate schedules``: the periodic jobs the runners share."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import anyio
import click

from attio_automate.cli.store_access import config_option, db_option, opened_store, settings_or_exit
from attio_automate.settings import Settings
from attio_automate.store.base import JobState


@click.group()
def schedules() -> None:
    """The runners' periodic jobs (each runs once across runners)."""


@schedules.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@config_option
@db_option
def list_schedules(as_json: bool, config_path: Path | None, db_url: str | None) -> None:
    """Each job: when it runs next, when it last ran, how that went, who holds it."""
    settings = settings_or_exit(config_path, {"store.url": db_url})
    jobs = anyio.run(_jobs, settings)
    if as_json:
        click.echo(json.dumps([asdict(job) for job in jobs], indent=2))
        return
    if not jobs:
        click.echo("no jobs yet: a runner records its jobs when it first serves")
        return
    click.echo(f"{'JOB':<14} {'NEXT RUN (UTC)':<20} {'LAST RUN (UTC)':<20} {'HELD BY':<20} OUTCOME")
    for job in jobs:
        click.echo(
            f"{job.name:<14} {_when(job.next_at):<20} {_when(job.last_started):<20} "
            f"{job.owner or '-':<20} {job.last_outcome or '-'}"
        )


async def _jobs(settings: Settings) -> list[JobState]:
    async with opened_store(settings) as store:
        return await store.jobs()


def _when(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S")
