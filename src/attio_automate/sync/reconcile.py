"""Reconcile: the safety net under the webhooks.

Pages through each mirrored object or list within Attio's read limit (a
couple of thousand records in flight: :mod:`attio_automate.sync.paging`),
compares each record with its row, repairs what differs, and then asks
Attio about every live row the run did not see: a 404 marks it deleted.
Memory stays flat in the number of records: only the pages in flight are
held, and "seen" is a column of the row, not a set in memory.

The pages compared in one transaction commit with their checkpoint in the
sync database, so a run that dies resumes after the last pages it kept.
Every difference found becomes a synthetic event in the inbox (keyed by
the run, the table and the record: once each), so the rules hear of
changes the webhooks missed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from sqlalchemy.ext.asyncio import AsyncConnection

from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import AttributeSet, SchemaCache, Target
from attio_automate.clock import Clock, SystemClock
from attio_automate.errors import AttioAPIError, first_failure
from attio_automate.events import AttioEvent
from attio_automate.store.base import NewEvent, Store
from attio_automate.sync.columns import parse_time
from attio_automate.sync.database import SyncDatabase
from attio_automate.sync.paging import Page, arrived, pages_ahead, read_pages
from attio_automate.sync.rows import row_for, same_values
from attio_automate.sync.spec import MirrorSpec

#: Unseen rows confirmed with Attio per step of the sweep.
SWEEP_BATCH = 200


@dataclass
class Counts:
    """What a reconcile found, per mirror or in all."""

    checked: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    def add(self, other: Counts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


class Reconciler:
    """Reconciles every mirror of ``database`` with Attio."""

    def __init__(
        self,
        database: SyncDatabase,
        *,
        attio: AttioClient,
        schema: SchemaCache,
        store: Store | None = None,
        clock: Clock | None = None,
        page_size: int | None = None,
    ) -> None:
        self.database = database
        self.attio = attio
        self.schema = schema
        #: Where synthetic events go (None: repair only, tell no rule).
        self.store = store
        self.clock = clock or SystemClock()
        #: Records per page: the configuration's (``sync.page_size``) unless given.
        self.page_size = page_size or database.spec.page_size
        self.pages_ahead = pages_ahead(self.page_size)
        self._since: dict[str, datetime | None] = {}
        self._refill: dict[str, bool] = {}

    async def run(self) -> dict[str, Counts]:
        """Reconcile each mirror in turn (resuming an interrupted run); counts by table."""
        return {m.table: await self.mirror(m) for m in self.database.spec.mirrors}

    async def mirror(self, mirror: MirrorSpec) -> Counts:
        state_key = f"reconcile:{mirror.table}"
        state = await self.database.get_state(state_key)
        if not isinstance(state, Mapping) or state.get("phase") == "done":
            state = {
                "run": f"{self._now().strftime('%Y%m%dT%H%M%S.%fZ')}",
                "started_at": self._now().isoformat(),
                "offset": 0,
                "after": "",
                "phase": "pages",
                "counts": asdict(Counts()),
            }
            await self._save(state_key, state)
        state = dict(state)
        counts = Counts(**state["counts"])
        # Columns added since the rows were written: rewrite every row once.
        self._refill[mirror.table] = bool(await self.database.get_state(f"refill:{mirror.table}"))
        started = datetime.fromisoformat(state["started_at"])
        if state["phase"] == "pages":
            send, receive = anyio.create_memory_object_stream[Page | Exception](self.pages_ahead)
            try:
                async with anyio.create_task_group() as tasks, receive:
                    tasks.start_soon(self._read, mirror, int(state["offset"]), send)
                    async for item in receive:
                        pages, failure = arrived(item, receive)
                        if pages:
                            # The checkpoint, with the pages' repairs: a run
                            # resumed starts after the last of them.
                            offset, page, _ = pages[-1]
                            state["offset"] = offset + len(page)
                            await self._compare(
                                mirror, pages, state["run"], counts, (state_key, state)
                            )
                        if failure is not None:
                            raise failure
            except BaseExceptionGroup as group:
                # One failure (Attio's, the database's) is the run's: say it plainly.
                raise first_failure(group) from None
            state.update(phase="sweep")
            await self._save(state_key, state)
        while True:
            unseen = await self.database.unseen(
                mirror,
                state["run"],
                synced_before=started,
                after=state["after"],
                limit=SWEEP_BATCH,
            )
            if not unseen:
                break
            for key in unseen:
                await self._confirm(mirror, key, state["run"], counts)
            state.update(after=unseen[-1], counts=asdict(counts))
            await self._save(state_key, state)
        state.update(phase="done", finished_at=self._now().isoformat())
        await self._save(state_key, state)
        if self._refill.get(mirror.table):
            await self.database.set_state(f"refill:{mirror.table}", False, at=self._now())
        return counts

    async def _read(
        self, mirror: MirrorSpec, start: int, send: MemoryObjectSendStream[Page | Exception]
    ) -> None:
        target: Target = "lists" if mirror.is_list else "objects"

        async def fetch(offset: int) -> list[dict[str, Any]]:
            return await self.attio.query_page(
                target, mirror.source, offset=offset, limit=self.page_size
            )

        await read_pages(
            fetch,
            start=start,
            size=self.page_size,
            ahead=self.pages_ahead,
            now=self._now,
            send=send,
        )

    async def _compare(
        self,
        mirror: MirrorSpec,
        pages: list[Page],
        run: str,
        counts: Counts,
        checkpoint: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """Compare pages with their rows and repair them, in one transaction
        with the checkpoint (given one): the pages are done, or not at all."""
        attributes = await self._attributes(mirror)
        if mirror.table not in self._since:
            self._since[mirror.table] = await self.database.since(mirror)
        since = self._since[mirror.table]
        async with self.database.connect() as transaction:
            for _, page, fetched_at in pages:
                keys = [str(item["id"][mirror.key]) for item in page]
                await self._compare_in(
                    transaction, mirror, page, keys, run, fetched_at, counts, attributes, since
                )
            if checkpoint is not None:
                key, state = checkpoint
                state["counts"] = asdict(counts)
                await self.database.set_state(key, dict(state), at=self._now(), within=transaction)

    async def _compare_in(
        self,
        transaction: AsyncConnection,
        mirror: MirrorSpec,
        page: list[dict[str, Any]],
        keys: list[str],
        run: str,
        fetched_at: datetime,
        counts: Counts,
        attributes: AttributeSet,
        since: datetime | None,
    ) -> None:
        rows = await self.database.rows(mirror, keys, within=transaction)
        repaired, same, events = [], [], []
        for key, item in zip(keys, page, strict=True):
            counts.checked += 1
            row = rows.get(key)
            if same_values(row, item, mirror):
                counts.unchanged += 1
                if self._refill.get(mirror.table):
                    fresh = row_for(mirror, attributes, item, synced_at=fetched_at)
                    repaired.append({**fresh, "reconciled_in": run})
                else:
                    same.append(key)
                continue
            created = row is None or bool(row.get("deleted"))
            if created:
                counts.created += 1
            else:
                counts.updated += 1
            fresh = row_for(mirror, attributes, item, synced_at=fetched_at)
            repaired.append({**fresh, "reconciled_in": run})
            if created and not _made_after(item, since):
                # There before the mirror began: the initial load, not a
                # change any webhook missed (no rule hears of it).
                continue
            events.append(await self._event(mirror, item, run, "created" if created else "updated"))
        # The rules hear first: if the transaction is lost, the page is compared
        # again and finds the same changes, whose events are already in (by key).
        await self._tell(events)
        await self.database.upsert(
            mirror, repaired, unless_synced_after=fetched_at, within=transaction
        )
        await self.database.mark_reconciled(mirror, same, run, within=transaction)

    async def _confirm(self, mirror: MirrorSpec, key: str, run: str, counts: Counts) -> None:
        """A live row the pages did not show: gone from Attio, or moved in
        its order while the run paged (then it is compared like the rest)."""
        asked = self._now()
        try:
            if mirror.is_list:
                item = await self.attio.get_entry(mirror.source, key)
            else:
                item = await self.attio.get_record(mirror.source, key)
        except AttioAPIError as exc:
            if exc.status_code != 404:
                raise
            counts.checked += 1
            if await self.database.mark_deleted(mirror, key, at=asked):
                counts.deleted += 1
                gone = {"id": {mirror.key: key}}
                await self._tell([await self._event(mirror, gone, run, "deleted")])
            return
        await self._compare(mirror, [(0, [item], asked)], run, counts)

    async def _event(
        self, mirror: MirrorSpec, item: Mapping[str, Any], run: str, change: str
    ) -> NewEvent:
        key = str(item["id"][mirror.key])
        if mirror.is_list:
            lst = await self.schema.list(mirror.source)
            ids = {"list_id": lst.id, "entry_id": key}
            if item.get("parent_record_id"):
                ids["parent_record_id"] = str(item["parent_record_id"])
            event_type = f"list-entry.{change}"
        else:
            obj = await self.schema.object(mirror.source)
            ids = {"object_id": obj.id, "record_id": key}
            event_type = f"record.{change}"
        payload = {
            "event_type": event_type,
            "id": ids,
            "actor": {"type": "system", "id": None},
            "reconciled": {"run": run, "table": mirror.table},
        }
        event = AttioEvent.from_json(payload)
        now = self.clock.time()
        return NewEvent(
            f"reconcile:{run}:{mirror.table}:{key}",
            event.ordering_key,
            event_type,
            payload,
            None,
            now,
        )

    async def _tell(self, events: list[NewEvent]) -> None:
        if self.store is not None and events:
            await self.store.insert_events(events)

    async def _attributes(self, mirror: MirrorSpec) -> Any:
        target: Target = "lists" if mirror.is_list else "objects"
        return await self.schema.attributes(target, mirror.source)

    async def _save(self, key: str, state: Mapping[str, Any]) -> None:
        await self.database.set_state(key, dict(state), at=self._now())

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), UTC)


def _made_after(item: Mapping[str, Any], since: datetime | None) -> bool:
    made = item.get("created_at")
    if since is None or not made:
        return True
    return parse_time(str(made)) > since
