"""``attio-automate demo``: the client against the in-process fake Attio.

Asserts a person by email, adds them to the ``sales`` list at a stage, adds a
markdown note, and reports each step.  Needs no network and no configuration.
"""

from __future__ import annotations

from collections.abc import Callable

from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.testing.fake import FakeAttio

DEMO_KEY = "demo-key"


async def run_demo(echo: Callable[[str], None]) -> None:
    """Run the demo, reporting through ``echo``."""
    fake = FakeAttio(api_key=DEMO_KEY)
    settings = ClientSettings(base_url="http://fake-attio.local/v2")
    async with AttioClient(
        api_key=DEMO_KEY, settings=settings, transport=fake.transport()
    ) as attio:
        echo("attio-automate demo: the shared client against an in-process fake Attio\n")
        person = await attio.assert_record(
            "people",
            matching_attribute="email_addresses",
            values={
                "email_addresses": [{"email_address": "ada@analytical.example"}],
                "name": [
                    {"first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace"}
                ],
                "job_title": [{"value": "Founder"}],
            },
        )
        record_id = person["id"]["record_id"]
        name = person["values"]["name"][0]["full_name"]
        echo(f"1. asserted person {name} <ada@analytical.example> -> record {record_id}")

        entry = await attio.assert_entry(
            "sales",
            parent_object="people",
            parent_record_id=record_id,
            entry_values={"stage": [{"status": "Lead"}]},
        )
        stage = entry["entry_values"]["stage"][0]["status"]["title"]
        echo(f"2. added to list 'sales' at stage {stage!r} -> entry {entry['id']['entry_id']}")

        note = await attio.create_note(
            parent_object="people",
            parent_record_id=record_id,
            title="Welcome aboard",
            content="## New founder\n\n*Ada* joined the **Sales** pipeline as a lead.",
        )
        echo(f"3. added markdown note {note['title']!r} -> note {note['id']['note_id']}")

        writes = fake.writes()
        echo(f"\nAttio received {len(writes)} writes:")
        for request in writes:
            query = (
                "?" + "&".join(f"{k}={v}" for k, v in request["query"].items())
                if request["query"]
                else ""
            )
            echo(f"  {request['method']:<5} {request['path']}{query} -> {request['status']}")
