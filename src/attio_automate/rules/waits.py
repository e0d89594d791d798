"""Waits in rules: how long, or until when, a rule pauses before its next steps."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attio_automate.errors import TemplateProblem

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration(value: str | float) -> float:
    """Seconds of ``7d``, ``12h``, ``30m``, ``45s``, ``2w`` (or a number of seconds)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError("a wait must be longer than nothing")
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a duration like 30m, 12h, 7d or 2w")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("a wait must be longer than nothing")
    return seconds


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Berlin``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone like Europe/Berlin or UTC") from None


def moment(text: str, timezone: str) -> float:
    """Epoch seconds of a rendered ``until:``: an ISO 8601 date-time, or a
    date (at midnight); one without an offset is read in ``timezone``."""
    cleaned = text.strip()
    try:
        if len(cleaned) == 10:
            day = date.fromisoformat(cleaned)
            when = datetime(day.year, day.month, day.day)
        else:
            when = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise TemplateProblem(
            f"until: {text!r} is not a date (2026-12-01) or date-time (2026-12-01T09:00)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(timezone))
    return when.astimezone(UTC).timestamp()
