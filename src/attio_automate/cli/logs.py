"""How the long-running commands log: a level, and text or JSON lines."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import click

LEVELS = ("debug", "info", "warning", "error")
#: Loggers that speak for every request: quiet unless asked for (debug).
_CHATTY = ("httpx", "httpcore", "hypercorn.access")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time``, ``level``, ``logger``, ``message``
    (and ``error`` with the traceback when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(level: str, fmt: str) -> None:
    """Log at ``level`` and above to stderr, as ``fmt`` (``text`` or ``json``)."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _CHATTY:
        # Every Attio request at INFO would drown what matters.
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)


def log_options(fn: click.decorators.FC) -> click.decorators.FC:
    """``--log-level`` and ``--log-format`` for a command."""
    fn = click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Log lines as text, or as one JSON object each.",
    )(fn)
    return click.option(
        "--log-level",
        type=click.Choice(LEVELS),
        default="info",
        show_default=True,
        help="Least important messages to log (debug also logs each Attio request).",
    )(fn)
