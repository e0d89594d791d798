"""The dispatcher on a virtual clock over a real SQLite store and the fake
Attio: the harness the failure and wait tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from attio_automate.actions import builtin
from attio_automate.actions.registry import ActionRegistry
from attio_automate.assembly import Plugins, build_processor
from attio_automate.attio.breaker import BreakerPolicy
from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.attio.ratelimit import RateLimits
from attio_automate.attio.retry import RetryPolicy
from attio_automate.bus.bus import HookBus
from attio_automate.bus.manager import build_plugin_manager
from attio_automate.clock import VirtualClock
from attio_automate.metrics import Metrics
from attio_automate.processing.dispatcher import Dispatcher, DispatchPolicy
from attio_automate.rules.engine import RulesEngine
from attio_automate.rules.loader import load_rules
from attio_automate.rules.model import RuleSet
from attio_automate.store import Store, open_store_url
from attio_automate.store.base import FINISHED, EventFilter, NewEvent, StoredEvent
from attio_automate.testing import FakeAttio
from attio_automate.testing.pytest_plugin import FAKE_API_KEY

MEMBER = {"type": "workspace-member", "id": "m"}
POLICY = DispatchPolicy(max_attempts=3, backoff_initial=10, backoff_max=600, lease_seconds=30)

NOTE_RULE = """
  - id: greet
    on: record.created
    object: people
    do:
      - action: add_note
        with: {title: Hello, content: "Hi {{ record.name.first_name }}"}
"""


@dataclass
class Harness:
    fake: FakeAttio
    clock: VirtualClock
    store: Store
    plugins: Plugins
    dispatcher: Dispatcher

    async def person_created(self, name: str = "Ada Lovelace") -> int:
        person = self.fake.workspace.create_record("people", {"name": name}, actor=MEMBER)
        payload = {
            "event_type": "record.created",
            "id": {"object_id": self.fake.workspace.objects["people"].id, "record_id": person.id},
            "actor": MEMBER,
        }
        new = NewEvent(
            f"d-{person.id}:0",
            f"record:{person.id}",
            "record.created",
            payload,
            None,
            self.clock.time(),
        )
        await self.store.insert_events([new])
        events = await self.store.list_events(EventFilter(limit=1000))
        return max(e.id for e in events)

    async def settle(self, event_id: int, *, turns: int = 30) -> StoredEvent:
        """Run the dispatcher, moving the clock to each retry, until the event ends."""
        for _ in range(turns):
            ran = await self.dispatcher.run_ready()
            event = await self.store.get_event(event_id)
            assert event is not None
            if event.status in FINISHED:
                return event
            # To the event's next try; a second on when nothing could run (the
            # breaker open: the dispatcher claims nothing until it lets a trial through).
            wait = max(event.available_at - self.clock.time(), 0.0 if ran else 1.0)
            self.clock.advance(wait + 0.001)
        raise AssertionError(f"event {event_id} did not end in {turns} turns")

    def notes(self) -> int:
        return len(self.fake.workspace.notes)

    def use_rules(self, body: str) -> None:
        text = "version: 1\nrules:\n" + body
        self.plugins.rules.replace(load_rules(text, registry=self.plugins.actions))


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[Any]:
    opened: list[tuple[Store, AttioClient]] = []

    async def build(
        *extra: object,
        rules: str = NOTE_RULE,
        store_url: str | None = None,
        share: Harness | None = None,
    ) -> Harness:
        """A harness; ``store_url`` for another store than a new SQLite file,
        ``share`` for a second runner on the same fake and clock."""
        clock = share.clock if share else VirtualClock()
        fake = share.fake if share else FakeAttio(api_key=FAKE_API_KEY, clock=clock.time)
        settings = ClientSettings(
            base_url="http://fake-attio/v2",
            rate_limits=RateLimits(reads_per_second=1e6, writes_per_second=1e6, fraction=1),
            retry=RetryPolicy(attempts=2, backoff_initial=1, jitter=0),
            breaker=BreakerPolicy(failure_threshold=3, cool_down=60),
        )
        client = AttioClient(
            api_key=FAKE_API_KEY, settings=settings, transport=fake.transport(), clock=clock
        )
        engine = RulesEngine(RuleSet())
        bus = HookBus(build_plugin_manager(builtins=[builtin, engine, *extra], entry_points=False))
        actions, failures = ActionRegistry.from_bus(bus)
        assert failures == []
        plugins = Plugins(bus, actions, engine)
        store = open_store_url(store_url or f"sqlite:///{tmp_path}/store-{len(opened)}.db")
        await store.open()
        opened.append((store, client))
        processor = build_processor(plugins, attio=client)
        dispatcher = Dispatcher(
            store,
            processor,
            policy=POLICY,
            metrics=Metrics(),
            breaker=client.breaker,
            clock=clock.time,
        )
        harness = Harness(fake, clock, store, plugins, dispatcher)
        harness.use_rules(rules)
        return harness

    yield build
    for store, client in opened:
        await store.close()
        await client.aclose()
