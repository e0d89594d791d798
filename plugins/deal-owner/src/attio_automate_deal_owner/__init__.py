"""Give every new deal an owner from a rotation of workspace members, and
the owner a first task: an example plugin built on the services.

Settings (``plugins.settings.deal_owner`` in the runner's configuration)::

    deal_owner:
      owners: [ada@example.com, grace@example.com]   # required: the rotation
      first_task_days: 2       # the owner's task is due this many days on (0: no task)
      keep_existing: true      # a deal created with an owner keeps it

The owner is picked by the deal's record id, so every runner, every retry and
every replay picks the same one, and deals spread evenly over the rotation.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from attio_automate import AppContext, EventContext, Interest, hookimpl

log = logging.getLogger(__name__)

PLUGIN_NAME = "deal_owner"


class SettingsError(ValueError):
    """The plugin's settings cannot work."""


def owners_from(settings: Mapping[str, Any]) -> list[str]:
    """The rotation, checked: a non-empty list of email addresses."""
    owners = settings.get("owners")
    if not isinstance(owners, list) or not owners:
        raise SettingsError("deal_owner: 'owners' must be a non-empty list of member emails")
    bad = [o for o in owners if not isinstance(o, str) or "@" not in o]
    if bad:
        raise SettingsError(f"deal_owner: not email addresses: {bad}")
    return owners


def pick(owners: Sequence[str], record_id: str) -> str:
    """The owner for this deal: a stable choice spread evenly over ``owners``."""
    digest = hashlib.sha256(record_id.encode()).digest()
    return owners[int.from_bytes(digest[:8], "big") % len(owners)]


@hookimpl
def wanted_events() -> Interest:
    return Interest(event_types=("record.created",), objects=("deals",))


async def owned_by_someone_else(event: EventContext, owner: str) -> bool:
    """Whether the deal has an owner other than ``owner``.  Our own earlier
    try may have set ``owner`` already (a retry after a crash): then the plan
    is made again, the ledger skips what was done, and the rest still runs."""
    current = event.record.get("owner") if event.record else None
    if not isinstance(current, Mapping) or not current.get("id"):
        return False
    members = await event.attio.list_workspace_members()
    ids = {m.get("email_address"): m["id"]["workspace_member_id"] for m in members}
    return bool(current["id"] != ids.get(owner))


@hookimpl
def startup(app: AppContext) -> None:
    settings = app.settings_for(PLUGIN_NAME)
    if "owners" not in settings:
        log.warning("deal_owner is installed but has no owners setting: it assigns nothing")
    else:
        owners_from(settings)  # refused at start, not at the first deal


@hookimpl
async def handle_event(event: EventContext) -> None:
    settings = event.settings_for(PLUGIN_NAME)
    if event.record is None or "owners" not in settings:
        return  # deleted before we got to it, or not configured (said at startup)
    owners = owners_from(settings)  # a bad setting is this event's failure, with the reason
    owner = pick(owners, event.record["record_id"])
    if settings.get("keep_existing", True) and await owned_by_someone_else(event, owner):
        return
    event.contacts.update(event.record, {"owner": owner})
    days = float(settings.get("first_task_days", 2))
    if days > 0:
        name = event.record.get("name") or "your new deal"
        event.activity.task(
            f"Introduce yourself: {name}",
            # From the event's time: a retry plans the very same task.
            deadline=event.now() + timedelta(days=days),
            linked=event.record,
            assignees=[owner],
        )
