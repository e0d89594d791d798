"""Giving freed request buffers back to the operating system.

Hypercorn hands a body to the app in chunks of 64 KiB.  glibc's malloc puts
blocks that size on its heap (its mmap threshold starts at 128 KiB and only
grows), and a heap fragmented by hundreds of connections' chunks keeps its
pages after the connections are gone: 300 stalled bodies left the runner
~100 MB bigger for good.  Blocks from 32 KiB up (reads often return less
than a whole chunk) served by ``mmap`` go back to the system the moment
they are freed; the cost is a system call per such block, which webhook
traffic never notices.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: glibc's ``mallopt`` parameter number for the mmap threshold.
_M_MMAP_THRESHOLD = -3

#: Blocks at least this big are mapped, and unmapped when freed.
LARGE_BLOCK = 32 * 1024


def return_large_buffers_to_os(threshold: int = LARGE_BLOCK) -> bool:
    """Have malloc map blocks of ``threshold`` bytes or more (glibc only).

    True when the setting took; False elsewhere (another C library, another
    system), where nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
