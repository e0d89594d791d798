"""Attio's REST endpoints in the fake: each turns a request into a call on the
workspace (or the webhook hub) and Attio's answer.  :class:`FakeAttio` routes
requests here after its own checks (authentication, faults, limits)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from attio_automate.testing.fake import activities, entries, schema_writes, search
from attio_automate.testing.fake import schema_views as views
from attio_automate.testing.fake.model import (
    JSON,
    Attribute,
    Container,
    FakeAttioError,
    not_found,
    whole_number,
)
from attio_automate.testing.fake.webhooks import WebhookHub
from attio_automate.testing.fake.workspace import Workspace

#: An endpoint: the request and its parsed JSON body in, Attio's answer out.
Handler = Callable[[Request, Any], Awaitable[Any] | Any]


class Endpoints:
    """Attio's API over ``workspace`` and ``webhooks``."""

    def __init__(
        self, workspace: Workspace, webhooks: WebhookHub, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.workspace = workspace
        self.webhooks = webhooks
        self.clock = clock

    def routes(self, route: Callable[[str, list[str], Handler], Route]) -> list[Route]:
        """Every endpoint, each made a route by ``route(path, methods, handler)``."""
        w = self.workspace
        return [
            route("/v2/self", ["GET"], self._self),
            route("/v2/objects", ["GET", "POST"], self._objects),
            route("/v2/objects/{object}", ["GET", "PATCH"], self._object),
            route(
                "/v2/lists",
                ["GET"],
                lambda r, b: _ok([views.list_view(w, lst) for lst in w.lists.values()]),
            ),
            route(
                "/v2/lists/{list}",
                ["GET"],
                lambda r, b: _ok(views.list_view(w, w.get_list(r.path_params["list"]))),
            ),
            route("/v2/{target}/{identifier}/attributes", ["GET", "POST"], self._attributes),
            route(
                "/v2/{target}/{identifier}/attributes/{attribute}",
                ["GET", "PATCH"],
                self._attribute,
            ),
            route(
                "/v2/{target}/{identifier}/attributes/{attribute}/statuses",
                ["GET", "POST"],
                self._choices,
            ),
            route(
                "/v2/{target}/{identifier}/attributes/{attribute}/options",
                ["GET", "POST"],
                self._choices,
            ),
            route(
                "/v2/{target}/{identifier}/attributes/{attribute}/statuses/{choice}",
                ["PATCH"],
                self._choice,
            ),
            route(
                "/v2/{target}/{identifier}/attributes/{attribute}/options/{choice}",
                ["PATCH"],
                self._choice,
            ),
            route(
                "/v2/objects/records/search",
                ["POST"],
                lambda r, b: _ok(search.search(w, b)),
            ),
            route("/v2/objects/{object}/records/query", ["POST"], self._query_records),
            route("/v2/objects/{object}/records", ["POST", "PUT"], self._write_record),
            route(
                "/v2/objects/{object}/records/{record_id}",
                ["GET", "PATCH", "PUT", "DELETE"],
                self._record,
            ),
            route(
                "/v2/objects/{object}/records/{record_id}/attributes/{attribute}/values",
                ["GET"],
                self._values,
            ),
            route(
                "/v2/objects/{object}/records/{record_id}/entries", ["GET"], self._record_entries
            ),
            route(
                "/v2/lists/{list}/entries/{entry_id}/attributes/{attribute}/values",
                ["GET"],
                self._entry_values,
            ),
            route("/v2/lists/{list}/entries/query", ["POST"], self._query_entries),
            route("/v2/lists/{list}/entries", ["POST", "PUT"], self._write_entry),
            route(
                "/v2/lists/{list}/entries/{entry_id}",
                ["GET", "PATCH", "PUT", "DELETE"],
                self._entry,
            ),
            route("/v2/notes", ["GET", "POST"], self._notes),
            route("/v2/notes/{note_id}", ["GET", "DELETE"], self._note),
            route("/v2/tasks", ["GET", "POST"], self._tasks),
            route("/v2/tasks/{task_id}", ["GET", "PATCH", "DELETE"], self._task),
            route("/v2/workspace_members", ["GET"], lambda r, b: _ok(views.members_view(w))),
            route("/v2/workspace_members/{workspace_member_id}", ["GET"], self._member),
            route("/v2/webhooks", ["GET", "POST"], self._webhooks),
            route("/v2/webhooks/{webhook_id}", ["GET", "PATCH", "DELETE"], self._webhook),
        ]

    async def _self(self, request: Request, body: Any) -> Any:
        return views.self_view(self.workspace, self.clock())

    async def _attributes(self, request: Request, body: Any) -> Any:
        w = self.workspace
        container = w.container(request.path_params["target"], request.path_params["identifier"])
        if request.method == "POST":
            attribute = schema_writes.create_attribute(
                w, container, _data(body), actor=_actor(w, request)
            )
            return _ok(views.attribute_view(w, container, attribute))
        items = [views.attribute_view(w, container, a) for a in container.attributes.values()]
        return _ok(_page(items, request))

    async def _objects(self, request: Request, body: Any) -> Any:
        w = self.workspace
        if request.method == "POST":
            return _ok(views.object_view(w, schema_writes.create_object(w, _data(body))))
        return _ok([views.object_view(w, o) for o in w.objects.values()])

    async def _object(self, request: Request, body: Any) -> Any:
        w, identifier = self.workspace, request.path_params["object"]
        if request.method == "PATCH":
            obj = schema_writes.update_object(w, identifier, _data(body))
        else:
            obj = w.get_object(identifier)
        return _ok(views.object_view(w, obj))

    async def _attribute(self, request: Request, body: Any) -> Any:
        w = self.workspace
        container = w.container(request.path_params["target"], request.path_params["identifier"])
        identifier = request.path_params["attribute"]
        if request.method == "PATCH":
            attribute = schema_writes.update_attribute(
                w, container, identifier, _data(body), actor=_actor(w, request)
            )
            return _ok(views.attribute_view(w, container, attribute))
        found = container.attribute(identifier)
        if found is None:
            raise not_found("Attribute", identifier)
        return _ok(views.attribute_view(w, container, found))

    def _choice_attribute(self, request: Request) -> tuple[Container, Attribute]:
        w = self.workspace
        container = w.container(request.path_params["target"], request.path_params["identifier"])
        kind = "status" if "/statuses" in request.url.path else "select"
        attribute = schema_writes.choice_attribute(
            container, request.path_params["attribute"], kind
        )
        return container, attribute

    async def _choices(self, request: Request, body: Any) -> Any:
        w = self.workspace
        container, attribute = self._choice_attribute(request)
        if request.method == "POST":
            choice = schema_writes.add_choice(attribute, _data(body))
            return _ok(views.choice_view(w, container, attribute, choice))
        return _ok([views.choice_view(w, container, attribute, c) for c in attribute.choices])

    async def _choice(self, request: Request, body: Any) -> Any:
        container, attribute = self._choice_attribute(request)
        choice = schema_writes.update_choice(attribute, request.path_params["choice"], _data(body))
        return _ok(views.choice_view(self.workspace, container, attribute, choice))

    async def _query_records(self, request: Request, body: Any) -> Any:
        w = self.workspace
        obj = w.get_object(request.path_params["object"])
        found = w.query(obj, w.records[obj.slug].values(), body or {})
        return _ok([w.render_record(r) for r in found])

    async def _write_record(self, request: Request, body: Any) -> Any:
        w = self.workspace
        values = _data(body).get("values")
        if request.method == "POST":
            record = w.create_record(
                request.path_params["object"], values, actor=_actor(w, request)
            )
        else:
            matching = request.query_params.get("matching_attribute")
            if not matching:
                raise FakeAttioError(
                    400, "validation_type", "The matching_attribute query parameter is required."
                )
            record = w.assert_record(
                request.path_params["object"], matching, values, actor=_actor(w, request)
            )
        return _ok(w.render_record(record))

    async def _record(self, request: Request, body: Any) -> Any:
        w = self.workspace
        obj, record_id = request.path_params["object"], request.path_params["record_id"]
        if request.method == "GET":
            return _ok(w.render_record(w.get_record(obj, record_id)))
        if request.method == "DELETE":
            w.delete_record(obj, record_id, actor=_actor(w, request))
            return {}
        mode = "append" if request.method == "PATCH" else "replace"
        record = w.update_record(
            obj, record_id, _data(body).get("values"), mode=mode, actor=_actor(w, request)
        )
        return _ok(w.render_record(record))

    async def _values(self, request: Request, body: Any) -> Any:
        historic = request.query_params.get("show_historic", "false").lower() == "true"
        p = request.path_params
        values = self.workspace.attribute_values(
            p["object"], p["record_id"], p["attribute"], show_historic=historic
        )
        return _ok(_page(values, request))

    async def _entry_values(self, request: Request, body: Any) -> Any:
        historic = request.query_params.get("show_historic", "false").lower() == "true"
        p = request.path_params
        values = entries.entry_attribute_values(
            self.workspace, p["list"], p["entry_id"], p["attribute"], show_historic=historic
        )
        return _ok(_page(values, request))

    async def _record_entries(self, request: Request, body: Any) -> Any:
        w = self.workspace
        record = w.get_record(request.path_params["object"], request.path_params["record_id"])
        found = [
            {
                "list_id": w.get_list(slug).id,
                "list_api_slug": slug,
                "entry_id": entry.id,
                "created_at": entry.created_at,
            }
            for slug, entries in w.entries.items()
            for entry in entries.values()
            if entry.parent_record_id == record.id
        ]
        return _ok(_page(found, request))

    async def _query_entries(self, request: Request, body: Any) -> Any:
        w = self.workspace
        lst = w.get_list(request.path_params["list"])
        found = w.query(lst, w.entries[lst.slug].values(), body or {})
        return _ok([w.render_entry(e) for e in found])

    async def _write_entry(self, request: Request, body: Any) -> Any:
        w = self.workspace
        data = _data(body)
        if request.method == "POST":
            entry = entries.create_entry(
                w, request.path_params["list"], data, actor=_actor(w, request)
            )
        else:
            entry = entries.assert_entry(
                w, request.path_params["list"], data, actor=_actor(w, request)
            )
        return _ok(w.render_entry(entry))

    async def _entry(self, request: Request, body: Any) -> Any:
        w = self.workspace
        lst, entry_id = request.path_params["list"], request.path_params["entry_id"]
        if request.method == "GET":
            return _ok(w.render_entry(entries.get_entry(w, lst, entry_id)))
        if request.method == "DELETE":
            entry = entries.get_entry(w, lst, entry_id)
            w.delete_entry(w.get_list(lst), entry.id, actor=_actor(w, request))
            return {}
        mode = "append" if request.method == "PATCH" else "replace"
        entry = entries.update_entry(
            w, lst, entry_id, _data(body).get("entry_values"), mode=mode, actor=_actor(w, request)
        )
        return _ok(w.render_entry(entry))

    async def _notes(self, request: Request, body: Any) -> Any:
        w = self.workspace
        if request.method == "POST":
            return _ok(
                activities.render_note(
                    w, activities.create_note(w, _data(body), actor=_actor(w, request))
                )
            )
        parent_object = request.query_params.get("parent_object")
        parent_record = request.query_params.get("parent_record_id")
        if parent_object:
            parent_object = w.get_object(parent_object).slug
        notes = [
            activities.render_note(w, n)
            for n in w.notes.values()
            if (not parent_object or n.parent_object == parent_object)
            and (not parent_record or n.parent_record_id == parent_record)
        ]
        return _ok(_page(notes, request))

    async def _note(self, request: Request, body: Any) -> Any:
        w = self.workspace
        note = w.notes.get(request.path_params["note_id"])
        if note is None:
            raise not_found("Note", request.path_params["note_id"])
        if request.method == "DELETE":
            del w.notes[note.id]
            parent = w.get_object(note.parent_object)
            ids = {
                "note_id": note.id,
                "parent_object_id": parent.id,
                "parent_record_id": note.parent_record_id,
            }
            w.emit("note.deleted", ids, _actor(w, request))
            return {}
        return _ok(activities.render_note(w, note))

    async def _tasks(self, request: Request, body: Any) -> Any:
        w = self.workspace
        if request.method == "POST":
            return _ok(
                activities.render_task(
                    w, activities.create_task(w, _data(body), actor=_actor(w, request))
                )
            )
        found = activities.find_tasks(w, request.query_params)
        return _ok(_page([activities.render_task(w, t) for t in found], request))

    async def _task(self, request: Request, body: Any) -> Any:
        w, task_id = self.workspace, request.path_params["task_id"]
        if request.method == "DELETE":
            activities.delete_task(w, task_id, actor=_actor(w, request))
            return {}
        if request.method == "PATCH":
            task = activities.update_task(w, task_id, _data(body), actor=_actor(w, request))
        else:
            task = activities.get_task(w, task_id)
        return _ok(activities.render_task(w, task))

    async def _member(self, request: Request, body: Any) -> Any:
        member_id = request.path_params["workspace_member_id"]
        for member in views.members_view(self.workspace):
            if member["id"]["workspace_member_id"] == member_id:
                return _ok(member)
        raise not_found("Workspace member", member_id)

    async def _webhooks(self, request: Request, body: Any) -> Any:
        hub = self.webhooks
        if request.method == "POST":
            # The secret is shown once, when the webhook is made.
            return _ok(hub.view(hub.create(_data(body)), with_secret=True))
        return _ok(_page([hub.view(h) for h in hub.webhooks.values()], request))

    async def _webhook(self, request: Request, body: Any) -> Any:
        hub = self.webhooks
        webhook_id = request.path_params["webhook_id"]
        if request.method == "DELETE":
            hub.delete(webhook_id)
            return {}
        if request.method == "PATCH":
            return _ok(hub.view(hub.update(webhook_id, _data(body))))
        return _ok(hub.view(hub.get(webhook_id)))


#: Tests in other processes act as a person with ``X-Fake-Actor: member``; by
#: default writes are the API token's, as they are in Attio.
ACTOR_HEADER = "x-fake-actor"


def _actor(w: Workspace, request: Request) -> JSON | None:
    if request.headers.get(ACTOR_HEADER) == "member" and w.members:
        return {"type": "workspace-member", "id": next(iter(w.members))}
    return None


def _ok(data: Any) -> JSON:
    return {"data": data}


def _data(body: Any) -> JSON:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise FakeAttioError(400, "validation_type", 'The body must be {"data": {...}}.')
    data: JSON = body["data"]
    return data


def _page(items: list[Any], request: Request) -> list[Any]:
    limit = whole_number(request.query_params.get("limit", "500"), "limit")
    offset = whole_number(request.query_params.get("offset", "0"), "offset")
    return items[offset : offset + limit]
