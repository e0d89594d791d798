"""The fake sends signed webhooks like Attio: matching subscriptions, retries."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from attio_automate.delivery import signature_valid
from attio_automate.testing import AttioSpec, FakeAttio

pytestmark = pytest.mark.anyio


class Receiver:
    """An httpx transport standing in for the runner: answers from a script."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.got: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.got.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(status, json={})


async def register(fake: FakeAttio, url: str, subscriptions: list[dict[str, object]]) -> str:
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://fake") as http:
        answer = await http.post(
            "/v2/webhooks", json={"data": {"target_url": url, "subscriptions": subscriptions}}
        )
    assert answer.status_code == 200, answer.text
    secret: str = answer.json()["data"]["secret"]
    return secret


async def test_changes_are_delivered_signed_and_retried_with_the_same_key() -> None:
    fake = FakeAttio()
    fake.webhooks.backoff = (0.01, 0.01)
    people = fake.workspace.objects["people"].id
    secret = await register(
        fake,
        "http://127.0.0.1:9/webhooks/attio",
        [
            {
                "event_type": "record.created",
                "filter": {
                    "$and": [{"field": "id.object_id", "operator": "equals", "value": people}]
                },
            }
        ],
    )
    receiver = Receiver([503, 500, 200])
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
        fake.workspace.create_record("people", {"name": "Ada Lovelace"})
        fake.workspace.create_record("companies", {"name": "Filtered out"})
        with anyio.fail_after(5):
            while fake.webhooks.pending:
                await fake.webhooks.send_due(http)
                await anyio.sleep(0.01)
    assert len(receiver.got) == 3  # two failures, then delivered; the company never sent
    keys = {r.headers["idempotency-key"] for r in receiver.got}
    assert len(keys) == 1
    for request in receiver.got:
        assert signature_valid(request.content, request.headers["attio-signature"], [secret])
    body = json.loads(receiver.got[0].content)
    assert body["events"][0]["event_type"] == "record.created"
    assert body["events"][0]["id"]["object_id"] == people
    assert [s for _, _, s in fake.webhooks.sent] == ["503", "500", "200"]


async def test_webhook_management_matches_attios_description() -> None:
    fake = FakeAttio()
    spec = AttioSpec.load()
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://fake") as http:
        made = await http.post(
            "/v2/webhooks",
            json={
                "data": {
                    "target_url": "https://runner.example/webhooks/attio",
                    "subscriptions": [{"event_type": "record.updated", "filter": None}],
                }
            },
        )
        webhook_id = made.json()["data"]["id"]["webhook_id"]
        listed = await http.get("/v2/webhooks")
        one = await http.get(f"/v2/webhooks/{webhook_id}")
        bad = await http.post(
            "/v2/webhooks",
            json={
                "data": {
                    "target_url": "http://elsewhere.example/hook",
                    "subscriptions": [{"event_type": "record.updated", "filter": None}],
                }
            },
        )
        unknown = await http.post(
            "/v2/webhooks",
            json={
                "data": {
                    "target_url": "https://x.example",
                    "subscriptions": [{"event_type": "nope"}],
                }
            },
        )
        gone = await http.delete(f"/v2/webhooks/{webhook_id}")
        missing = await http.get(f"/v2/webhooks/{webhook_id}")
    assert "secret" in made.json()["data"]
    assert "secret" not in listed.json()["data"][0]
    assert (bad.status_code, unknown.status_code, gone.status_code, missing.status_code) == (
        400,
        400,
        200,
        404,
    )
    for request in fake.requests:
        if request["status"] == 200:  # the refused ones were meant to be wrong
            spec.check_request(request["method"], request["path"], request["body"])
        spec.check_response(
            request["method"], request["path"], request["status"], request["response"]
        )
    assert one.json()["data"]["id"]["webhook_id"] == webhook_id
