"""``attio-automate rules``: check rules and try them on events without Attio."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import click

from attio_automate.assembly import Plugins
from attio_automate.cli import output
from attio_automate.cli.common import (
    UserError,
    no_entry_points_option,
    plugin_path_option,
    plugins_or_exit,
)
from attio_automate.errors import ConfigError
from attio_automate.tooling.cases import CaseResult, load_cases, run_case
from attio_automate.tooling.dryrun import DryRun, dry_run, parse_event, read_json_file

_FILE = click.Path(path_type=Path, dir_okay=False)


@click.group("rules")
def rules() -> None:
    """Check rules files and test them without Attio."""


@rules.command("check")
@click.argument("file", type=_FILE)
@plugin_path_option
@no_entry_points_option
def check(file: Path, plugin_paths: tuple[Path, ...], no_installed_plugins: bool) -> None:
    """Validate FILE: exit 0, or print FILE:LINE:COL problems and exit 1."""
    plugins = plugins_or_exit(
        rules=file, plugin_paths=plugin_paths, no_installed=no_installed_plugins
    )
    count = len(plugins.rules.rules.rules)
    click.echo(f"{file}: {count} rule{'s' if count != 1 else ''} OK")


@rules.command("test")
@click.argument("file", type=_FILE)
@click.option("--event", "event_file", type=_FILE, help="An event (or delivery) as JSON.")
@click.option(
    "--record",
    "record_files",
    type=_FILE,
    multiple=True,
    help="A record or entry fixture as JSON (a list of them too); repeatable.",
)
@click.option("--cases", "cases_file", type=_FILE, help="A YAML file of test cases.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@plugin_path_option
@no_entry_points_option
def test(
    file: Path,
    event_file: Path | None,
    record_files: tuple[Path, ...],
    cases_file: Path | None,
    as_json: bool,
    plugin_paths: tuple[Path, ...],
    no_installed_plugins: bool,
) -> None:
    """Dry-run FILE on --event, or run the test --cases; nothing is sent to Attio."""
    if (event_file is None) == (cases_file is None):
        raise click.UsageError("give either --event (a dry run) or --cases (test cases)")
    plugins = plugins_or_exit(
        rules=file, plugin_paths=plugin_paths, no_installed=no_installed_plugins
    )
    try:
        if event_file is not None:
            fixtures: list[Any] = []
            for path in record_files:
                loaded = read_json_file(path)
                fixtures.extend(loaded if isinstance(loaded, list) else [loaded])
            event = parse_event(read_json_file(event_file))
            run = anyio.run(dry_run, plugins, event, fixtures)
            _show_dry_run(run, as_json)
            return
        assert cases_file is not None
        results = anyio.run(_run_cases, plugins, cases_file)
    except ConfigError as exc:
        raise UserError(exc.problems) from None
    _show_cases(results, as_json)
    if not all(r.passed for r in results):
        raise SystemExit(1)


async def _run_cases(plugins: Plugins, path: Path) -> list[CaseResult]:
    return [await run_case(plugins, case) for case in load_cases(path)]


def _show_dry_run(run: DryRun, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(run.to_json(), indent=2, ensure_ascii=False, default=str))
        return
    click.echo(
        f"event ended: {run.result.status}"
        f"{' (' + run.result.reason + ')' if run.result.reason else ''}"
    )
    click.echo("rules:")
    output.decisions(click.echo, run.decisions)
    click.echo("actions:" if run.actions else "actions: none")
    output.actions(click.echo, run.actions)
    click.echo("Attio calls the actions would make:" if run.calls else "Attio calls: none")
    output.calls(click.echo, run.calls)
    errors = run.result.context.trace.errors if run.result.context else []
    for error in errors:
        click.echo(f"error: {error.get('plugin')}: {error.get('error')}")


def _show_cases(results: list[CaseResult], as_json: bool) -> None:
    passed = sum(1 for r in results if r.passed)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "passed": passed,
                    "failed": len(results) - passed,
                    "cases": [
                        {"name": r.name, "passed": r.passed, "problems": r.problems}
                        for r in results
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    for result in results:
        click.echo(f"{'PASS' if result.passed else 'FAIL'}  {result.name}")
        for problem in result.problems:
            click.echo(f"      {problem}")
        if not result.passed and result.run is not None:
            output.decisions(click.echo, result.run.decisions, indent="      ")
    click.echo(f"{passed} passed, {len(results) - passed} failed")
