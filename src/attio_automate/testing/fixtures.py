"""Loading record and entry fixtures into a fake workspace.

A record fixture names its object and values in any form Attio accepts for
writing, optionally with the id to use and former values (``previous``) so
that history (and so a rule's ``previous``) is there::

    {"object": "people", "record_id": "r-ada",
     "values": {"email_addresses": ["ada@example.com"], "job_title": "CEO"},
     "previous": {"job_title": "CTO"}}

An entry fixture: ``{"list": "sales", "entry_id": "e1", "parent_record_id":
"r-ada", "values": {"stage": "Lead"}}``.  Fixture writes are attributed to a
workspace member, never to the API token.  A fixture naming a record or
entry that is already there changes its values (a later step of a rule test
case: the record as it is by then).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attio_automate.errors import ConfigError
from attio_automate.testing.fake import entries
from attio_automate.testing.fake.model import FakeAttioError
from attio_automate.testing.fake.workspace import Workspace


def load_fixtures(workspace: Workspace, fixtures: list[Mapping[str, Any]]) -> None:
    """Add every record (then every entry) fixture; raise ConfigError if one is refused."""
    member = next(iter(workspace.members), None)
    actor = {"type": "workspace-member", "id": member}
    records = [f for f in fixtures if "object" in f]
    lists = [f for f in fixtures if "list" in f]
    try:
        for fixture in records:
            values = dict(fixture.get("values") or {})
            previous = dict(fixture.get("previous") or {})
            known = workspace.records[workspace.get_object(str(fixture["object"])).slug]
            if fixture.get("record_id") in known:
                workspace.update_record(
                    str(fixture["object"]),
                    str(fixture["record_id"]),
                    values,
                    mode="replace",
                    actor=actor,
                )
                continue
            record = workspace.create_record(
                str(fixture["object"]),
                {**values, **previous},
                actor=actor,
                record_id=fixture.get("record_id"),
            )
            changed = {k: v for k, v in values.items() if k in previous}
            if changed:
                workspace.update_record(
                    record.object_slug, record.id, changed, mode="replace", actor=actor
                )
        for fixture in lists:
            if fixture.get("entry_id") in workspace.entries.get(
                workspace.get_list(str(fixture["list"])).slug, {}
            ):
                entries.update_entry(
                    workspace,
                    str(fixture["list"]),
                    str(fixture["entry_id"]),
                    fixture.get("values") or {},
                    mode="replace",
                    actor=actor,
                )
                continue
            entries.create_entry(
                workspace,
                str(fixture["list"]),
                {
                    "parent_object": fixture.get("parent_object")
                    or workspace.get_list(str(fixture["list"])).parent_object,
                    "parent_record_id": fixture.get("parent_record_id"),
                    "entry_values": fixture.get("values") or {},
                },
                actor=actor,
                entry_id=fixture.get("entry_id"),
            )
    except FakeAttioError as exc:
        raise ConfigError([f"fixture refused: {exc.message}"]) from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError([f"malformed fixture: {exc!r}"]) from None
