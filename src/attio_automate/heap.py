"""The process's long-lived heap, kept out of the garbage collector's way.

A runner carries a large heap that lives as long as the process: the
modules and classes of SQLAlchemy, pydantic, Starlette and the rest, the
schema, the rules.  CPython's full collections walk all of it, and one
took about 27 ms during a reconcile (measured with ``gc.callbacks``),
long enough for the event loop to miss three read slots each time, a
couple of percent of Attio's read budget lost over a run.  Frozen after
start-up, the heap is left alone; the collector walks only what was made
since, which is what dies young anyway.
"""

from __future__ import annotations

import gc


def settle_heap() -> int:
    """Collect once, then freeze what is left; how many objects were frozen.

    For a process's own entry point (the CLI) once it has started up: it
    changes the whole process, so no library call makes it.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
