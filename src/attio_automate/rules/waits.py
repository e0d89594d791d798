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


def moment(text: str, timezone: str, base: float) -> float:
    """Epoch seconds of a rendered ``until:``.

    An ISO 8601 date-time, or a date (at midnight), or English such as
    ``next monday 09:00``, ``tomorrow 17:00`` or ``in 3 days``, read from
    ``base`` (epoch seconds: the event's time, so that a retry plans the same
    moment).  Whatever names no offset is read in ``timezone``.
    """
    cleaned = text.strip()
    where = zone(timezone)
    when = _iso(cleaned) or _english(cleaned, datetime.fromtimestamp(base, where))
    if when is None:
        raise TemplateProblem(
            f"until: {text!r} is not a date (2026-12-01), a date-time (2026-12-01T09:00) "
            "or a moment such as 'next monday 09:00' or 'in 3 days'"
        )
    if when.tzinfo is None:
        when = when.replace(tzinfo=where)
    return when.astimezone(UTC).timestamp()


def _iso(text: str) -> datetime | None:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _english(text: str, now: datetime) -> datetime | None:
    """``text`` as English relative to ``now`` (aware, in the rule's zone),
    through dateparser; a bare weekday means the next one, never the past one."""
    # Imported here: dateparser loads its language data on first use, and
    # most rule sets never need it.
    import dateparser

    parsed: datetime | None = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "RELATIVE_BASE": now.replace(tzinfo=None),
            # A moment naming its own zone comes back in the rule's zone.
            "TIMEZONE": str(now.tzinfo),
            "PREFER_DATES_FROM": "future",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    return parsed
