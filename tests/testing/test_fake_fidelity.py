"""Gaps between the fake and Attio that third-party clients tripped over."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio


@pytest.fixture
async def http(fake_attio: FakeAttio) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=fake_attio.transport(),
        base_url="http://fake-attio/v2",
        headers={"Authorization": f"Bearer {fake_attio.api_key}"},
    ) as client:
        yield client


async def person(http: httpx.AsyncClient) -> str:
    answer = await http.post(
        "/objects/people/records",
        json={"data": {"values": {"email_addresses": ["ada@example.com"]}}},
    )
    return str(answer.json()["data"]["id"]["record_id"])


async def test_a_reference_may_name_its_object_by_id(http: httpx.AsyncClient) -> None:
    companies = (await http.get("/objects/companies")).json()["data"]["id"]["object_id"]
    company = await http.post(
        "/objects/companies/records", json={"data": {"values": {"domains": ["acme.com"]}}}
    )
    company_id = company.json()["data"]["id"]["record_id"]
    answer = await http.patch(
        f"/objects/people/records/{await person(http)}",
        json={
            "data": {
                "values": {
                    "company": [{"target_object": companies, "target_record_id": company_id}]
                }
            }
        },
    )
    assert answer.status_code == 200, answer.text
    value = answer.json()["data"]["values"]["company"][0]
    assert value["target_record_id"] == company_id


async def test_a_task_by_id_can_be_read_completed_and_deleted(http: httpx.AsyncClient) -> None:
    created = await http.post(
        "/tasks",
        json={
            "data": {
                "content": "Call",
                "format": "plaintext",
                "deadline_at": None,
                "is_completed": False,
                "linked_records": [],
                "assignees": [],
            }
        },
    )
    task = created.json()["data"]
    assert task["completed_at"] is None
    task_id = task["id"]["task_id"]
    assert (await http.get(f"/tasks/{task_id}")).json()["data"]["content_plaintext"] == "Call"
    done = await http.patch(f"/tasks/{task_id}", json={"data": {"is_completed": True}})
    assert done.json()["data"]["is_completed"] is True
    assert done.json()["data"]["completed_at"] is not None
    bad = await http.patch(f"/tasks/{task_id}", json={"data": {"content": "x"}})
    assert bad.status_code == 400
    assert bad.json()["code"] == "validation_type"
    assert (await http.delete(f"/tasks/{task_id}")).status_code == 200
    gone = await http.get(f"/tasks/{task_id}")
    assert gone.status_code == 404
    assert gone.json()["type"] == "invalid_request_error"


async def test_entry_attribute_values_with_history(http: httpx.AsyncClient) -> None:
    record_id = await person(http)
    entry = await http.post(
        "/lists/sales/entries",
        json={
            "data": {
                "parent_object": "people",
                "parent_record_id": record_id,
                "entry_values": {"stage": "Lead"},
            }
        },
    )
    entry_id = entry.json()["data"]["id"]["entry_id"]
    await http.patch(
        f"/lists/sales/entries/{entry_id}", json={"data": {"entry_values": {"stage": "Qualified"}}}
    )
    path = f"/lists/sales/entries/{entry_id}/attributes/stage/values"
    current = (await http.get(path)).json()["data"]
    assert [v["status"]["title"] for v in current] == ["Qualified"]
    history = (await http.get(path, params={"show_historic": "true"})).json()["data"]
    assert [v["status"]["title"] for v in history] == ["Lead", "Qualified"]
