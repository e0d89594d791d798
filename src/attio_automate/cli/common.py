"""What the commands share: loading plugins and rules with clean errors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from attio_automate.assembly import Plugins, load_plugins
from attio_automate.errors import ConfigError


class UserError(click.ClickException):
    """A user mistake: printed as lines, exit 1, never a traceback."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))

    def show(self, file: object = None) -> None:
        click.echo(self.format_message(), err=True)


plugin_path_option = click.option(
    "--plugin-path",
    "plugin_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Load a plugin from this .py file or package directory (repeatable).",
)
no_entry_points_option = click.option(
    "--no-installed-plugins",
    is_flag=True,
    help="Do not load installed plugins (entry points), only built-ins and --plugin-path.",
)


def plugins_or_exit(
    *, rules: Path | None, plugin_paths: Sequence[Path], no_installed: bool
) -> Plugins:
    try:
        return load_plugins(
            rules_path=rules, plugin_paths=plugin_paths, entry_points=not no_installed
        )
    except ConfigError as exc:
        raise UserError(exc.problems) from None
