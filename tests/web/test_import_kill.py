"""``attio-automate import`` killed with -9 part-way, then run again: every
row reaches Attio, none twice."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from attio_automate.testing.servers import FakeAttioProcess
from tests.web.conftest import KEY

ROWS = 150


@pytest.mark.slow
def test_an_import_killed_with_9_resumes_and_writes_no_row_twice(
    fake: FakeAttioProcess, tmp_path: Path
) -> None:
    httpx.post(
        f"{fake.control_url}/limits", json={"reads_per_second": 100, "writes_per_second": 25}
    )
    path = tmp_path / "people.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email_addresses", "name"])
        writer.writerows([f"k{n}@kill.test", f"Person {n}"] for n in range(ROWS))
    config = tmp_path / "config.yaml"
    config.write_text(f'store: {{url: "sqlite:///{tmp_path / "runner.db"}"}}\n')
    command = [
        sys.executable,
        "-m",
        "attio_automate",
        "import",
        str(path),
        "--object",
        "people",
        "--match",
        "email_addresses",
        "--config",
        str(config),
    ]
    env = {**os.environ, "ATTIO_API_KEY": KEY, "ATTIO_BASE_URL": fake.base_url}
    log = (tmp_path / "first.log").open("wb")
    first = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while fake.count("PUT", "/v2/objects/people/records") < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    log.close()
    written_before = fake.count("PUT", "/v2/objects/people/records")
    assert 40 <= written_before < ROWS  # killed part-way
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{ROWS} rows:" in second.stdout
    puts = [
        r
        for r in fake.requests()
        if r["method"] == "PUT" and r["path"] == "/v2/objects/people/records" and r["status"] == 200
    ]
    written = Counter(
        r["body"]["data"]["values"]["email_addresses"][0]["email_address"] for r in puts
    )
    assert written == Counter({f"k{n}@kill.test": 1 for n in range(ROWS)})
