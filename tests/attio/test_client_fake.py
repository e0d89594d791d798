"""The client's helpers against the fake Attio: Attio's semantics end to end."""

from __future__ import annotations

import pytest

from attio_automate.attio.client import AttioClient
from attio_automate.errors import AttioAPIError
from attio_automate.testing import FakeAttio

pytestmark = pytest.mark.anyio

ADA = {"email_addresses": [{"email_address": "ada@example.com"}]}


async def test_assert_creates_then_updates_the_same_record(attio_client: AttioClient) -> None:
    first = await attio_client.assert_record(
        "people",
        matching_attribute="email_addresses",
        values={**ADA, "job_title": [{"value": "Engineer"}]},
    )
    second = await attio_client.assert_record(
        "people",
        matching_attribute="email_addresses",
        values={
            "email_addresses": [{"email_address": "ADA@example.com"}],
            "job_title": [{"value": "Founder"}],
        },
    )
    assert first["id"]["record_id"] == second["id"]["record_id"]
    assert second["values"]["job_title"][0]["value"] == "Founder"
    email = second["values"]["email_addresses"][0]
    assert (email["email_address"], email["email_domain"]) == ("ada@example.com", "example.com")


async def test_assert_with_two_matches_is_refused(attio_client: AttioClient) -> None:
    await attio_client.create_record("people", ADA)
    await attio_client.create_record(
        "people", {"email_addresses": [{"email_address": "grace@example.com"}]}
    )
    with pytest.raises(AttioAPIError) as caught:
        await attio_client.assert_record(
            "people",
            matching_attribute="email_addresses",
            values={
                "email_addresses": [
                    {"email_address": "ada@example.com"},
                    {"email_address": "grace@example.com"},
                ]
            },
        )
    assert (caught.value.status_code, caught.value.code) == (400, "multiple_match_results")


async def test_unique_values_cannot_be_created_twice(attio_client: AttioClient) -> None:
    await attio_client.create_record("people", ADA)
    with pytest.raises(AttioAPIError) as caught:
        await attio_client.create_record("people", ADA)
    assert caught.value.code == "uniqueness_conflict"


async def test_bad_input_surfaces_as_attio_errors(attio_client: AttioClient) -> None:
    with pytest.raises(AttioAPIError) as unknown_object:
        await attio_client.create_record("spaceships", {"name": ["x"]})
    assert (unknown_object.value.status_code, unknown_object.value.code) == (404, "not_found")
    assert "spaceships" in unknown_object.value.message

    with pytest.raises(AttioAPIError) as bad_value:
        await attio_client.create_record(
            "people", {"email_addresses": [{"email_address": "not-an-email"}]}
        )
    assert (bad_value.value.status_code, bad_value.value.code) == (400, "validation_type")
    assert "email_addresses" in bad_value.value.message

    with pytest.raises(AttioAPIError) as bad_status:
        await attio_client.create_record("deals", {"name": ["Big"], "stage": [{"status": "Nope"}]})
    assert bad_status.value.code == "value_not_found"

    with pytest.raises(AttioAPIError) as missing:
        await attio_client.create_record("deals", {"stage": [{"status": "Lead"}]})
    assert missing.value.code == "missing_value"

    with pytest.raises(AttioAPIError) as unknown_attribute:
        await attio_client.create_record("people", {"nickname": [{"value": "x"}]})
    assert "nickname" in unknown_attribute.value.message


async def test_updates_keep_value_history(attio_client: AttioClient) -> None:
    person = await attio_client.create_record("people", {**ADA, "job_title": ["Engineer"]})
    record_id = person["id"]["record_id"]
    await attio_client.update_record("people", record_id, {"job_title": ["CTO"]})
    history = await attio_client.attribute_values("people", record_id, "job_title")
    assert [(v["value"], v["active_until"] is None) for v in history] == [
        ("Engineer", False),
        ("CTO", True),
    ]
    current = await attio_client.attribute_values(
        "people", record_id, "job_title", show_historic=False
    )
    assert [v["value"] for v in current] == ["CTO"]


async def test_patch_appends_multiselect_and_put_replaces(attio_client: AttioClient) -> None:
    company = await attio_client.create_record("companies", {"domains": ["acme.test"]})
    record_id = company["id"]["record_id"]
    patched = await attio_client.update_record("companies", record_id, {"domains": ["acme.io"]})
    assert {d["domain"] for d in patched["values"]["domains"]} == {"acme.test", "acme.io"}
    put = await attio_client.update_record(
        "companies", record_id, {"domains": ["acme.dev"]}, overwrite=True
    )
    assert [d["domain"] for d in put["values"]["domains"]] == ["acme.dev"]


