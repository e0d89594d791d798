"""Dry runs: what rules would do with an event, against a sandbox, not Attio.

The sandbox is an in-process fake Attio holding the given record fixtures,
with a clock of its own that moves only when told.  Events go through the
same processor as in production; the Attio calls the actions make are read
back from the sandbox's request log, and the waits the rules plan are kept in
memory until the clock passes them.  Nothing leaves the process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attio_automate.assembly import Plugins, build_processor
from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.ratelimit import RateLimits
from attio_automate.bus.plans import PlannedAction
from attio_automate.clock import SystemClock
from attio_automate.errors import ConfigError
from attio_automate.events import AttioEvent
from attio_automate.processing.processor import EventProcessor
from attio_automate.processing.results import EventResult
from attio_automate.testing.fake import FakeAttio
from attio_automate.testing.fixtures import load_fixtures

JSON = dict[str, Any]
SANDBOX_KEY = "sandbox-key"


@dataclass
class DryRun:
    """The outcome of one dry run."""

    result: EventResult
    decisions: list[JSON]
    actions: list[JSON]
    calls: list[JSON] = field(default_factory=list)

    def to_json(self) -> JSON:
        return {
            "status": self.result.status,
            "reason": self.result.reason,
            "decisions": self.decisions,
            "actions": self.actions,
            "calls": self.calls,
            "errors": self.result.context.trace.errors if self.result.context else [],
        }


def parse_event(raw: Any) -> AttioEvent:
    """An event from JSON: one event, or a delivery whose first event is used."""
    if isinstance(raw, Mapping) and isinstance(raw.get("events"), list) and raw["events"]:
        raw = raw["events"][0]
    if not isinstance(raw, Mapping) or not isinstance(raw.get("event_type"), str):
        raise ConfigError(["the event must be an object with 'event_type' and 'id'"])
    if not isinstance(raw.get("id", {}), Mapping):
        raise ConfigError(["the event's 'id' must be an object"])
    return AttioEvent.from_json(raw)


class SandboxWaits:
    """Rules' waits kept in memory for a sandbox: what the store's inbox
    keeps in a runner, with the same re-trigger policies and cancellation."""

    def __init__(self) -> None:
        #: key -> (due, group, payload), pending only.
        self.pending: dict[str, tuple[float, str, Mapping[str, Any]]] = {}

    async def keep(
        self, key: str, due: float, payload: Mapping[str, Any], *, group: str, policy: str
    ) -> bool:
        if key in self.pending:
            return False  # the same wait planned again (a retry): kept once
        same = [k for k, (_, g, _) in self.pending.items() if g == group]
        if same and policy == "keep":
            return False
        if policy == "replace":
            for other in same:
                del self.pending[other]
        self.pending[key] = (due, group, payload)
        return True

    async def cancel(self, group: str, *, reason: str) -> int:
        gone = [k for k, (_, g, _) in self.pending.items() if g == group]
        for key in gone:
            del self.pending[key]
        return len(gone)

    def take_next(self, by: float) -> tuple[str, float, Mapping[str, Any]] | None:
        """The earliest wait due by ``by``, no longer pending; None if none is."""
        if not self.pending:
            return None
        key, (due, _, payload) = min(self.pending.items(), key=lambda kv: (kv[1][0], kv[0]))
        if due > by:
            return None
        del self.pending[key]
        return key, due, payload


class Sandbox:
    """A fake Attio holding fixtures, a processor over it, and a clock that
    moves only when told: events run in it one after another, and waits the
    rules plan fall due when the clock passes them."""

    def __init__(self, plugins: Plugins, *, start: float) -> None:
        self.plugins = plugins
        self.time = start
        # Fixtures use readable ids ("p-ada"): the sandbox answers with them.
        self.attio = FakeAttio(api_key=SANDBOX_KEY, check_answers=False, clock=lambda: self.time)
        self.waits = SandboxWaits()
        self._client: AttioClient | None = None
        self._processor: EventProcessor | None = None
        self._runs = 0

    async def __aenter__(self) -> Sandbox:
        settings = ClientSettings(
            base_url="http://sandbox.attio.invalid/v2",
            rate_limits=RateLimits(reads_per_second=1e6, writes_per_second=1e6, fraction=1),
        )
        self._client = AttioClient(
            api_key=SANDBOX_KEY, settings=settings, transport=self.attio.transport()
        )
        self._processor = build_processor(self.plugins, attio=self._client)
        self._processor.waits = self.waits
        self._processor.wall_clock = lambda: self.time
        # Warm the schema cache, as a running runner's would be, so the calls
        # listed are the actions' own.
        for obj in self.attio.workspace.objects:
            await self._processor.schema.attributes("objects", obj)
        for lst in self.attio.workspace.lists:
            await self._processor.schema.attributes("lists", lst)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    def load(self, fixtures: Sequence[Mapping[str, Any]]) -> None:
        """Add records and entries, or change those already there."""
        load_fixtures(self.attio.workspace, list(fixtures))

    async def run(self, event: AttioEvent, *, key: str | None = None) -> DryRun:
        """Process ``event`` now, as received now."""
        self._runs += 1
        return await self._process(event, key or f"dry-run-{self._runs}", self.time)

    async def advance(self, seconds: float) -> list[DryRun]:
        """Move the clock ``seconds`` on; the waits falling due by then run,
        each at the moment it fell due."""
        end = self.time + seconds
        runs = []
        # One at a time: a resumed rule may plan another wait due before ``end``.
        while (due := self.waits.take_next(end)) is not None:
            key, when, payload = due
            self.time = max(self.time, when)
            runs.append(await self._process(AttioEvent.from_json(payload), key, when))
        self.time = end
        return runs

    async def _process(self, event: AttioEvent, key: str, received_at: float) -> DryRun:
        assert self._processor is not None, "use the sandbox in `async with`"
        processor = self._processor
        requests = self.attio.requests
        mark: list[int] = []

        async def before_action(planned: PlannedAction) -> None:
            if not mark:
                mark.append(len(requests))

        result = await processor.process(
            event, key=key, received_at=received_at, before_action=before_action
        )
        calls = [
            {
                "method": r["method"],
                "path": r["path"],
                "query": r["query"],
                "body": r["body"],
                "status": r["status"],
            }
            for r in requests[mark[0] if mark else len(requests) :]
        ]
        trace = result.context.trace if result.context else None
        return DryRun(
            result=result,
            decisions=trace.decisions if trace else [],
            actions=trace.actions if trace else [],
            calls=calls,
        )


async def dry_run(
    plugins: Plugins,
    event: AttioEvent,
    fixtures: Sequence[Mapping[str, Any]] = (),
    *,
    now: float | None = None,
) -> DryRun:
    """Process ``event`` against a sandbox holding ``fixtures``, received at
    ``now`` (epoch seconds; the system clock's time by default)."""
    async with Sandbox(plugins, start=SystemClock().time() if now is None else now) as sandbox:
        sandbox.load(fixtures)
        return await sandbox.run(event, key="dry-run")


def read_json_file(path: str | Path) -> Any:
    """JSON from a file, with a clear error."""
    import json

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except ValueError as exc:
        raise ConfigError([f"{path}: not valid JSON: {exc}"]) from None
