"""The plugin tutorial in docs/plugins.md works as written: its files are
built from the page, its tests pass, and its dry run shows its writes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```(?:python|toml)\n# file: (?P<path>\S+)\n(?P<body>.*?)```", re.DOTALL)


def build(folder: Path) -> list[str]:
    page = (ROOT / "docs" / "plugins.md").read_text()
    tutorial = page.split("## Tutorial", 1)[1]
    written = []
    for match in BLOCK.finditer(tutorial):
        target = folder / match["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(match["body"])
        written.append(match["path"])
    return written


def test_the_tutorial_builds_tests_and_dry_runs(tmp_path: Path) -> None:
    assert build(tmp_path) == [
        "pyproject.toml",
        "src/first_touch/__init__.py",
        "tests/test_first_touch.py",
    ]
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    (tmp_path / "rules.yaml").write_text("version: 1\nrules: []\n")
    event = {"event_type": "record.created", "id": {"object_id": "people", "record_id": "p-ada"}}
    (tmp_path / "event.json").write_text(json.dumps(event))
    record = {
        "object": "people",
        "record_id": "p-ada",
        "values": {"email_addresses": ["ada@engines.example"]},
    }
    (tmp_path / "record.json").write_text(json.dumps(record))
    dry = subprocess.run(
        [
            sys.executable,
            "-m",
            "attio_automate",
            "rules",
            "test",
            "rules.yaml",
            "--event",
            "event.json",
            "--record",
            "record.json",
            "--plugin-path",
            "src/first_touch",
            "--no-installed-plugins",
            "--json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dry.returncode == 0, dry.stderr
    shown = json.loads(dry.stdout)
    assert [(a["action"], a["source"]) for a in shown["actions"]] == [
        ("add_to_list", "first_touch"),
        ("add_note", "first_touch"),
    ]
