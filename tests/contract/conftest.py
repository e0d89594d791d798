"""One contract suite, two backends: the fake Attio (always) and a real
workspace (when ``ATTIO_LIVE_API_KEY`` is set; the tests are marked ``live``
and skipped, with the reason, without it).

Everything a scenario creates carries the run's tag (``aa-<hex>``) in its
email, domain or URL, and is deleted afterwards, even when the scenario
fails.  Optional for the live backend: ``ATTIO_LIVE_BASE_URL``, and
``ATTIO_LIVE_LIST`` with ``ATTIO_LIVE_STAGES`` (two stage titles,
comma-separated) for the pipeline scenario.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from attio_automate.attio.client import DEFAULT_BASE_URL, AttioClient, ClientSettings
from attio_automate.attio.ratelimit import RateLimits
from attio_automate.attio.schema import SchemaCache
from attio_automate.errors import AttioAPIError
from attio_automate.services import Services
from attio_automate.testing import FakeAttio

LIVE_KEY = "ATTIO_LIVE_API_KEY"


@dataclass
class Cleanup:
    """What a scenario made, deleted in reverse at the end."""

    records: list[tuple[str, str]] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    webhooks: list[str] = field(default_factory=list)

    async def run(self, attio: AttioClient) -> list[str]:
        """Delete everything (notes and tasks of the records too); the
        problems met, for the report (a 404 is not one: already gone)."""
        problems: list[str] = []

        async def attempt(what: str, call: object) -> None:
            try:
                await call  # type: ignore[misc]
            except AttioAPIError as exc:
                if exc.status_code != 404:
                    problems.append(f"{what}: {exc}")

        for webhook_id in reversed(self.webhooks):
            await attempt(f"webhook {webhook_id}", attio.delete_webhook(webhook_id))
        for object, record_id in reversed(self.records):
            with contextlib.suppress(AttioAPIError):
                for note in await attio.list_notes(
                    parent_object=object, parent_record_id=record_id
                ):
                    await attempt("note", attio.delete_note(note["id"]["note_id"]))
                for task in await attio.list_tasks(
                    linked_object=object, linked_record_id=record_id
                ):
                    self.tasks.append(task["id"]["task_id"])
        for task_id in reversed(dict.fromkeys(self.tasks)):
            await attempt(f"task {task_id}", attio.delete_task(task_id))
        for object, record_id in reversed(self.records):
            await attempt(f"{object} {record_id}", attio.delete_record(object, record_id))
        return problems


@dataclass
class Backend:
    """A client on one backend, its services, and the run's tag."""

    name: str
    attio: AttioClient
    services: Services
    tag: str
    cleanup: Cleanup
    #: A list with a ``stage`` status, and two of its stages (None: no pipeline scenario).
    pipeline: tuple[str, str, str] | None = None
    fake: FakeAttio | None = None


def _live_pipeline() -> tuple[str, str, str] | None:
    lst, stages = os.environ.get("ATTIO_LIVE_LIST"), os.environ.get("ATTIO_LIVE_STAGES", "")
    names = [s.strip() for s in stages.split(",") if s.strip()]
    return (lst, names[0], names[1]) if lst and len(names) >= 2 else None


@pytest.fixture(params=["fake", pytest.param("live", marks=pytest.mark.live)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    fake: FakeAttio | None = None
    if request.param == "live":
        key = os.environ.get(LIVE_KEY)
        if not key:
            pytest.skip(f"{LIVE_KEY} is not set: the live backend needs a workspace's API key")
        settings = ClientSettings(base_url=os.environ.get("ATTIO_LIVE_BASE_URL", DEFAULT_BASE_URL))
        client = AttioClient(api_key=key, settings=settings)
        pipeline = _live_pipeline()
    else:
        fake = FakeAttio(api_key="contract-key", check_answers=True)
        settings = ClientSettings(
            base_url="http://fake-attio/v2",
            rate_limits=RateLimits(reads_per_second=1000, writes_per_second=1000),
        )
        client = AttioClient(api_key="contract-key", settings=settings, transport=fake.transport())
        pipeline = ("sales", "Lead", "Qualified")
    cleanup = Cleanup()
    async with client:
        services = Services.over(client, SchemaCache(client))
        tag = f"aa-{uuid.uuid4().hex[:10]}"
        try:
            yield Backend(request.param, client, services, tag, cleanup, pipeline, fake)
        finally:
            problems = await cleanup.run(client)
    assert not problems, f"could not clean up after the {request.param} run: {problems}"
    if fake is not None:
        assert not fake.violations, fake.violations[:3]
        # The cleanup left nothing behind (checked where it can be: the fake).
        w = fake.workspace
        left = [r for records in w.records.values() for r in records] + [*w.tasks, *w.notes]
        assert not left, f"left behind: {left[:3]}"
        assert not fake.webhooks.webhooks
