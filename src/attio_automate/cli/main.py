"""The ``attio-automate`` command."""

from __future__ import annotations

import anyio
import click

from attio_automate.cli.demo import run_demo
from attio_automate.cli.doctor import doctor
from attio_automate.cli.events import dead_letter, events
from attio_automate.cli.fake import fake_attio
from attio_automate.cli.plugins import plugins
from attio_automate.cli.rules import rules
from attio_automate.cli.schedules import schedules
from attio_automate.cli.serve import serve
from attio_automate.cli.sync import sync
from attio_automate.cli.transfer import export_file, import_file
from attio_automate.cli.waits import waits
from attio_automate.cli.webhooks import webhooks


@click.group()
@click.version_option(package_name="attio-automate")
def main() -> None:
    """attio-automate: automation as code for Attio CRM."""


@main.command()
def demo() -> None:
    """Show the path working against an in-process fake Attio (no network)."""
    anyio.run(run_demo, click.echo)


main.add_command(fake_attio)
main.add_command(rules)
main.add_command(plugins)
main.add_command(serve)
main.add_command(events)
main.add_command(dead_letter)
main.add_command(webhooks)
main.add_command(doctor)
main.add_command(schedules)
main.add_command(waits)
main.add_command(sync)
main.add_command(import_file)
main.add_command(export_file)
