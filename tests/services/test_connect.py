"""connect(): the services on a client of their own, for scripts and jobs,
here against the fake Attio served on loopback."""

from __future__ import annotations

import pytest

from attio_automate.services import Person, connect
from attio_automate.testing.servers import fake_attio_process

pytestmark = pytest.mark.anyio


async def test_connect_gives_services_that_act_at_once() -> None:
    with fake_attio_process(api_key="script-key", check_answers=True) as fake:
        async with connect(api_key="script-key", base_url=fake.base_url) as attio:
            ada = await attio.contacts.upsert_person("ada@example.com", name="Ada Lovelace")
            note = await attio.activity.note(ada, "Hello", "Met at the fair")
            assert (await attio.activity.notes_for(ada))[0].note_id == note.note_id
            again = await attio.contacts.get("people", ada.record_id)
            assert isinstance(again, Person)
            assert again.name == "Ada Lovelace"
        assert fake.count("POST", "/v2/notes") == 1
        assert fake.violations() == []
