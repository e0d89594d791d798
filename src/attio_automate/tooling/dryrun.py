"""Dry runs: what rules would do with an event, against a sandbox, not Attio.

The sandbox is an in-process fake Attio holding the given record fixtures.
The event goes through the same processor as in production; the Attio calls
the actions make are read back from the sandbox's request log.  Nothing
leaves the process.
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
from attio_automate.errors import ConfigError
from attio_automate.events import AttioEvent
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


async def dry_run(
    plugins: Plugins, event: AttioEvent, fixtures: Sequence[Mapping[str, Any]] = ()
) -> DryRun:
    """Process ``event`` against a sandbox holding ``fixtures``."""
    # Fixtures use readable ids ("p-ada"): the sandbox answers with them.
    sandbox = FakeAttio(api_key=SANDBOX_KEY, check_answers=False)
    load_fixtures(sandbox.workspace, list(fixtures))
    settings = ClientSettings(
        base_url="http://sandbox.attio.invalid/v2",
        rate_limits=RateLimits(reads_per_second=1e6, writes_per_second=1e6, fraction=1),
    )
    mark: list[int] = []

    async def before_action(planned: PlannedAction) -> None:
        if not mark:
            mark.append(len(sandbox.requests))

    async with AttioClient(
        api_key=SANDBOX_KEY, settings=settings, transport=sandbox.transport()
    ) as attio:
        processor = build_processor(plugins, attio=attio)
        # Warm the schema cache, as a running runner's would be, so the calls
        # listed are the actions' own.
        for obj in sandbox.workspace.objects:
            await processor.schema.attributes("objects", obj)
        for lst in sandbox.workspace.lists:
            await processor.schema.attributes("lists", lst)
        result = await processor.process(event, key="dry-run", before_action=before_action)
    calls = [
        {
            "method": r["method"],
            "path": r["path"],
            "query": r["query"],
            "body": r["body"],
            "status": r["status"],
        }
        for r in sandbox.requests[mark[0] if mark else len(sandbox.requests) :]
    ]
    trace = result.context.trace if result.context else None
    return DryRun(
        result=result,
        decisions=trace.decisions if trace else [],
        actions=trace.actions if trace else [],
        calls=calls,
    )


def read_json_file(path: str | Path) -> Any:
    """JSON from a file, with a clear error."""
    import json

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except ValueError as exc:
        raise ConfigError([f"{path}: not valid JSON: {exc}"]) from None
