"""The layers stated in the README's Architecture section, enforced: no
module imports from a layer above its own (import-linter's contract in
``pyproject.toml``)."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_imports_point_down() -> None:
    # import-linter configures logging, disabling every logger that exists:
    # give the other tests theirs back.
    loggers = [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.disabled
    ]
    try:
        assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0
    finally:
        for logger in loggers:
            logger.disabled = False


def test_the_readme_states_the_same_layers() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = config["tool"]["importlinter"]["contracts"][0]
    readme = ROOT / "README.md"
    architecture = readme.read_text().split("## Architecture", 1)[1].split("\n## ", 1)[0]
    for layer in contract["layers"]:
        for module in layer.split("|"):
            name = module.strip().removeprefix("attio_automate.")
            assert f"`{name}`" in architecture, f"README's Architecture omits {name}"
