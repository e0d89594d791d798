"""Hot reload: new rules on SIGHUP or when the rules file changes.

A file that fails to load for any reason (invalid rules, bad YAML, an
alias bomb, a file half-written, a bug) is refused with its problems
logged, and the rules already running stay.  Loading runs in a worker
thread, so a slow file never stalls the event loop.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from pathlib import Path

import anyio

from attio_automate.actions.registry import ActionRegistry
from attio_automate.errors import ConfigError
from attio_automate.rules.engine import RulesEngine
from attio_automate.rules.loader import load_rules_file

log = logging.getLogger("attio_automate.reload")


class RulesReloader:
    """Reloads ``path`` into ``engine`` when asked or when the file changes."""

    def __init__(
        self,
        path: str | Path,
        engine: RulesEngine,
        actions: ActionRegistry,
        *,
        on_reload: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.engine = engine
        self.actions = actions
        #: Told ``"reloaded"`` or ``"refused"`` after each attempt (metrics).
        self.on_reload = on_reload
        self._seen = self._stamp()
        #: How many reloads succeeded and failed (for tests and logs).
        self.reloaded = 0
        self.refused = 0

    def _stamp(self) -> tuple[float, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime, stat.st_size)

    def reload(self) -> bool:
        """Load the file now; keep the old rules if it is refused."""
        self._seen = self._stamp()
        try:
            rules = load_rules_file(self.path, registry=self.actions)
        except ConfigError as exc:
            return self._refused("\n".join(exc.problems))
        except Exception as exc:  # whatever a broken file makes the loader do
            return self._refused(f"{type(exc).__name__}: {exc}")
        self.engine.replace(rules)
        self.reloaded += 1
        log.info("rules reloaded from %s: %d rules", self.path, len(rules.rules))
        if self.on_reload is not None:
            self.on_reload("reloaded")
        return True

    async def reload_off_loop(self) -> bool:
        """:meth:`reload` in a worker thread (the engine swap is one assignment)."""
        return await anyio.to_thread.run_sync(self.reload)

    def _refused(self, why: str) -> bool:
        self.refused += 1
        log.error("rules reload refused; the previous rules keep running:\n%s", why)
        if self.on_reload is not None:
            self.on_reload("refused")
        return False

    async def watch_file(self, interval: float = 1.0) -> None:
        """Reload whenever the file's modification time or size changes."""
        while True:
            await anyio.sleep(interval)
            stamp = self._stamp()
            if stamp is not None and stamp != self._seen:
                await self.reload_off_loop()

    async def watch_sighup(self) -> None:
        """Reload on every SIGHUP."""
        with anyio.open_signal_receiver(signal.SIGHUP) as signals:
            async for _ in signals:
                log.info("SIGHUP: reloading rules")
                await self.reload_off_loop()
