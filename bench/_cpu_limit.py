"""Hold a process to a share of the CPU with a cgroup quota, as a container's
CPU limit would: on one machine, several processes so limited stand in for
several hosts of that size.  Needs root and the cgroup ``cpu`` controller
(v1 or v2)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

PERIOD_US = 10_000  # short periods spread a throttled process's time evenly

V1 = Path("/sys/fs/cgroup/cpu")
V2 = Path("/sys/fs/cgroup")


class CpuLimitUnavailable(RuntimeError):
    """No cgroup ``cpu`` controller this process may write to."""


def _v2_has_cpu() -> bool:
    controllers = V2 / "cgroup.subtree_control"
    return controllers.exists() and "cpu" in controllers.read_text().split()


@contextmanager
def cpu_limited(pid: int, cores: float, name: str) -> Iterator[None]:
    """Run process ``pid`` on at most ``cores`` CPUs' worth of time until the
    block ends."""
    quota = max(int(cores * PERIOD_US), 1_000)
    if (V1 / "cgroup.procs").exists():
        group, root = V1 / name, V1
        settings = {"cpu.cfs_period_us": str(PERIOD_US), "cpu.cfs_quota_us": str(quota)}
    elif _v2_has_cpu():
        group, root = V2 / name, V2
        settings = {"cpu.max": f"{quota} {PERIOD_US}"}
    else:
        raise CpuLimitUnavailable("no cgroup cpu controller (pass --runner-cpu 0)")
    try:
        group.mkdir(exist_ok=True)
        for setting, value in settings.items():
            (group / setting).write_text(value)
        (group / "cgroup.procs").write_text(str(pid))
    except OSError as exc:
        raise CpuLimitUnavailable(
            f"cannot limit CPU via {group}: {exc} (run as root, or pass --runner-cpu 0)"
        ) from exc
    try:
        yield
    finally:
        with suppress(ProcessLookupError, OSError):  # the process may be gone already
            os.kill(pid, 0)
            (root / "cgroup.procs").write_text(str(pid))
        with suppress(OSError):
            group.rmdir()
