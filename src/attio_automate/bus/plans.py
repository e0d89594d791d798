"""A planned action: what a rule or plugin decided on, not yet run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlannedAction:
    """An action a rule or plugin decided on, not yet run.

    ``key`` is the action's identity in the ledger: the event's key, the
    source (rule or plugin), the action and what makes it this action (a
    digest of its rendered parameters, or an explicit key), plus ``#n`` for
    the n-th identical plan.  A retried or replayed event skips an action
    only when the ledger holds this very key as done: an action that is
    still planned the same way is never repeated, and a new or changed one
    runs.  ``legacy_key`` is the positional key (``event:source:index``) that
    ledgers written before identities used.
    """

    key: str
    action: str
    params: Mapping[str, Any]
    source: str
    legacy_key: str | None = None
