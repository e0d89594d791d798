"""The record cache in a real runner: a webhook naming a record makes every
runner forget it, and a rule never sees a copy older than the webhook."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from attio_automate.testing.servers import FakeAttioProcess, runner_process
from tests.cache.conftest import REDIS_URL, redis_available
from tests.store.conftest import _skip_or_fail
from tests.web.conftest import FAST_CONFIG, KEY, SECRET, Setup, people_object_id, send

LOOKUP = """
import json

from attio_automate import Interest, hookimpl

PLUGIN_NAME = "lookup"


@hookimpl
def wanted_events():
    return Interest(event_types=("record.updated",), objects=("people",))


@hookimpl
async def handle_event(event):
    company = await event.contacts.get("companies", event.record["company"]["record_id"])
    with open(event.settings_for("lookup")["log"], "a") as log:
        log.write(json.dumps({"key": event.key, "company": company.name}) + "\\n")
"""


def updated(object_id: str, record_id: str) -> dict[str, Any]:
    return {
        "event_type": "record.updated",
        "id": {"workspace_id": "w", "object_id": object_id, "record_id": record_id},
        "actor": {"type": "workspace-member", "id": "m"},
    }


def seen(log: Path, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        lines = log.read_text().splitlines() if log.exists() else []
        if len(lines) >= count:
            return [json.loads(line) for line in lines]
        time.sleep(0.1)
    raise TimeoutError(f"the plugin logged fewer than {count} events")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["memory", "redis"])
@pytest.mark.parametrize("setup", ["sqlite"], indirect=True)
def test_a_company_webhook_makes_the_cached_company_stale(
    fake: FakeAttioProcess,
    setup: Setup,
    tmp_path: Path,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    if backend == "redis" and (reason := redis_available()):
        _skip_or_fail(reason)
    plugin = tmp_path / "lookup.py"
    plugin.write_text(LOOKUP)
    log = tmp_path / "seen.jsonl"
    url = f", url: {REDIS_URL}" if backend == "redis" else ""
    config = tmp_path / "cached.yaml"
    config.write_text(
        FAST_CONFIG
        + f"cache: {{ttl_seconds: 300{url}}}\n"
        + f"plugins:\n  paths: [{plugin}]\n  installed: false\n"
        + f"  settings: {{lookup: {{log: {log}}}}}\n"
    )
    http = httpx.Client(
        base_url=fake.base_url + "/", headers={"Authorization": f"Bearer {KEY}"}, timeout=10
    )
    request.addfinalizer(http.close)
    company = http.post(
        "objects/companies/records",
        json={"data": {"values": {"domains": [f"{tmp_path.name}.example"], "name": "Old"}}},
    ).json()["data"]["id"]["record_id"]
    person = http.post(
        "objects/people/records",
        json={
            "data": {
                "values": {"company": [{"target_object": "companies", "target_record_id": company}]}
            }
        },
    ).json()["data"]["id"]["record_id"]
    people = people_object_id(fake)
    companies = fake.object_id("companies", api_key=KEY)
    with runner_process(
        rules=setup.rules,
        config=str(config),
        api_key=KEY,
        webhook_secret=SECRET,
        base_url=fake.base_url,
        db_url=setup.db_url,
    ) as runner:
        assert send(runner.url, [updated(people, person)], key="one").status_code == 200
        assert seen(log, 1)[0]["company"] == "Old"  # now cached for 300 s
        assert send(runner.url, [updated(people, person)], key="two").status_code == 200
        assert seen(log, 2)[1]["company"] == "Old"
        reads = fake.count("GET", f"/v2/objects/companies/records/{company}")
        assert reads == 1  # the second lookup was a hit
        http.patch(
            f"objects/companies/records/{company}",
            json={"data": {"values": {"name": "New"}}},
        )
        assert send(runner.url, [updated(companies, company)], key="c").status_code == 200
        assert send(runner.url, [updated(people, person)], key="three").status_code == 200
        assert seen(log, 3)[2]["company"] == "New"
        metrics = httpx.get(f"{runner.url}/metrics").text
    assert 'attio_automate_cache_lookups_total{kind="record",outcome="hit"}' in metrics


@pytest.mark.slow
@pytest.mark.parametrize("setup", ["postgres"], indirect=True)
def test_a_webhook_to_one_runner_makes_the_others_forget(
    fake: FakeAttioProcess, setup: Setup, tmp_path: Path
) -> None:
    config = tmp_path / "cached.yaml"
    config.write_text(FAST_CONFIG + "cache: {ttl_seconds: 300}\n")
    common: dict[str, Any] = {
        "rules": setup.rules,
        "config": str(config),
        "api_key": KEY,
        "webhook_secret": SECRET,
        "base_url": fake.base_url,
        "db_url": setup.db_url,
    }

    def invalidations(url: str) -> float:
        for line in httpx.get(f"{url}/metrics").text.splitlines():
            if line.startswith("attio_automate_cache_invalidations_total "):
                return float(line.split()[1])
        return 0.0

    companies = fake.object_id("companies", api_key=KEY)
    with runner_process(**common) as first, runner_process(**common) as second:
        assert invalidations(second.url) == 0
        event = updated(companies, "c-1")
        assert send(first.url, [event], key="k").status_code == 200
        deadline = time.monotonic() + 10
        while invalidations(second.url) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert invalidations(first.url) == 1
        assert invalidations(second.url) == 1
