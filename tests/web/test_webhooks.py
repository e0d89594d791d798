"""Deliveries to a served runner: what is accepted, what is refused, what is stored."""

from __future__ import annotations

import time

import httpx

from attio_automate.testing.servers import FakeAttioProcess, runner_process
from attio_automate.testing.webhooks import delivery
from tests.web.conftest import (
    KEY,
    SECRET,
    Setup,
    created,
    inbox,
    make_people,
    note_posts,
    people_object_id,
    send,
)


def wait_for(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_good_and_bad_deliveries(fake: FakeAttioProcess, setup: Setup) -> None:
    people = people_object_id(fake)
    ada, bob, cy = make_people(fake, 3)
    with runner_process(
        rules=setup.rules,
        config=setup.config,
        api_key=KEY,
        webhook_secret=f"old-secret,{SECRET}",
        base_url=fake.base_url,
        db_url=setup.db_url,
    ) as runner:
        batch = [created(people, ada), created(people, bob), created(people, cy)]
        first = send(runner.url, batch, key="d1")
        assert (first.status_code, first.json()) == (200, {"accepted": 3, "duplicates": 0})
        again = send(runner.url, batch, key="d1")  # Attio retrying the same delivery
        assert again.json() == {"accepted": 0, "duplicates": 3}
        # Signed with the other configured secret (rotation): accepted.
        rotated = send(runner.url, [created(people, ada, "s1")], key="d2", secret="old-secret")
        assert rotated.json() == {"accepted": 1, "duplicates": 0}

        body = delivery([created(people, ada)])
        with httpx.Client(timeout=10) as http:
            unsigned = http.post(f"{runner.url}/webhooks/attio", content=body)
            tampered = send(runner.url, [created(people, bob, "x")], key="d3", secret="wrong")
            oversized = http.post(f"{runner.url}/webhooks/attio", content=b"x" * (1024 * 1024 + 1))
            signed_junk = send(runner.url, [], key="d4")  # valid, and empty
            from attio_automate.delivery import sign

            malformed = http.post(
                f"{runner.url}/webhooks/attio",
                content=b"{nope",
                headers={"Attio-Signature": sign(b"{nope", SECRET)},
            )
            bad_envelope = http.post(
                f"{runner.url}/webhooks/attio",
                content=b'{"events": [{"id": {}}]}',
                headers={"Attio-Signature": sign(b'{"events": [{"id": {}}]}', SECRET)},
            )
        assert unsigned.status_code == 401
        assert tampered.status_code == 401
        assert oversized.status_code == 413
        assert malformed.status_code == 400
        assert bad_envelope.status_code == 400
        assert "error" in bad_envelope.json()
        assert signed_junk.json() == {"accepted": 0, "duplicates": 0}
        # Unknown event types are stored and ignored, never refused.
        unknown = send(
            runner.url, [{"event_type": "spaceship.launched", "id": {"a": "1"}}], key="d5"
        )
        assert unknown.json() == {"accepted": 1, "duplicates": 0}

        wait_for(lambda: all(row[2] == "done" for row in inbox(setup)))
        rows = inbox(setup)
        assert [row[1] for row in rows] == ["d1:0", "d1:1", "d1:2", "d2:0", "d5:0"]
        assert len(note_posts(fake)) == 4  # three created, one updated; the unknown type: none
        metrics = httpx.get(f"{runner.url}/metrics").text
        assert 'attio_automate_webhooks_rejected_total{reason="bad_signature"} 1.0' in metrics
        assert 'attio_automate_webhooks_rejected_total{reason="missing_signature"} 1.0' in metrics
        assert 'attio_automate_webhooks_rejected_total{reason="too_large"} 1.0' in metrics
        assert "attio_automate_events_duplicate_total 3.0" in metrics
        assert 'attio_automate_actions_total{action="add_note",outcome="done"} 4.0' in metrics
        assert "attio_automate_receipt_to_done_seconds_count 5.0" in metrics
        ready = httpx.get(f"{runner.url}/readyz").json()
        assert ready == {"ready": True, "checks": {"store": "ok", "attio": "ok"}}


def test_record_updated_rule_reads_previous(fake: FakeAttioProcess, setup: Setup, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rules = tmp_path / "previous.yaml"
    rules.write_text("""
version: 1
rules:
  - id: title-change
    on: record.updated
    object: people
    when:
      - field: changed
        equals: job_title
    do:
      - action: add_note
        with: {title: Title changed, content: "{{ previous }} -> {{ record.job_title }}"}
""")
    with httpx.Client(
        base_url=fake.base_url + "/", headers={"Authorization": f"Bearer {KEY}"}
    ) as client:
        person = client.post(
            "objects/people/records",
            json={"data": {"values": {"job_title": [{"value": "Engineer"}]}}},
        ).json()["data"]
        record_id = person["id"]["record_id"]
        client.patch(
            f"objects/people/records/{record_id}",
            json={"data": {"values": {"job_title": [{"value": "CTO"}]}}},
        )
        attributes = client.get("objects/people/attributes").json()["data"]
    job_title = next(a["id"]["attribute_id"] for a in attributes if a["api_slug"] == "job_title")
    with runner_process(
        rules=str(rules),
        config=setup.config,
        api_key=KEY,
        webhook_secret=SECRET,
        base_url=fake.base_url,
        db_url=setup.db_url,
    ) as runner:
        people = people_object_id(fake)
        assert send(runner.url, [created(people, record_id, job_title)], key="u1").is_success
        wait_for(lambda: len(note_posts(fake)) == 1)
    note = note_posts(fake)[0]
    assert note["body"]["data"]["content"] == "Engineer -> CTO"
