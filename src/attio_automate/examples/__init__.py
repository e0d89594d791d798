"""Example rules shipped with the package (the demo runs them)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def example_path(name: str = "rules.example.yaml") -> Path:
    """The path of a shipped example file."""
    return Path(str(resources.files("attio_automate.examples").joinpath(name)))
