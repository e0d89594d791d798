"""Import and export against the fake Attio: mapping, conversion, rejects,
resuming without writing a row twice, streaming files out."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from attio_automate.errors import AttioServerError
from attio_automate.sync.exporting import export
from attio_automate.sync.importing import Importer
from tests.processing.conftest import Harness

pytestmark = pytest.mark.anyio


def importer(h: Harness) -> Importer:
    processor = h.dispatcher.processor
    return Importer(
        attio=processor.attio,
        schema=processor.schema,
        store=h.store,
        object="people",
        match="email_addresses",
        clock=h.clock,
        concurrency=4,
    )


def people_csv(path: Path, count: int, *, bad: int | None = None) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email addresses", "Name", "Job title", "Shoe size"])
        for n in range(count):
            email = "not-an-email" if n == bad else f"p{n}@import.test; p{n}@alt.test"
            writer.writerow([email, f"Person {n}", "Engineer" if n % 2 else "", "42"])
    return path


def asserted(h: Harness) -> Counter[str]:
    return Counter(
        r["body"]["data"]["values"]["email_addresses"][0]["email_address"]
        for r in h.fake.requests
        if r["method"] == "PUT" and r["path"] == "/v2/objects/people/records" and r["status"] == 200
    )


async def test_a_csv_is_mapped_converted_and_upserted_with_rejects(
    make: Any, tmp_path: Path
) -> None:
    h: Harness = await make()
    rejected: list[dict[str, Any]] = []
    report = await importer(h).run(
        people_csv(tmp_path / "people.csv", 20, bad=7), rejects=rejected.append
    )
    assert report.mapping == {
        "Email addresses": "email_addresses",
        "Name": "name",
        "Job title": "job_title",
    }
    assert report.ignored == ["Shoe size"]
    assert (report.rows, report.written, report.rejected) == (20, 19, 1)
    (reject,) = rejected
    assert reject["row"] == 8
    assert reject["code"]
    assert reject["message"]
    people = h.fake.workspace.records["people"].values()
    assert len(people) == 19
    emails = sorted(
        v["email_address"] for p in people for v in p.current(_attribute(h, "email_addresses"))
    )
    assert "p3@import.test" in emails
    assert "p3@alt.test" in emails  # two values in one cell, split on ";"


def _attribute(h: Harness, slug: str) -> str:
    return next(
        a.id for a in h.fake.workspace.objects["people"].attributes.values() if a.slug == slug
    )


async def test_an_import_stopped_part_way_resumes_and_writes_no_row_twice(
    make: Any, tmp_path: Path
) -> None:
    h: Harness = await make()
    path = people_csv(tmp_path / "people.csv", 60)
    original = h.store.ledger_record
    written: list[str] = []

    async def stop_after_twenty(key: str, **kwargs: Any) -> None:
        written.append(key)
        if len(written) == 20:
            # Attio answered this row; the process dies before the ledger hears of it.
            raise AttioServerError(status_code=503, type="x", code="down", message="crash")
        await original(key, **kwargs)

    h.store.ledger_record = stop_after_twenty  # type: ignore[method-assign]
    with pytest.raises(AttioServerError):
        await importer(h).run(path)
    h.store.ledger_record = original  # type: ignore[method-assign]
    first = sum(asserted(h).values())
    assert 20 <= first < 60
    report = await importer(h).run(path)
    assert report.resumed + report.unchanged + report.written == 60
    assert report.unchanged >= 1  # the row whose answer the crash lost: found, not rewritten
    # Every row written exactly once across both runs.
    assert asserted(h) == Counter({f"p{n}@import.test": 1 for n in range(60)})
    again = await importer(h).run(path)
    assert (again.resumed, again.written) == (60, 0)


async def test_a_dry_run_maps_and_checks_without_writing(make: Any, tmp_path: Path) -> None:
    h: Harness = await make()
    path = tmp_path / "people.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"email_addresses": [f"j{n}@import.test"], "job_title": "CTO"})
            for n in range(5)
        )
    )
    report = await importer(h).run(path, dry_run=True)
    assert (report.rows, report.written) == (5, 5)
    assert not h.fake.workspace.records["people"]


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
async def test_export_streams_every_record(make: Any, tmp_path: Path, suffix: str) -> None:
    h: Harness = await make()
    for n in range(7):
        h.fake.workspace.create_record(
            "people", {"name": f"P{n}", "email_addresses": [f"e{n}@x.test"]}
        )
    processor = h.dispatcher.processor
    seen: list[int] = []
    out = tmp_path / "out" / f"people.{suffix}"
    out.parent.mkdir()
    count = await export(
        processor.attio, processor.schema, to=out, object="people", progress=seen.append
    )
    assert count == 7
    assert seen[-1] == 7
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no partial file left
    if suffix == "jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert sorted(r["email_addresses"][0] for r in rows) == [f"e{n}@x.test" for n in range(7)]
    else:
        with out.open() as handle:
            rows = list(csv.DictReader(handle))
        assert sorted(r["name"] for r in rows) == [f"P{n}" for n in range(7)]
        assert rows[0]["record_id"]
