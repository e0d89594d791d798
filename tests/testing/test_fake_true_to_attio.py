"""Where the fake Attio used to differ from Attio in ways clients trip over."""

from __future__ import annotations

import httpx
import pytest

from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio


async def http(fake: FakeAttio) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=fake.transport(), base_url="http://fake-attio/v2")


async def test_integral_float_limits_and_offsets_are_accepted() -> None:
    fake = FakeAttio()
    for n in range(3):
        fake.workspace.create_record("companies", {"name": f"C{n}"})
    async with await http(fake) as client:
        body = {"limit": 2.0, "offset": 1.0}
        answer = await client.post("/objects/companies/records/query", json=body)
        assert answer.status_code == 200
        assert len(answer.json()["data"]) == 2
        listed = await client.get("/tasks", params={"limit": "2.0", "offset": "0.0"})
        assert listed.status_code == 200
        for bad in (2.5, -1, "ten", True):
            refused = await client.post("/objects/companies/records/query", json={"limit": bad})
            assert refused.status_code == 400, bad
            assert refused.json()["type"] == "invalid_request_error"
        for text in ("inf", "nan", "1e400", "2.5"):
            refused = await client.get("/tasks", params={"limit": text})
            assert refused.status_code == 400, text


async def test_unknown_routes_and_methods_answer_attios_json_error() -> None:
    async with await http(FakeAttio()) as client:
        missing = await client.get("/no/such/thing")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/json")
        assert missing.json()["status_code"] == 404
        assert missing.json()["code"] == "not_found"
        wrong = await client.delete("/objects")
        assert wrong.status_code == 405
        assert wrong.json() == {
            "status_code": 405,
            "type": "invalid_request_error",
            "code": "method_not_allowed",
            "message": "DELETE is not allowed on /v2/objects.",
        }