async def test_record_references_by_matching_attribute(attio_client: AttioClient) -> None:
    company = await attio_client.create_record("companies", {"domains": ["acme.test"]})
    person = await attio_client.create_record(
        "people",
        {**ADA, "company": [{"target_object": "companies", "domains": [{"domain": "acme.test"}]}]},
    )
    ref = person["values"]["company"][0]
    assert ref["target_record_id"] == company["id"]["record_id"]


async def test_list_entries_assert_once_per_parent(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    person = await attio_client.create_record("people", ADA)
    record_id = person["id"]["record_id"]
    first = await attio_client.assert_entry(
        "sales",
        parent_object="people",
        parent_record_id=record_id,
        entry_values={"stage": [{"status": "Lead"}]},
    )
    second = await attio_client.assert_entry(
        "sales",
        parent_object="people",
        parent_record_id=record_id,
        entry_values={"stage": [{"status": "Qualified"}]},
    )
    assert first["id"]["entry_id"] == second["id"]["entry_id"]
    assert second["entry_values"]["stage"][0]["status"]["title"] == "Qualified"
    entries = [e async for e in attio_client.query_entries("sales")]
    assert len(entries) == 1
    extra = await attio_client.create_entry(
        "sales", parent_object="people", parent_record_id=record_id, entry_values={}
    )
    assert extra["id"]["entry_id"] != first["id"]["entry_id"]
    with pytest.raises(AttioAPIError) as caught:
        await attio_client.assert_entry(
            "sales", parent_object="people", parent_record_id=record_id, entry_values={}
        )
    assert caught.value.code == "multiple_match_results"


async def test_entries_refuse_records_of_another_object(attio_client: AttioClient) -> None:
    company = await attio_client.create_record("companies", {"name": ["Acme"]})
    with pytest.raises(AttioAPIError) as caught:
        await attio_client.assert_entry(
            "sales",
            parent_object="companies",
            parent_record_id=company["id"]["record_id"],
            entry_values={},
        )
    assert caught.value.status_code == 400


async def test_notes_and_tasks(fake_attio: FakeAttio, attio_client: AttioClient) -> None:
    person = await attio_client.create_record("people", ADA)
    record_id = person["id"]["record_id"]
    note = await attio_client.create_note(
        parent_object="people",
        parent_record_id=record_id,
        title="Intro",
        content="# Hello\n\n**Ada** is *great*",
    )
    assert note["content_markdown"].startswith("# Hello")
    assert note["content_plaintext"] == "Hello\n\nAda is great"
    notes = await attio_client.list_notes(parent_object="people", parent_record_id=record_id)
    assert [n["id"]["note_id"] for n in notes] == [note["id"]["note_id"]]

    task = await attio_client.create_task(
        content="Call Ada",
        deadline_at="2030-01-01T09:00:00.000Z",
        linked_records=[{"target_object": "people", "target_record_id": record_id}],
        assignees=[{"workspace_member_email_address": "grace@fake-attio.test"}],
    )
    grace = next(m for m in fake_attio.workspace.members.values() if m.first_name == "Grace")
    assert task["assignees"] == [
        {"referenced_actor_type": "workspace-member", "referenced_actor_id": grace.id}
    ]
    assert task["linked_records"][0]["target_record_id"] == record_id
    with pytest.raises(AttioAPIError) as caught:
        await attio_client.create_task(content="x" * 2001)
    assert caught.value.code == "validation_type"


async def test_writes_are_attributed_to_the_token(
    fake_attio: FakeAttio, attio_client: AttioClient
) -> None:
    person = await attio_client.create_record("people", ADA)
    actor = person["values"]["email_addresses"][0]["created_by_actor"]
    assert actor == {"type": "api-token", "id": fake_attio.workspace.api_token_id}


async def test_self_and_members(fake_attio: FakeAttio, attio_client: AttioClient) -> None:
    me = await attio_client.get_self()
    assert me["active"] is True
    assert me["workspace_id"] == fake_attio.workspace.id
    members = await attio_client.list_workspace_members()
    assert {m["email_address"] for m in members} == {"ada@fake-attio.test", "grace@fake-attio.test"}
    statuses = await attio_client.list_statuses("objects", "deals", "stage")
    assert [s["title"] for s in statuses][:2] == ["Lead", "In Progress"]
