"""The services as a plugin sees them inside ``handle_event``.

Reads go straight to the services (through the record cache).  Writes are
planned, not done: each becomes a built-in action, keyed, run once through
the ledger after every plugin has decided, traced and shown by dry runs.
A write returns a :class:`Planned`; pass it where a later write needs what
the first one made (``event.activity.note(person, ...)`` after
``person = event.contacts.upsert_person(...)``), and the runner fills in
the id once the first action has run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from attio_automate.services import Activity, Contacts, Pipeline, Record
from attio_automate.services.activity import attio_time
from attio_automate.services.refs import EntryLike, RecordLike, entry_of, record_of, task_id_of
from attio_automate.services.types import Entry, Note, Person, StageChange, Task

if TYPE_CHECKING:
    from attio_automate.bus.plans import PlannedAction

JSON = dict[str, Any]


class Planner(Protocol):
    """What the planned services need of the event: planning an action."""

    def plan(self, action: str, params: Mapping[str, Any]) -> PlannedAction: ...


#: The key under which a parameter refers to an earlier planned action's result.
REF = "$ref"


@dataclass(frozen=True)
class Planned:
    """A write that will run after the plugins are done: its action's key,
    and references to what it will have made."""

    action: PlannedAction
    object: str | None = None

    def ref(self, field: str) -> JSON:
        """A parameter filled in with ``field`` of this action's result."""
        return {REF: self.action.key, "field": field}

    @property
    def record(self) -> tuple[str, Any]:
        """This write's record, as a later write's ``record`` argument."""
        if self.object is None:
            raise TypeError(f"{self.action.action} makes no record")
        return self.object, self.ref("record_id")


def resolve_refs(value: Any, results: Mapping[str, Any]) -> Any:
    """``value`` with every reference replaced by the result it names;
    KeyError names a reference to an action that has not run."""
    if isinstance(value, Mapping):
        if REF in value:
            result = results[str(value[REF])]
            return result[value["field"]] if isinstance(result, Mapping) else result
        return {k: resolve_refs(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, results) for v in value]
    return value


def _record(record: RecordLike | Planned) -> tuple[str, Any]:
    return record.record if isinstance(record, Planned) else record_of(record)


class PlannedContacts:
    """:class:`~attio_automate.services.Contacts` with planned writes."""

    def __init__(self, event: Planner, contacts: Contacts) -> None:
        self._event = event
        self.reads = contacts

    async def get(self, object: str, record_id: str) -> Record:
        return await self.reads.get(object, record_id)

    async def find_by_email(self, email: str) -> Person | None:
        return await self.reads.find_by_email(email)

    async def find_company_by_domain(self, domain: str) -> Record | None:
        return await self.reads.find_company_by_domain(domain)

    def upsert_person(
        self, email: str, *, name: str | None = None, values: Mapping[str, Any] | None = None
    ) -> Planned:
        simple = {**(values or {}), "email_addresses": [email]}
        if name is not None:
            simple["name"] = name
        return self._upsert("people", "email_addresses", simple)

    def upsert_company(
        self, domain: str, *, name: str | None = None, values: Mapping[str, Any] | None = None
    ) -> Planned:
        simple = {**(values or {}), "domains": [domain]}
        if name is not None:
            simple["name"] = name
        return self._upsert("companies", "domains", simple)

    def link_person_to_company(
        self, person: RecordLike | Planned, company: RecordLike | Planned
    ) -> Planned:
        _, person_id = _record(person)
        _, company_id = _record(company)
        params = {"object": "people", "record_id": person_id, "values": {"company": company_id}}
        return Planned(self._event.plan("update_record", params), "people")

    def update(
        self, record: RecordLike | Planned, values: Mapping[str, Any], *, overwrite: bool = False
    ) -> Planned:
        """Change some of a record's values (``overwrite`` replaces multiselect ones)."""
        obj, record_id = _record(record)
        params = {"object": obj, "record_id": record_id, "values": dict(values)}
        if overwrite:
            params["overwrite"] = True
        return Planned(self._event.plan("update_record", params), obj)

    def _upsert(self, object: str, matching: str, values: Mapping[str, Any]) -> Planned:
        params = {"object": object, "matching_attribute": matching, "values": dict(values)}
        return Planned(self._event.plan("upsert_record", params), object)


class PlannedPipeline:
    """:class:`~attio_automate.services.Pipeline` with planned writes."""

    def __init__(self, event: Planner, pipeline: Pipeline) -> None:
        self._event = event
        self.reads = pipeline

    async def entries_for(self, record: RecordLike, list: str | None = None) -> Sequence[Entry]:
        return await self.reads.entries_for(record, list)

    async def stage_history(self, entry: EntryLike) -> Sequence[StageChange]:
        return await self.reads.stage_history(entry)

    def add(
        self,
        record: RecordLike | Planned,
        list: str,
        stage: str | None = None,
        *,
        values: Mapping[str, Any] | None = None,
        once: bool = True,
    ) -> Planned:
        obj, record_id = _record(record)
        entry_values = dict(values or {})
        if stage is not None:
            entry_values["stage"] = stage
        params = {
            "object": obj,
            "record_id": record_id,
            "list": list,
            "entry_values": entry_values,
            "once": once,
        }
        return Planned(self._event.plan("add_to_list", params))

    def move(self, entry: EntryLike | Planned, stage: str) -> Planned:
        entry_id: Any
        if isinstance(entry, Planned):
            lst, entry_id = str(entry.action.params["list"]), entry.ref("entry_id")
        else:
            lst, entry_id = entry_of(entry)
        params = {"list": lst, "entry_id": entry_id, "values": {"stage": stage}}
        return Planned(self._event.plan("update_entry", params))


class PlannedActivity:
    """:class:`~attio_automate.services.Activity` with planned writes."""

    def __init__(self, event: Planner, activity: Activity) -> None:
        self._event = event
        self.reads = activity

    async def notes_for(self, record: RecordLike) -> Sequence[Note]:
        return await self.reads.notes_for(record)

    def note(
        self,
        record: RecordLike | Planned,
        title: str,
        content: str,
        format: Literal["markdown", "plaintext"] = "markdown",
    ) -> Planned:
        obj, record_id = _record(record)
        params = {
            "object": obj,
            "record_id": record_id,
            "title": title,
            "content": content,
            "format": format,
        }
        return Planned(self._event.plan("add_note", params))

    def task(
        self,
        content: str,
        *,
        deadline: datetime | str | None = None,
        linked: RecordLike | Planned | None = None,
        assignees: Sequence[str] = (),
    ) -> Planned:
        params: JSON = {"content": content, "assignees": list(assignees), "link": False}
        if deadline is not None:
            params["deadline"] = attio_time(deadline)
        if linked is not None:
            obj, record_id = _record(linked)
            params.update(object=obj, record_id=record_id, link=True)
        return Planned(self._event.plan("create_task", params))

    def complete_task(self, task: Task | Mapping[str, Any] | str | Planned) -> Planned:
        task_id = task.ref("task_id") if isinstance(task, Planned) else task_id_of(task)
        return Planned(self._event.plan("complete_task", {"task_id": task_id}))
