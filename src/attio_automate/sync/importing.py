"""Importing a CSV or JSON Lines file into an object: each row upserted with
assert on a matching attribute, through the shared limiter, once.

Columns map to attributes by their slug or title (``Job title`` and
``job_title`` both find ``job_title``); a mapping file overrides that
(``{column: attribute}``, ``null`` to leave a column out).  CSV cells become
Attio's input forms by the attribute's type: several values of a
multi-valued attribute are separated by ``;``, numbers and checkboxes are
read from text.

Every row's write is noted in the store's ledger, keyed by the import (the
file's content, the object, the match and the mapping) and the row number:
an import run again after Ctrl-C or a crash skips the rows done, and a row
that was being written when it stopped is first looked up in Attio (its
values there already: done, not written again).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio

from attio_automate.attio.client import AttioClient
from attio_automate.attio.schema import AttributeInfo, AttributeSet, SchemaCache
from attio_automate.clock import Clock, SystemClock
from attio_automate.errors import AttioAPIError, ConfigError, first_failure
from attio_automate.services import Services
from attio_automate.store.base import Store
from attio_automate.sync.push import current_record, same_values_as

#: Rows written at once (the limiter, not this, sets the pace).
CONCURRENCY = 16
#: Rows whose ledger entries are read in one round trip.
CHUNK = 200

Progress = Callable[[int, int], None]
Rejects = Callable[[dict[str, Any]], None]


@dataclass
class ImportReport:
    """How an import went."""

    rows: int = 0
    written: int = 0
    #: Done by an earlier run of the same import (resumed).
    resumed: int = 0
    #: Attio held the row's values already.
    unchanged: int = 0
    rejected: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number from 1, row) of a ``.csv`` or ``.jsonl`` file, streamed."""
    suffix = path.suffix.lower()
    try:
        handle: IO[str] = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    with handle:
        if suffix == ".csv":
            for number, row in enumerate(csv.DictReader(handle), 1):
                yield number, {k: v for k, v in row.items() if k is not None}
        elif suffix in (".jsonl", ".ndjson"):
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except ValueError as exc:
                    raise ConfigError([f"{path}:{number}: not JSON: {exc}"]) from None
                if not isinstance(item, dict):
                    raise ConfigError([f"{path}:{number}: each line must be a JSON object"])
                yield number, item
        else:
            raise ConfigError([f"{path}: import reads .csv or .jsonl files"])


def headers_of(path: Path, sample: int = 100) -> list[str]:
    """The columns of a file: a CSV's header, a JSON Lines file's first keys."""
    seen: dict[str, None] = {}
    for number, row in read_rows(path):
        seen.update(dict.fromkeys(row))
        if path.suffix.lower() == ".csv" or number >= sample:
            break
    return list(seen)


def infer_mapping(
    headers: list[str], attributes: AttributeSet, overrides: Mapping[str, str | None]
) -> tuple[dict[str, str], list[str]]:
    """``{column: attribute slug}`` and the columns left out."""
    by_name = {_norm(a.slug): a.slug for a in attributes.by_slug.values()}
    by_name.update({_norm(a.title): a.slug for a in attributes.by_slug.values() if a.title})
    mapping, ignored = {}, []
    for header in headers:
        if header in overrides:
            target = overrides[header]
            if target is None:
                ignored.append(header)
                continue
            if attributes.get(target) is None:
                raise ConfigError([f"mapping: {header!r} -> {target!r}: no such attribute"])
            mapping[header] = attributes.get(target).slug  # type: ignore[union-attr]
            continue
        found = by_name.get(_norm(header))
        if found is None:
            ignored.append(header)
        else:
            mapping[header] = found
    return mapping, ignored


