"""``attio-automate plugins``: what is loaded, which hooks, which actions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from attio_automate.cli.common import no_entry_points_option, plugin_path_option, plugins_or_exit


@click.command("plugins")
@plugin_path_option
@no_entry_points_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def plugins(plugin_paths: tuple[Path, ...], no_installed_plugins: bool, as_json: bool) -> None:
    """List loaded plugins, the hooks they implement and the actions they register."""
    loaded = plugins_or_exit(
        rules=None, plugin_paths=plugin_paths, no_installed=no_installed_plugins
    )
    by_plugin: dict[str, list[dict[str, str]]] = {}
    for action in loaded.actions:
        by_plugin.setdefault(action.plugin, []).append(
            {"name": action.name, "description": action.description}
        )
    plugins_found = loaded.bus.plugins()
    if as_json:
        listing = [
            {"name": name, "hooks": ", ".join(hooks) or "none", "actions": by_plugin.get(name, [])}
            for name, hooks in plugins_found
        ]
        click.echo(json.dumps(listing, indent=2))
        return
    for name, hooks in plugins_found:
        click.echo(name)
        click.echo(f"  hooks: {', '.join(hooks) or 'none'}")
        for action in by_plugin.get(name, []):
            click.echo(f"  action {action['name']}: {action['description']}")
