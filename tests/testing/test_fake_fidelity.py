"""Gaps between the fake and Attio that third-party clients tripped over."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

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


TASK: dict[str, Any] = {
    "content": "Call",
    "format": "plaintext",
    "deadline_at": None,
    "is_completed": False,
    "linked_records": [],
    "assignees": [],
}


@pytest.mark.parametrize(
    ("path", "data", "where"),
    [
        (  # Attio requires a filter (null for none)
            "/webhooks",
            {
                "target_url": "https://example.com/h",
                "subscriptions": [{"event_type": "note.created"}],
            },
            "data/subscriptions/0",
        ),
        (  # a filter must be {"$and"|"$or": [{field, operator, value}]}
            "/webhooks",
            {
                "target_url": "https://example.com/h",
                "subscriptions": [{"event_type": "note.created", "filter": {"field": "x"}}],
            },
            "data/subscriptions/0/filter",
        ),
        ("/tasks", {"content": "Call"}, "(root)"),
        ("/tasks", {**TASK, "assignees": [{"referenced_actor_id": 7}]}, "data/assignees/0"),
        (
            "/notes",
            {
                "parent_object": "people",
                "parent_record_id": "x",
                "title": "t",
                "format": "html",
                "content": "c",
            },
            "data/format",
        ),
    ],
)
async def test_bodies_attio_would_refuse_are_refused(
    http: httpx.AsyncClient, fake_attio: FakeAttio, path: str, data: dict[str, object], where: str
) -> None:
    answer = await http.post(path, json={"data": data})
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["code"] == "validation_type"
    assert where in error["message"] or where == "(root)"
    assert not fake_attio.webhooks.webhooks
    assert not fake_attio.workspace.tasks
    assert not fake_attio.workspace.notes


async def test_deleting_entries_and_notes_says_so_in_events(
    http: httpx.AsyncClient, fake_attio: FakeAttio
) -> None:
    events: list[dict[str, Any]] = []
    fake_attio.workspace.listeners.append(events.append)
    record_id = await person(http)
    body = {"parent_object": "people", "parent_record_id": record_id, "entry_values": {}}
    first = (await http.post("/lists/sales/entries", json={"data": body})).json()["data"]
    assert (await http.delete(f"/lists/sales/entries/{first['id']['entry_id']}")).status_code == 200
    second = (await http.post("/lists/sales/entries", json={"data": body})).json()["data"]
    note = await http.post(
        "/notes",
        json={
            "data": {
                "parent_object": "people",
                "parent_record_id": record_id,
                "title": "t",
                "format": "plaintext",
                "content": "c",
            }
        },
    )
    note_id = note.json()["data"]["id"]["note_id"]
    assert (await http.delete(f"/notes/{note_id}")).status_code == 200
    assert (await http.get(f"/notes/{note_id}")).status_code == 404
    # Deleting the record removes its entries, each with its own event.
    assert (await http.delete(f"/objects/people/records/{record_id}")).status_code == 200
    deleted = [
        (e["event_type"], e["id"].get("entry_id") or e["id"].get("note_id"))
        for e in events
        if str(e["event_type"]).endswith(".deleted")
    ]
    assert deleted == [
        ("list-entry.deleted", first["id"]["entry_id"]),
        ("note.deleted", note_id),
        ("list-entry.deleted", second["id"]["entry_id"]),
        ("record.deleted", None),
    ]


async def test_members_by_id_self_and_list_creators(http: httpx.AsyncClient) -> None:
    members = (await http.get("/workspace_members")).json()["data"]
    member_id = members[0]["id"]["workspace_member_id"]
    one = await http.get(f"/workspace_members/{member_id}")
    assert one.json()["data"] == members[0]
    assert (await http.get("/workspace_members/nobody")).status_code == 404
    assert (await http.get("/self")).json()["token_level"] == "workspace"
    sales = (await http.get("/lists/sales")).json()["data"]
    assert sales["created_by_actor"] == {"type": "workspace-member", "id": member_id}


async def test_records_filter_by_record_id_and_entries_by_path(http: httpx.AsyncClient) -> None:
    ids = []
    for n in range(3):
        answer = await http.post(
            "/objects/people/records",
            json={"data": {"values": {"email_addresses": [f"p{n}@example.com"]}}},
        )
        ids.append(answer.json()["data"]["id"]["record_id"])
    query = {"filter": {"record_id": {"$in": ids[:2]}}}
    found = (await http.post("/objects/people/records/query", json=query)).json()["data"]
    assert sorted(r["id"]["record_id"] for r in found) == sorted(ids[:2])
    one = {"filter": {"record_id": ids[2]}}
    found = (await http.post("/objects/people/records/query", json=one)).json()["data"]
    assert [r["id"]["record_id"] for r in found] == [ids[2]]
    for record_id in ids:
        body = {"parent_object": "people", "parent_record_id": record_id, "entry_values": {}}
        await http.post("/lists/sales/entries", json={"data": body})
    by_parent = {
        "filter": {
            "path": [["sales", "parent_record"], ["people", "email_addresses"]],
            "constraints": {"email_address": "p1@example.com"},
        }
    }
    found = (await http.post("/lists/sales/entries/query", json=by_parent)).json()["data"]
    assert [e["parent_record_id"] for e in found] == [ids[1]]
    bad = {"filter": {"path": [["sales"]], "constraints": {}}}
    answer = await http.post("/lists/sales/entries/query", json=bad)
    assert answer.status_code == 400
    assert answer.json()["code"] == "filter_error"


async def test_tasks_are_listed_by_completion_assignee_and_sorted(
    http: httpx.AsyncClient,
) -> None:
    members = (await http.get("/workspace_members")).json()["data"]
    ada = members[0]["email_address"]
    made = []
    for n, assignees in enumerate(([{"workspace_member_email_address": ada}], [], [])):
        task = {**TASK, "content": f"t{n}", "assignees": assignees, "is_completed": n == 2}
        made.append((await http.post("/tasks", json={"data": task})).json()["data"])

    async def contents(**params: str) -> list[str]:
        found = (await http.get("/tasks", params=params)).json()["data"]
        return [t["content_plaintext"] for t in found]

    assert await contents() == ["t0", "t1", "t2"]
    assert await contents(sort="created_at:desc") == ["t2", "t1", "t0"]
    assert await contents(is_completed="true") == ["t2"]
    assert await contents(is_completed="false") == ["t0", "t1"]
    assert await contents(assignee=ada) == ["t0"]
    member_id = members[0]["id"]["workspace_member_id"]
    assert await contents(assignee=member_id) == ["t0"]
    assert (await http.get("/tasks", params={"sort": "title"})).status_code == 400


async def test_records_are_searched_by_name_email_and_domain(http: httpx.AsyncClient) -> None:
    from attio_automate.testing.contract import AttioSpec

    await http.post(
        "/objects/people/records",
        json={
            "data": {"values": {"name": "Ada Lovelace", "email_addresses": ["ada@engines.example"]}}
        },
    )
    await http.post(
        "/objects/companies/records",
        json={"data": {"values": {"name": "Engines", "domains": ["engines.example"]}}},
    )
    body = {
        "query": "engines",
        "objects": ["people", "companies"],
        "request_as": {"type": "workspace"},
    }
    answer = await http.post("/objects/records/search", json=body)
    assert answer.status_code == 200, answer.text
    AttioSpec.load().check_response("POST", "/v2/objects/records/search", 200, answer.json())
    found = answer.json()["data"]
    assert [(r["object_slug"], r["record_text"]) for r in found] == [
        ("people", "Ada Lovelace"),
        ("companies", "Engines"),
    ]
    assert found[0]["email_addresses"] == ["ada@engines.example"]
    assert found[1]["domains"] == ["engines.example"]
    only_people = await http.post(
        "/objects/records/search", json={**body, "query": "lovelace", "objects": ["people"]}
    )
    assert len(only_people.json()["data"]) == 1
    no_request_as = {"query": "x", "objects": ["people"]}
    assert (await http.post("/objects/records/search", json=no_request_as)).status_code == 400


async def test_the_schema_can_be_changed_as_in_attio(
    http: httpx.AsyncClient, fake_attio: FakeAttio
) -> None:
    events: list[dict[str, Any]] = []
    fake_attio.workspace.listeners.append(events.append)
    made = await http.post(
        "/objects",
        json={
            "data": {"api_slug": "projects", "singular_noun": "Project", "plural_noun": "Projects"}
        },
    )
    assert made.status_code == 200, made.text
    again = await http.post(
        "/objects",
        json={"data": {"api_slug": "projects", "singular_noun": "P", "plural_noun": "Ps"}},
    )
    assert again.status_code == 409
    assert again.json()["code"] == "slug_conflict"
    renamed = await http.patch("/objects/projects", json={"data": {"plural_noun": "Initiatives"}})
    assert renamed.json()["data"]["plural_noun"] == "Initiatives"
    attribute = {
        "title": "Phase",
        "description": "Where it is",
        "api_slug": "phase",
        "type": "status",
        "is_required": False,
        "is_unique": False,
        "is_multiselect": False,
        "config": {},
    }
    created = await http.post("/objects/projects/attributes", json={"data": attribute})
    assert created.status_code == 200, created.text
    assert created.json()["data"]["description"] == "Where it is"
    incomplete = await http.post(
        "/objects/projects/attributes", json={"data": {"title": "x", "api_slug": "x"}}
    )
    assert incomplete.status_code == 400
    for title in ("Planned", "Running"):
        status = await http.post(
            "/objects/projects/attributes/phase/statuses", json={"data": {"title": title}}
        )
        assert status.status_code == 200, status.text
    duplicate = await http.post(
        "/objects/projects/attributes/phase/statuses", json={"data": {"title": "planned"}}
    )
    assert duplicate.status_code == 409
    archived = await http.patch(
        "/objects/projects/attributes/phase/statuses/Running",
        json={"data": {"is_archived": True}},
    )
    assert archived.json()["data"]["is_archived"] is True
    statuses = (await http.get("/objects/projects/attributes/phase/statuses")).json()["data"]
    assert [(s["title"], s["is_archived"]) for s in statuses] == [
        ("Planned", False),
        ("Running", True),
    ]
    # Records take the new attribute's statuses at once.
    record = await http.post(
        "/objects/projects/records", json={"data": {"values": {"phase": "Planned"}}}
    )
    assert record.json()["data"]["values"]["phase"][0]["status"]["title"] == "Planned"
    select = {**attribute, "api_slug": "size", "title": "Size", "type": "select"}
    await http.post("/lists/sales/attributes", json={"data": select})
    option = await http.post(
        "/lists/sales/attributes/size/options", json={"data": {"title": "Big"}}
    )
    option_id = option.json()["data"]["id"]["option_id"]
    retitled = await http.patch(
        f"/lists/sales/attributes/size/options/{option_id}", json={"data": {"title": "Huge"}}
    )
    assert retitled.json()["data"]["title"] == "Huge"
    patched = await http.patch(
        "/lists/sales/attributes/size", json={"data": {"title": "Deal size"}}
    )
    assert patched.json()["data"]["title"] == "Deal size"
    assert [e["event_type"] for e in events] == [
        "object-attribute.created",
        "record.created",
        "list-attribute.created",
        "list-attribute.updated",
    ]


async def test_a_query_answers_every_400_with_filter_error(http: httpx.AsyncClient) -> None:
    bodies: list[Any] = [{"limit": "ten"}, {"filter": {"$nope": 1}}, {"sorts": "name"}, []]
    for body in bodies:
        answer = await http.post("/objects/people/records/query", json=body)
        assert answer.status_code == 400, body
        assert answer.json()["code"] == "filter_error", body


async def test_a_failing_webhook_listener_never_fails_the_write(
    http: httpx.AsyncClient, fake_attio: FakeAttio
) -> None:
    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("a subscription the fake cannot evaluate")

    fake_attio.workspace.listeners.append(broken)
    body = {"data": {"values": {"email_addresses": ["ada@example.com"]}}}
    first = await http.put("/objects/people/records?matching_attribute=email_addresses", json=body)
    assert first.status_code == 200
    # Stored once, and a retry is the same record, not a conflict.
    again = await http.put("/objects/people/records?matching_attribute=email_addresses", json=body)
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert len(fake_attio.workspace.records["people"]) == 1


async def test_an_answer_attio_would_not_give_is_caught() -> None:
    fake = FakeAttio(api_key="k", check_answers=True)
    member = next(iter(fake.workspace.members.values()))
    member.access_level = "emperor"  # not one of Attio's access levels
    async with httpx.AsyncClient(
        transport=fake.transport(),
        base_url="http://fake-attio/v2",
        headers={"Authorization": "Bearer k"},
    ) as client:
        assert (await client.get("/workspace_members")).status_code == 200
        assert (await client.get("/objects")).status_code == 200
    assert len(fake.violations) == 1
    assert "GET /v2/workspace_members" in fake.violations[0]
    fake.violations.clear()  # seen: the suite's own check must not count it
