"""The periodic jobs' statements, shared by both stores (``?`` placeholders;
PostgreSQL's are numbered by :func:`numbered`)."""

from __future__ import annotations

import re
from typing import Any

from attio_automate.store.base import JobState

#: A job the store has never seen is due at ``first_at``.
ADD = "INSERT INTO jobs (name, next_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"
#: Taken only when due and not held (a holder whose lease ran out has died).
CLAIM = (
    "UPDATE jobs SET owner = ?, lease_until = ?, last_started = ? "
    "WHERE name = ? AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?) "
    "RETURNING next_at"
)
#: Given back only by its holder (a late finisher after a takeover changes nothing).
FINISH = (
    "UPDATE jobs SET owner = NULL, lease_until = NULL, next_at = ?, last_finished = ?, "
    "last_outcome = ? WHERE name = ? AND owner = ?"
)
ALL = (
    "SELECT name, next_at, owner, lease_until, last_started, last_finished, last_outcome "
    "FROM jobs ORDER BY name"
)


def numbered(statement: str) -> str:
    """``statement`` with PostgreSQL's ``$1, $2...`` for its ``?``."""
    counter = iter(range(1, statement.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(counter)}", statement)


def claim_args(name: str, owner: str, now: float, lease: float) -> tuple[Any, ...]:
    return (owner, now + lease, now, name, now, now)


def state(row: Any) -> JobState:
    return JobState(*(row[i] for i in range(7)))
