"""``attio-automate fake-attio``: serve the fake Attio on a port."""

from __future__ import annotations

import anyio
import click

from attio_automate.heap import settle_heap
from attio_automate.testing.fake import FakeAttio, Workspace, seed_standard
from attio_automate.web.server import serve_until_signal


@click.command("fake-attio")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--reads-per-second",
    type=click.IntRange(min=1),
    default=None,
    help="Answer 429 past this many reads in a clock second (default: no limit).",
)
@click.option(
    "--writes-per-second",
    type=click.IntRange(min=1),
    default=None,
    help="Answer 429 past this many writes in a clock second (default: no limit).",
)
@click.option("--api-key", default=None, help="Require this bearer token.")
@click.option(
    "--kept-answers",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Keep the answers of this many of the newest requests in /_fake/requests "
    "(older entries keep the rest); a fake that keeps every page it served grows.",
)
@click.option("--empty", is_flag=True, help="Start with no objects or lists (no seed data).")
@click.option(
    "--check-answers",
    is_flag=True,
    help="Check every answer against Attio's description (GET /_fake/violations).",
)
def fake_attio(
    host: str,
    port: int,
    reads_per_second: int | None,
    writes_per_second: int | None,
    api_key: str | None,
    kept_answers: int,
    empty: bool,
    check_answers: bool,
) -> None:
    """Serve an in-memory fake Attio workspace until interrupted."""
    workspace = Workspace() if empty else seed_standard(Workspace())
    fake = FakeAttio(
        workspace=workspace,
        api_key=api_key,
        reads_per_second=reads_per_second,
        writes_per_second=writes_per_second,
        check_answers=check_answers,
        # Tens of thousands of seeded records live as long as this process.
        # Left in the collector's walks, a full collection stalled the fake
        # for 100-180 ms, and the requests queued behind the stall arrived
        # in one clock second: 429s for bursts no client sent.
        on_seeded=settle_heap,
        kept_answers=kept_answers,
    )
    limits = (
        f"reads {reads_per_second or 'unlimited'}/s, writes {writes_per_second or 'unlimited'}/s"
    )
    click.echo(f"fake Attio on http://{host}:{port}/v2 ({limits}); Ctrl-C stops it", err=True)
    anyio.run(
        lambda: serve_until_signal(fake.app, host=host, port=port, background=[fake.webhooks.run])
    )
