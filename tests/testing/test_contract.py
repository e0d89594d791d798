"""The client and the fake Attio agree with Attio's OpenAPI description."""

from __future__ import annotations

from typing import Any

import pytest

from attio_automate.attio.client import AttioClient
from attio_automate.errors import AttioAPIError
from attio_automate.testing import AttioSpec, ContractError, FakeAttio

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def spec() -> AttioSpec:
    return AttioSpec.load()


async def exercise_every_helper(attio: AttioClient) -> None:
    """Call every helper the client has, successes and refusals."""
    await attio.get_self()
    await attio.list_objects()
    await attio.list_lists()
    for target, identifier in (
        ("objects", "people"),
        ("objects", "companies"),
        ("objects", "deals"),
        ("lists", "sales"),
    ):
        await attio.list_attributes(target, identifier)  # type: ignore[arg-type]
    await attio.list_statuses("objects", "deals", "stage")
    await attio.list_workspace_members()
    company = await attio.assert_record(
        "companies",
        matching_attribute="domains",
        values={
            "domains": [{"domain": "acme.test"}],
            "name": [{"value": "Acme"}],
            "categories": [{"option": "SaaS"}, {"option": "B2B"}],
        },
    )
    person = await attio.assert_record(
        "people",
        matching_attribute="email_addresses",
        values={
            "email_addresses": [{"email_address": "ada@acme.test"}],
            "name": [{"first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace"}],
            "phone_numbers": [{"original_phone_number": "+44 20 7946 0000", "country_code": "GB"}],
            "company": [
                {"target_object": "companies", "target_record_id": company["id"]["record_id"]}
            ],
        },
    )
    record_id = person["id"]["record_id"]
    await attio.update_record("people", record_id, {"job_title": [{"value": "Founder"}]})
    await attio.update_record(
        "people", record_id, {"job_title": [{"value": "CEO"}]}, overwrite=True
    )
    await attio.get_record("people", record_id)
    await attio.attribute_values("people", record_id, "job_title")
    deal = await attio.create_record(
        "deals",
        {
            "name": [{"value": "Acme expansion"}],
            "stage": [{"status": "Lead"}],
            "value": [{"currency_value": 12000}],
            "owner": [{"workspace_member_email_address": "ada@fake-attio.test"}],
            "associated_people": [{"target_object": "people", "target_record_id": record_id}],
        },
    )
    await attio.update_record("deals", deal["id"]["record_id"], {"stage": [{"status": "Won 🎉"}]})
    _ = [
        r
        async for r in attio.query_records(
            "people", filter={"email_addresses": "ada@acme.test"}, page_size=10
        )
    ]
    _ = [
        r
        async for r in attio.query_records(
            "deals", sorts=[{"attribute": "name", "direction": "desc"}]
        )
    ]
    entry = await attio.assert_entry(
        "sales",
        parent_object="people",
        parent_record_id=record_id,
        entry_values={"stage": [{"status": "Lead"}]},
    )
    await attio.update_entry("sales", entry["id"]["entry_id"], {"priority": [{"option": "High"}]})
    await attio.get_entry("sales", entry["id"]["entry_id"])
    _ = [e async for e in attio.query_entries("sales", filter={"stage": "Lead"})]
    await attio.create_note(
        parent_object="people", parent_record_id=record_id, title="Hello", content="**hi**"
    )
    await attio.list_notes(parent_object="people", parent_record_id=record_id)
    await attio.record_entries("people", record_id)
    await attio.create_task(
        content="Follow up",
        deadline_at="2030-01-01T10:00:00.000Z",
        linked_records=[{"target_object": "people", "target_record_id": record_id}],
        assignees=[{"workspace_member_email_address": "grace@fake-attio.test"}],
    )
    await attio.list_tasks(linked_object="people", linked_record_id=record_id)
    for call in (
        attio.get_record("people", "00000000-0000-4000-8000-000000000000"),
        attio.create_record("people", {"email_addresses": [{"email_address": "ada@acme.test"}]}),
        attio.create_record("people", {"email_addresses": [{"email_address": "nope"}]}),
        attio.create_record("spaceships", {"name": [{"value": "x"}]}),
        attio.create_record("deals", {"stage": [{"status": "Lead"}]}),
        attio.create_task(content=""),
    ):
        with pytest.raises(AttioAPIError):
            await call


def check_log(spec: AttioSpec, log: list[dict[str, Any]]) -> int:
    for request in log:
        spec.check_request(request["method"], request["path"], request["body"])
        spec.check_response(
            request["method"], request["path"], request["status"], request["response"]
        )
    return len(log)


async def test_every_request_and_answer_matches_the_description(
    spec: AttioSpec, fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    await exercise_every_helper(attio_client)
    checked = check_log(spec, fake_attio.requests)
    assert checked >= 30
    statuses = {r["status"] for r in fake_attio.requests}
    assert {200, 400, 404} <= statuses


async def test_rate_limit_and_outage_answers_have_attios_error_shape(
    spec: AttioSpec,
) -> None:
    fake = FakeAttio(writes_per_second=1)
    transport = fake.transport()
    import httpx

    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as http:
        await http.post("/v2/notes", json={"data": {}})
        refused = await http.post("/v2/notes", json={"data": {}})
        fake.fail(status=503, seconds=60)
        down = await http.get("/v2/objects")
    assert refused.status_code == 429
    assert down.status_code == 503
    for request in fake.requests[1:]:
        spec.check_response(
            request["method"], request["path"], request["status"], request["response"]
        )


def test_the_checker_can_fail(spec: AttioSpec) -> None:
    with pytest.raises(ContractError, match="values"):
        spec.check_request(
            "PUT",
            "/v2/objects/people/records",
            {"data": {"values": {"email_addresses": "ada@acme.test"}}},
        )
    with pytest.raises(ContractError, match="value of 'email_addresses'"):
        spec.check_request(
            "POST",
            "/v2/objects/people/records",
            {"data": {"values": {"email_addresses": ["ada@acme.test"]}}},
        )
    with pytest.raises(ContractError, match=r"date-time|active_from"):
        spec.check_response(
            "GET",
            "/v2/objects/people/records/x",
            200,
            {
                "data": {
                    "id": {
                        "workspace_id": "00000000-0000-4000-8000-000000000000",
                        "object_id": "00000000-0000-4000-8000-000000000000",
                        "record_id": "00000000-0000-4000-8000-000000000000",
                    },
                    "created_at": "2024-01-01T00:00:00Z",
                    "web_url": "https://app.attio.com/x",
                    "values": {
                        "job_title": [
                            {
                                "value": "x",
                                "attribute_type": "text",
                                "active_from": "yesterday",
                                "active_until": None,
                                "created_by_actor": {"type": "system", "id": None},
                            }
                        ]
                    },
                }
            },
        )
    with pytest.raises(ContractError, match="not an operation"):
        spec.check_request("POST", "/v2/spaceships", {})
    with pytest.raises(ContractError, match="does not answer 201"):
        spec.check_response("GET", "/v2/objects", 201, {})


def test_most_specific_path_wins(spec: AttioSpec) -> None:
    assert spec.operation("POST", "/v2/objects/records/search") == "/v2/objects/records/search"
    assert (
        spec.operation("GET", "/v2/objects/people/attributes")
        == "/v2/{target}/{identifier}/attributes"
    )
