"""Freed request buffers go back to the system when the server says so."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Hundreds of connections' chunks, each followed by a small object that
# outlives it (as connection state does): glibc's heap keeps such holes.
SCRIPT = """
import sys
from attio_automate.web.memory import return_large_buffers_to_os

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

applied = return_large_buffers_to_os() if sys.argv[1] == "on" else False
before = rss_mb()
chunks, keep = [], []
for n in range(3000):
    chunks.append(bytes(40 * 1024) + bytes([n % 256]))
    keep.append(bytearray(600))
del chunks
print(applied, round(rss_mb() - before))
"""


def held_after_freeing(setting: str) -> tuple[bool, int]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, setting], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_large_buffers_are_returned_once_freed() -> None:
    applied, held_with = held_after_freeing("on")
    _, held_without = held_after_freeing("off")
    assert applied
    assert held_without > 60  # ~117 MB of chunks stay mapped without it
    assert held_with < 10
