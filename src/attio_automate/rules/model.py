"""Compiled rules: what a rules file says, checked and ready to evaluate."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from attio_automate.rules.templates import Templates


@dataclass(frozen=True)
class FieldCondition:
    field: str
    operator: str
    value: Any
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class TemplateCondition:
    template: str


@dataclass(frozen=True)
class Group:
    kind: str  # "any" | "all" | "not"
    items: tuple[Condition, ...]


Condition = FieldCondition | TemplateCondition | Group


@dataclass(frozen=True)
class ActionCall:
    action: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class WaitStep:
    """A pause in a rule's ``do:``: ``seconds`` from the event, or ``until``
    a rendered date or date-time (naive ones in ``timezone``)."""

    seconds: float | None = None
    until: str | None = None
    timezone: str = "UTC"


Step = ActionCall | WaitStep


@dataclass(frozen=True)
class Query:
    """What a scheduled rule runs on: an object's records or a list's
    entries (one of the two), filtered, sorted, at most ``limit`` of them
    (Attio's filter and sort shapes)."""

    object: str | None = None
    list: str | None = None
    filter: Mapping[str, Any] | None = None
    sorts: tuple[Mapping[str, Any], ...] | None = None
    limit: int | None = None


@dataclass(frozen=True)
class Schedule:
    """``schedule:`` (cron), its ``timezone:`` and the ``query:`` it runs."""

    cron: str
    query: Query
    timezone: str = "UTC"
    #: A run missed while every runner was down runs once at start-up.
    catch_up: bool = True


@dataclass(frozen=True)
class CancelOn:
    """``cancel_on:``: event types (globs) and conditions that, together,
    cancel a rule's pending waits for the event's record."""

    on: tuple[str, ...]
    when: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    on: tuple[str, ...]
    description: str = ""
    object: str | None = None
    list: str | None = None
    enabled: bool = True
    when: tuple[Condition, ...] = ()
    do: tuple[Step, ...] = ()
    #: After a wait, check ``when`` again on the record as it is then.
    recheck: bool = True
    #: Events that cancel this rule's pending waits for their record.
    cancel_on: CancelOn | None = None
    #: What a new trigger does to a pending wait: replace, keep or parallel.
    on_retrigger: str = "replace"
    #: Run on a schedule over a query's records (instead of, or besides, ``on:``).
    schedule: Schedule | None = None
    #: Where the rule starts in its file, for messages.
    origin: str = ""


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    source: str = ""
    #: Action names the rules use, for listing.
    actions_used: frozenset[str] = field(default_factory=frozenset)
    #: The rules' templates, compiled when they loaded.
    templates: Templates = field(default_factory=Templates, compare=False)
