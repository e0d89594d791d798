"""Schedules in rules: cron expressions read in a time zone (DST included)."""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import croniter

from attio_automate.rules.waits import zone


def check_cron(expression: str) -> str | None:
    """Why ``expression`` is not a cron schedule (None when it is one)."""
    if not croniter.is_valid(expression):
        return (
            f"{expression!r} is not a cron schedule like '0 9 * * MON' "
            "(minute hour day month weekday)"
        )
    return None


def next_run(expression: str, timezone: str, after: float) -> float:
    """Epoch seconds of the schedule's first time after ``after``, the hours
    and minutes read in ``timezone`` (so 09:00 stays 09:00 across DST)."""
    local = datetime.fromtimestamp(after, UTC).astimezone(zone(timezone))
    upcoming: datetime = croniter(expression, local).get_next(datetime)
    return upcoming.timestamp()
