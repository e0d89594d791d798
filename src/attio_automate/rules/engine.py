"""The rules engine, a built-in plugin on the public hooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from attio_automate.bus.context import EventContext, Interest
from attio_automate.bus.hookspecs import hookimpl
from attio_automate.errors import TemplateProblem
from attio_automate.rules import waits
from attio_automate.rules.conditions import holds
from attio_automate.rules.model import ActionCall, Condition, Rule, RuleSet, WaitStep


@dataclass
class Decision:
    """What one rule made of one event."""

    rule: str
    matched: bool
    reason: str
    actions: list[ActionCall] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rule": self.rule, "matched": self.matched, "reason": self.reason}
        if self.actions:
            data["actions"] = [{"action": a.action, "with": dict(a.params)} for a in self.actions]
        if self.error:
            data["error"] = self.error
        return data


def _message(exc: Exception) -> str:
    """What a rule's failure says: rendering wraps whatever it met in
    TemplateProblem; anything else is a bug in a condition, kept to the rule."""
    return str(exc) if isinstance(exc, TemplateProblem) else f"{type(exc).__name__}: {exc}"


def _scope(context: dict[str, Any], rule: Rule) -> dict[str, Any]:
    """What a rule's conditions and templates see: the event's names and ``rule``."""
    return {**context, "rule": {"id": rule.id, "description": rule.description}}


def _judge(
    rules: RuleSet, conditions: tuple[Condition, ...], scope: dict[str, Any]
) -> tuple[str | None, list[str]]:
    """The first failing condition's reason (None when all hold), and the
    reasons of those that held."""
    reasons: list[str] = []
    for condition in conditions:
        verdict, reason = holds(condition, scope, rules.templates)
        if not verdict:
            return reason, reasons
        reasons.append(reason)
    return None, reasons


def _interests(rules: RuleSet) -> list[Interest]:
    """What the rules could match, worked out once per rule set (asked per event)."""
    return [
        Interest(
            # cancel_on's events are the rule's business too.
            event_types=rule.on + (rule.cancel_on.on if rule.cancel_on else ()),
            objects=(rule.object,) if rule.object else None,
            lists=(rule.list,) if rule.list else None,
        )
        for rule in rules.rules
        if rule.enabled
    ]


class RulesEngine:
    """Evaluates a rule set against events; plugs into the bus as ``rules``.

    :meth:`replace` swaps the rules atomically (reload), so an event is
    always judged by one whole rule set.
    """

    PLUGIN_NAME = "rules"

    def __init__(self, rules: RuleSet) -> None:
        self._current = (rules, _interests(rules))

    @property
    def rules(self) -> RuleSet:
        return self._current[0]

    def replace(self, rules: RuleSet) -> None:
        # One assignment (reloads run in a worker thread): an event never sees
        # one rule set's interests beside another's rules.
        self._current = (rules, _interests(rules))

    def decide(self, event: EventContext) -> list[Decision]:
        """Each rule's decision about ``event``, actions rendered; nothing is planned.

        A rule that fails (a template error of any kind, whatever raised it)
        gets a decision saying so; the other rules are judged as usual.
        """
        rules = self.rules
        context = event.template_context()
        own = event.event.schedule or event.event.wait
        if own is not None:
            # A scheduled run or a wait that fell due: one rule's business.
            judge = self._scheduled if event.event.schedule is not None else self._resume
            try:
                return [judge(rules, event, context)]
            except Exception as exc:
                return [Decision(str(own.get("rule")), False, "error", error=_message(exc))]
        decisions = []
        for rule in rules.rules:
            try:
                cancelling = self._cancels(rules, rule, event, context)
                if cancelling is not None:
                    decisions.append(cancelling)
                decisions.append(self._decide(rules, rule, event, context))
            except Exception as exc:
                decisions.append(Decision(rule.id, False, "error", error=_message(exc)))
        return decisions

    def _decide(
        self, rules: RuleSet, rule: Rule, event: EventContext, context: dict[str, Any]
    ) -> Decision:
        event_type = event.event.event_type
        if not rule.enabled:
            return Decision(rule.id, False, "rule is disabled")
        if not rule.on:
            return Decision(rule.id, False, "the rule runs on its schedule, not on events")
        if not any(fnmatchcase(event_type, pattern) for pattern in rule.on):
            return Decision(rule.id, False, f"event {event_type} is not in on: {list(rule.on)}")
        subject = event.list if event.event.family == "list-entry" else event.object
        if rule.object and rule.object != subject:
            return Decision(rule.id, False, f"object {subject!r} is not {rule.object!r}")
        if rule.list and rule.list != event.list:
            return Decision(rule.id, False, f"list {event.list!r} is not {rule.list!r}")
        if event.gone and not event_type.endswith(".deleted"):
            # Deleted since Attio sent the event: nothing left to act on.
            return Decision(rule.id, False, "the record no longer exists (gone)")
        scope = _scope(context, rule)
        failed, reasons = _judge(rules, rule.when, scope)
        if failed is not None:
            return Decision(rule.id, False, f"condition failed: {failed}")
        actions = self._steps(rules, rule, scope, event, start=0)
        reason = "; ".join(reasons) if reasons else f"event {event_type} matched"
        return Decision(rule.id, True, reason, actions)

    def _cancels(
        self, rules: RuleSet, rule: Rule, event: EventContext, context: dict[str, Any]
    ) -> Decision | None:
        """A decision to cancel the rule's pending waits for this record, when
        the event is one of its ``cancel_on:`` and the conditions hold."""
        cancel = rule.cancel_on
        event_type = event.event.event_type
        if cancel is None or not rule.enabled:
            return None
        if not any(fnmatchcase(event_type, pattern) for pattern in cancel.on):
            return None
        failed, _ = _judge(rules, cancel.when, _scope(context, rule))
        if failed is not None:
            return None
        return Decision(
            rule.id,
            True,
            f"cancel_on: {event_type} cancels the rule's pending waits for this record",
            [ActionCall("cancel_waits", {"rule": rule.id})],
        )

    def _scheduled(self, rules: RuleSet, event: EventContext, context: dict[str, Any]) -> Decision:
        """One record of a scheduled rule's run: the rule's conditions and steps."""
        name = str((event.event.schedule or {}).get("rule"))
        rule = next((r for r in rules.rules if r.id == name), None)
        if rule is None or not rule.enabled or rule.schedule is None:
            return Decision(name, False, "the rule is gone, disabled or no longer scheduled")
        if event.gone:
            return Decision(rule.id, False, "the record no longer exists (gone)")
        scope = _scope(context, rule)
        failed, reasons = _judge(rules, rule.when, scope)
        if failed is not None:
            return Decision(rule.id, False, f"condition failed: {failed}")
        actions = self._steps(rules, rule, scope, event, start=0)
        run = (event.event.schedule or {}).get("run")
        why = "; ".join(reasons) if reasons else "no conditions"
        return Decision(rule.id, True, f"scheduled run {run} ({why})", actions)

    def _resume(self, rules: RuleSet, event: EventContext, context: dict[str, Any]) -> Decision:
        """A wait of a rule fell due: its next steps, if the rule (as it is
        now) still wants them for the record (as it is now)."""
        wait = event.event.wait or {}
        rule = next((r for r in rules.rules if r.id == wait.get("rule")), None)
        name = str(wait.get("rule"))
        if rule is None or not rule.enabled:
            return Decision(name, False, "the rule is gone or disabled: the wait ends here")
        if event.gone:
            return Decision(rule.id, False, "the record no longer exists (gone)")
        scope = _scope(context, rule)
        failed, reasons = _judge(rules, rule.when if rule.recheck else (), scope)
        if failed is not None:
            return Decision(rule.id, False, f"after the wait, condition failed: {failed}")
        actions = self._steps(rules, rule, scope, event, start=int(wait.get("step", 0)))
        why = "; ".join(reasons) if reasons else "rechecking is off"
        return Decision(rule.id, True, f"the wait is over ({why})", actions)

    def _steps(
        self, rules: RuleSet, rule: Rule, scope: dict[str, Any], event: EventContext, start: int
    ) -> list[ActionCall]:
        """The rule's steps from ``start``, rendered, up to and including the
        next wait (as a ``wait`` action: the rest comes when it is due)."""
        actions = []
        for index in range(start, len(rule.do)):
            step = rule.do[index]
            if isinstance(step, WaitStep):
                if step.until is not None:
                    rendered = rules.templates.render(step.until, scope)
                    # From the event's time too: "next monday" stays the same Monday.
                    due = waits.moment(rendered, step.timezone, event.received_at)
                else:
                    # From the event's time: a retry plans the same wait.
                    due = event.received_at + (step.seconds or 0.0)
                stamp = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                params = {"rule": rule.id, "step": index + 1, "due_at": stamp}
                if rule.on_retrigger != "replace":
                    params["on_retrigger"] = rule.on_retrigger
                actions.append(ActionCall("wait", params))
                break
            actions.append(
                ActionCall(step.action, rules.templates.render_params(step.params, scope))
            )
        return actions

    @hookimpl
    def wanted_events(self) -> list[Interest]:
        """The events some enabled rule could match: the rest are not fetched."""
        return self._current[1]

    @hookimpl
    def handle_event(self, event: EventContext) -> None:
        for decision in self.decide(event):
            event.trace.decisions.append(decision.to_json())
            if decision.error:
                event.trace.errors.append(
                    {
                        "plugin": self.PLUGIN_NAME,
                        "rule": decision.rule,
                        "error": decision.error,
                        "permanent": True,
                    }
                )
            for call in decision.actions:
                event.plan(call.action, call.params, source=decision.rule)
