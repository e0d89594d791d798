"""Hot reload: new rules on SIGHUP or when the rules file changes.

A file that fails validation is refused with its problems logged, and the
rules already running stay.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import anyio

from attio_automate.actions.registry import ActionRegistry
from attio_automate.errors import ConfigError
from attio_automate.rules.engine import RulesEngine
from attio_automate.rules.loader import load_rules_file

log = logging.getLogger("attio_automate.reload")


class RulesReloader:
    """Reloads ``path`` into ``engine`` when asked or when the file changes."""

    def __init__(self, path: str | Path, engine: RulesEngine, actions: ActionRegistry) -> None:
        self.path = Path(path)
        self.engine = engine
        self.actions = actions
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
            self.refused += 1
            log.error(
                "rules reload refused; the previous rules keep running:\n%s",
                "\n".join(exc.problems),
            )
            return False
        self.engine.replace(rules)
        self.reloaded += 1
        log.info("rules reloaded from %s: %d rules", self.path, len(rules.rules))
        return True

    async def watch_file(self, interval: float = 1.0) -> None:
        """Reload whenever the file's modification time or size changes."""
        while True:
            await anyio.sleep(interval)
            stamp = self._stamp()
            if stamp is not None and stamp != self._seen:
                self.reload()

    async def watch_sighup(self) -> None:
        """Reload on every SIGHUP."""
        with anyio.open_signal_receiver(signal.SIGHUP) as signals:
            async for _ in signals:
                log.info("SIGHUP: reloading rules")
                self.reload()
