"""``attio-automate import`` and ``export``: files in and out of Attio."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Any

import anyio
import click

from attio_automate.cli.common import UserError
from attio_automate.cli.store_access import config_option, opened_runner_for_sync, settings_or_exit
from attio_automate.errors import AttioError, ConfigError
from attio_automate.heap import settle_heap
from attio_automate.settings import Settings
from attio_automate.sync.exporting import export
from attio_automate.sync.importing import Importer, ImportReport
from attio_automate.yamlpos import YamlError, load


class ProgressLine:
    """One line on stderr: count, rate and (with a total) percentage and ETA;
    redrawn at most five times a second, and only on a terminal."""

    def __init__(self, what: str, stream: IO[str] | None = None) -> None:
        self.what = what
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.shown = 0.0
        self.live = self.stream.isatty()

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if not self.live or (now - self.shown < 0.2 and done != total):
            return
        self.shown = now
        self.stream.write("\r" + self.line(done, total))
        self.stream.flush()

    def line(self, done: int, total: int | None) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = done / elapsed
        text = f"{self.what}: {done}"
        if total:
            left = (total - done) / rate if rate > 0 else 0.0
            text += f"/{total} ({100 * done / total:.0f}%), {rate:.1f}/s, ETA {_clock(left)}"
        else:
            text += f", {rate:.1f}/s"
        return text

    def finish(self) -> None:
        if self.live:
            self.stream.write("\n")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--object", "object_", required=True, help="The object to import into (people).")
@click.option("--match", required=True, help="The attribute rows are matched on (upsert).")
@click.option(
    "--map",
    "mapping_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="YAML {column: attribute} overriding the mapping inferred from the headers "
    "(null leaves a column out).",
)
@click.option("--dry-run", is_flag=True, help="Map and check every row; write nothing.")
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write refused rows here as JSON lines, with Attio's code and message.",
)
@config_option
def import_file(
    file: Path,
    object_: str,
    match: str,
    mapping_path: Path | None,
    dry_run: bool,
    rejects_path: Path | None,
    config_path: Path | None,
) -> None:
    """Upsert each row of FILE (.csv or .jsonl) into an object, once: run it
    again after Ctrl-C or a crash and it goes on where it stopped."""
    settings = settings_or_exit(config_path)
    overrides = _mapping(mapping_path) if mapping_path else {}
    report = anyio.run(_import, settings, file, object_, match, overrides, dry_run, rejects_path)
    click.echo("mapping: " + ", ".join(f"{c} -> {a}" for c, a in report.mapping.items()))
    if report.ignored:
        click.echo("left out: " + ", ".join(report.ignored))
    verb = "would write" if dry_run else "written"
    click.echo(
        f"{report.rows} rows: {report.written} {verb}, {report.unchanged} already in Attio, "
        f"{report.resumed} done by an earlier run, {report.rejected} rejected"
        + (f" (see {rejects_path})" if report.rejected and rejects_path else "")
    )


async def _import(
    settings: Settings,
    file: Path,
    object_: str,
    match: str,
    overrides: dict[str, str | None],
    dry_run: bool,
    rejects_path: Path | None,
) -> ImportReport:
    rejects = rejects_path.open("w", encoding="utf-8") if rejects_path else None
    progress = ProgressLine(f"import {file.name}")
    try:
        async with opened_runner_for_sync(settings) as runner:
            importer = Importer(
                attio=runner.attio,
                schema=runner.schema,
                store=runner.store,
                object=object_,
                match=match,
                clock=runner.clock,
            )
            settle_heap()

            def reject(row: dict[str, Any]) -> None:
                if rejects is not None:
                    rejects.write(json.dumps(row, default=str) + "\n")

            try:
                return await importer.run(
                    file, overrides=overrides, rejects=reject, progress=progress, dry_run=dry_run
                )
            except ConfigError as exc:
                raise UserError(exc.problems) from None
            except AttioError as exc:
                raise UserError(
                    [f"stopped: {exc}", "run the same command again to go on where it stopped"]
                ) from None
    finally:
        progress.finish()
        if rejects is not None:
            rejects.close()


def _mapping(path: Path) -> dict[str, str | None]:
    try:
        data = load(path.read_text(encoding="utf-8")).data
    except (OSError, YamlError) as exc:
        raise UserError([f"{path}: {exc}"]) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in data.items()
    ):
        raise UserError([f"{path}: expected a mapping of column: attribute (or null)"])
    return dict(data)


@click.command("export")
@click.argument("object_", metavar="OBJECT", required=False)
@click.option("--list", "list_", help="Export this list's entries instead of an object.")
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="out.jsonl or out.csv",
)
@config_option
def export_file(object_: str | None, list_: str | None, to: Path, config_path: Path | None) -> None:
    """Write every record of OBJECT (or entry of --list) to a file, streamed."""
    settings = settings_or_exit(config_path)
    count = anyio.run(_export, settings, object_, list_, to)
    click.echo(f"{count} {'entries' if list_ else 'records'} written to {to}")


async def _export(settings: Settings, object_: str | None, list_: str | None, to: Path) -> int:
    progress = ProgressLine(f"export to {to.name}")
    try:
        async with opened_runner_for_sync(settings) as runner:
            return await export(
                runner.attio,
                runner.schema,
                to=to,
                object=object_,
                list=list_,
                progress=progress,
            )
    except ConfigError as exc:
        raise UserError(exc.problems) from None
    except AttioError as exc:
        raise UserError([f"stopped: {exc}"]) from None
    finally:
        progress.finish()