def _norm(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def convert(
    row: Mapping[str, Any], mapping: Mapping[str, str], attributes: AttributeSet
) -> dict[str, Any]:
    """The row as simple values by attribute slug (empty cells left out)."""
    values: dict[str, Any] = {}
    for column, slug in mapping.items():
        raw = row.get(column)
        if raw is None or raw == "" or raw == []:
            continue
        attribute = attributes.get(slug)
        assert attribute is not None
        values[slug] = _cell(attribute, raw)
    return values


def _cell(attribute: AttributeInfo, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw  # JSON Lines: already typed
    text = raw.strip()
    if attribute.is_multiselect:
        return [part.strip() for part in text.split(";") if part.strip()]
    if attribute.type in ("number", "currency", "rating"):
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            raise ValueError(f"{attribute.slug}: {raw!r} is not a number") from None
        return int(number) if number.is_integer() else number
    if attribute.type == "checkbox":
        lowered = text.lower()
        if lowered in ("true", "yes", "1", "y"):
            return True
        if lowered in ("false", "no", "0", "n"):
            return False
        raise ValueError(f"{attribute.slug}: {raw!r} is not true or false")
    return text


def import_key(path: Path, object: str, match: str, mapping: Mapping[str, str]) -> str:
    """What names one import: the file's content and how it is read."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    digest.update(json.dumps([object, match, sorted(mapping.items())]).encode())
    return digest.hexdigest()[:20]


@dataclass
class _Run:
    """One run of an import: what every row's write needs."""

    name: str
    attributes: AttributeSet
    mapping: Mapping[str, str]
    report: ImportReport
    rejects: Rejects
    dry_run: bool


class Importer:
    """Imports one file into one object (see the module's description)."""

    def __init__(
        self,
        *,
        attio: AttioClient,
        schema: SchemaCache,
        store: Store,
        object: str,
        match: str,
        clock: Clock | None = None,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.attio = attio
        self.schema = schema
        self.store = store
        self.object = object
        self.match = match
        self.clock = clock or SystemClock()
        self.concurrency = concurrency
        self.services = Services.over(attio, schema)

    async def plan(
        self, path: Path, overrides: Mapping[str, str | None]
    ) -> tuple[AttributeSet, dict[str, str], list[str]]:
        """The object's attributes, the mapping and the columns left out."""
        attributes = await self.schema.attributes("objects", self.object)
        if attributes.get(self.match) is None:
            raise ConfigError([f"--match: {self.object} has no attribute {self.match!r}"])
        mapping, ignored = infer_mapping(headers_of(path), attributes, overrides)
        if self.match not in mapping.values():
            raise ConfigError(
                [f"no column maps to {self.match!r}, the attribute rows are matched on"]
            )
        return attributes, mapping, ignored

    async def run(
        self,
        path: Path,
        *,
        overrides: Mapping[str, str | None] | None = None,
        rejects: Rejects = lambda _: None,
        progress: Progress = lambda done, total: None,
        dry_run: bool = False,
    ) -> ImportReport:
        attributes, mapping, ignored = await self.plan(path, overrides or {})
        report = ImportReport(mapping=mapping, ignored=ignored)
        total = sum(1 for _ in read_rows(path))
        name = import_key(path, self.object, self.match, mapping)
        run = _Run(name, attributes, mapping, report, rejects, dry_run)
        send, receive = anyio.create_memory_object_stream[tuple[int, dict[str, Any], Any]](
            self.concurrency * 2
        )

        async def produce() -> None:
            async with send:
                chunk: list[tuple[int, dict[str, Any]]] = []
                for item in read_rows(path):
                    chunk.append(item)
                    if len(chunk) == CHUNK:
                        await self._send_chunk(name, chunk, send, dry_run)
                        chunk = []
                if chunk:
                    await self._send_chunk(name, chunk, send, dry_run)

        async def work(rows: Any) -> None:
            async with rows:
                async for number, row, entry in rows:
                    report.rows += 1
                    await self._row(run, number, row, entry)
                    progress(report.rows, total)

        try:
            async with anyio.create_task_group() as tasks, receive:
                tasks.start_soon(produce)
                for _ in range(self.concurrency):
                    tasks.start_soon(work, receive.clone())
        except BaseExceptionGroup as group:
            # One failure (Attio away, the store away) stops the import: say it plainly.
            raise first_failure(group) from None
        return report

    async def _send_chunk(
        self,
        name: str,
        chunk: list[tuple[int, dict[str, Any]]],
        send: Any,
        dry_run: bool,
    ) -> None:
        keys = [f"import:{name}:{number}" for number, _ in chunk]
        done = {} if dry_run else await self.store.ledger_entries(keys)
        for (number, row), key in zip(chunk, keys, strict=True):
            await send.send((number, row, done.get(key)))

    async def _row(self, run: _Run, number: int, row: dict[str, Any], entry: Any) -> None:
        report = run.report
        if entry is not None and entry.state == "done":
            report.resumed += 1
            return
        try:
            values = convert(row, run.mapping, run.attributes)
        except ValueError as exc:
            report.rejected += 1
            run.rejects(
                {"row": number, "values": row, "code": "invalid_value", "message": str(exc)}
            )
            return
        if run.dry_run:
            report.written += 1
            return
        key = f"import:{run.name}:{number}"
        if entry is not None:
            # Stopped while this row was being written: it may be there already.
            found = await current_record(self.attio, self.object, self.match, values)
            if found is not None and same_values_as(found, values):
                await self._note(key, {"record_id": found["id"]["record_id"]})
                report.unchanged += 1
                return
        await self.store.ledger_intend(key, event_id=None, action="import", now=self.clock.time())
        try:
            record = await self.services.contacts.upsert(self.object, self.match, values)
        except AttioAPIError as exc:
            if exc.retryable:
                raise
            report.rejected += 1
            run.rejects({"row": number, "values": row, "code": exc.code, "message": exc.message})
            await self._note(key, {"rejected": exc.code})
            return
        await self._note(key, {"record_id": record.record_id})
        report.written += 1

    async def _note(self, key: str, result: dict[str, Any]) -> None:
        await self.store.ledger_record(
            key, event_id=None, action="import", result=result, now=self.clock.time()
        )
