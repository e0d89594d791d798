"""settle_heap: what lives at start-up is out of the collector's walks."""

from __future__ import annotations

import subprocess
import sys

# In a process of its own: freezing changes the whole process, and the test
# process's objects should stay collectable.
SCRIPT = """
import gc
import sqlalchemy, starlette, pydantic  # a runner's long-lived heap
from attio_automate.heap import settle_heap
before = len(gc.get_objects(generation=2))
frozen = settle_heap()
after = len(gc.get_objects(generation=2))
print(before, frozen, after)
"""


def test_the_heap_alive_at_start_up_is_frozen() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    ).stdout.split()
    before, frozen, after = (int(n) for n in out)
    assert before > 10_000
    assert frozen >= before
    assert after < 100
