"""The ``attio-automate`` command."""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """attio-automate: automation as code for Attio."""
