"""``attio-automate webhooks``: register, list and delete Attio webhooks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import click

from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.cli.common import UserError
from attio_automate.cli.store_access import config_option, settings_or_exit
from attio_automate.errors import AttioError
from attio_automate.events import EVENT_TYPES
from attio_automate.settings import Settings

T = TypeVar("T")


def _call(settings: Settings, work: Callable[[AttioClient], Awaitable[T]]) -> T:
    if not settings.secrets.api_key:
        raise UserError(["ATTIO_API_KEY is not set"])

    async def go() -> T:
        async with AttioClient(
            api_key=settings.secrets.api_key,
            settings=ClientSettings(base_url=settings.attio.base_url),
        ) as attio:
            return await work(attio)

    try:
        return anyio.run(go)
    except AttioError as exc:
        raise UserError([f"Attio refused: {exc}"]) from None


@click.group("webhooks")
def webhooks() -> None:
    """Manage the webhooks that send Attio's events to the runner."""


@webhooks.command("register")
@click.option("--url", required=True, help="The runner's public URL, ending /webhooks/attio.")
@click.option(
    "--events",
    "event_types",
    multiple=True,
    required=True,
    type=click.Choice(EVENT_TYPES),
    help="An event type to subscribe to (repeatable).",
)
@click.option("--object", "object_slug", help="Only events of this object (a filter).")
@click.option(
    "--filter",
    "filter_json",
    help='Attio\'s subscription filter as JSON, e.g. {"$and": [{"field": '
    '"id.object_id", "operator": "equals", "value": "..."}]}',
)
@config_option
def register(
    url: str,
    event_types: tuple[str, ...],
    object_slug: str | None,
    filter_json: str | None,
    config_path: Path | None,
) -> None:
    """Register a webhook and print its signing secret (shown only this once)."""
    settings = settings_or_exit(config_path)
    if object_slug and filter_json:
        raise click.UsageError("give --object or --filter, not both")
    condition: Any = None
    if filter_json:
        try:
            condition = json.loads(filter_json)
        except ValueError as exc:
            raise UserError([f"--filter is not JSON: {exc}"]) from None
        if not isinstance(condition, dict) or not ({"$and", "$or"} & set(condition)):
            raise UserError(['--filter must be {"$and": [...]} or {"$or": [...]}'])

    async def work(attio: AttioClient) -> dict[str, Any]:
        nonlocal condition
        if object_slug:
            objects = {o.get("api_slug"): o["id"]["object_id"] for o in await attio.list_objects()}
            if object_slug not in objects:
                raise UserError([f"no object {object_slug!r} in this workspace"])
            condition = {
                "$and": [
                    {"field": "id.object_id", "operator": "equals", "value": objects[object_slug]}
                ]
            }
        return await attio.create_webhook(
            target_url=url,
            subscriptions=[{"event_type": t, "filter": condition} for t in event_types],
        )

    webhook = _call(settings, work)
    click.echo(f"registered webhook {webhook['id']['webhook_id']} -> {webhook['target_url']}")
    click.echo(f"  events: {', '.join(s['event_type'] for s in webhook['subscriptions'])}")
    click.echo(f"  secret: {webhook.get('secret')}")
    click.echo("Attio shows this secret only now: set it as ATTIO_WEBHOOK_SECRET for the runner.")


@webhooks.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@config_option
def list_webhooks(as_json: bool, config_path: Path | None) -> None:
    """The workspace's webhooks."""
    found = _call(settings_or_exit(config_path), lambda attio: attio.list_webhooks())
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("no webhooks")
    for webhook in found:
        events = ", ".join(s["event_type"] for s in webhook.get("subscriptions", []))
        click.echo(
            f"{webhook['id']['webhook_id']}  {webhook.get('status', '?'):<8} "
            f"{webhook['target_url']}  [{events}]"
        )


@webhooks.command("delete")
@click.argument("webhook_id")
@config_option
def delete(webhook_id: str, config_path: Path | None) -> None:
    """Delete a webhook."""
    _call(settings_or_exit(config_path), lambda attio: attio.delete_webhook(webhook_id))
    click.echo(f"deleted webhook {webhook_id}")
