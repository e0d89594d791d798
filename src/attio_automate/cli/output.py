"""Readable text for dry runs, traces and case results."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Echo = Callable[[str], None]


def compact(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decisions(echo: Echo, items: list[dict[str, Any]], *, indent: str = "  ") -> None:
    """One line per rule: matched or not, and why."""
    for decision in items:
        mark = "✓" if decision["matched"] else ("!" if decision.get("error") else "·")
        reason = decision.get("error") or decision["reason"]
        echo(f"{indent}{mark} {decision['rule']}: {reason}")


def actions(echo: Echo, items: list[dict[str, Any]], *, indent: str = "    ") -> None:
    """One line per action: what ran, how it ended, its result or error."""
    for action in items:
        outcome = (
            action.get("result")
            if action["status"] != "failed"
            else action.get("error", {}).get("message")
        )
        echo(
            f"{indent}{action['action']} [{action['source']}] -> {action['status']}"
            f"{': ' + compact(outcome) if outcome is not None else ''}"
        )


def calls(echo: Echo, items: list[dict[str, Any]], *, indent: str = "    ") -> None:
    """The Attio API calls, as method, path and body."""
    for call in items:
        query = (
            "?" + "&".join(f"{k}={v}" for k, v in call["query"].items())
            if call.get("query")
            else ""
        )
        echo(f"{indent}{call['method']} {call['path']}{query}")
        if call.get("body") is not None:
            echo(f"{indent}  {compact(call['body'], 400)}")
