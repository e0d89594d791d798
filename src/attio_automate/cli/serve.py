"""``attio-automate serve``: receive Attio's webhooks and run the rules."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import anyio
import click

from attio_automate.assembly import Plugins, check_settings, load_plugins_for
from attio_automate.cli.common import UserError
from attio_automate.cli.logs import configure as configure_logging
from attio_automate.cli.logs import log_options
from attio_automate.errors import ConfigError
from attio_automate.heap import settle_heap
from attio_automate.settings import Settings, load_settings
from attio_automate.store import Store, open_store_url, shown_url
from attio_automate.web.app import create_app
from attio_automate.web.memory import return_large_buffers_to_os
from attio_automate.web.server import serve_until_signal

log = logging.getLogger(__name__)


@click.command("serve")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="YAML configuration file (see README).",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Rules file (overrides the configuration's rules.path).",
)
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option(
    "--port", default=None, type=click.IntRange(0, 65535), help="Port to listen on (default 8080)."
)
@click.option(
    "--plugin-path",
    "plugin_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Load a plugin from this path (repeatable).",
)
@log_options
def serve(
    config_path: Path | None,
    rules_path: Path | None,
    host: str | None,
    port: int | None,
    plugin_paths: tuple[Path, ...],
    log_level: str,
    log_format: str,
) -> None:
    """Run the runner: POST /webhooks/attio, /healthz, /readyz, /metrics.

    Secrets come from the environment: ATTIO_API_KEY and ATTIO_WEBHOOK_SECRET
    (comma-separated to rotate). ATTIO_AUTOMATE_DB (sqlite:///path),
    ATTIO_BASE_URL and ATTIO_AUTOMATE_ENV are read too. SIGTERM drains.
    """
    configure_logging(log_level, log_format)
    overrides: dict[str, object] = {
        "server.host": host,
        "server.port": port,
        "rules.path": str(rules_path) if rules_path else None,
    }
    if plugin_paths:
        overrides["plugins.paths"] = tuple(str(p) for p in plugin_paths)
    try:
        settings = load_settings(config_path, overrides=overrides)
        check_settings(settings)
        store = open_store_url(settings.store.url)  # a bad URL fails here, before binding
        if settings.rules.path is None:
            raise ConfigError(["no rules: give --rules FILE or rules.path in --config"])
        # Loaded once, now: a broken rules file is refused before the server starts.
        plugins = load_plugins_for(settings)
        anyio.run(_serve, settings, plugins, store)
    except ConfigError as exc:
        raise UserError(exc.problems) from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        # A bug, or a background task's failure: serving on would answer
        # every webhook 503 while holding the port, so exit for a restart.
        log.critical(
            "the runner stopped working, exiting for a restart: %s", describe(exc), exc_info=exc
        )
        sys.exit(EXIT_FAILED)


#: The exit status when the runner fails while serving (not a user mistake).
EXIT_FAILED = 3


def describe(error: BaseException) -> str:
    """The first leaf of an exception group, as ``Type: message``."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return f"{type(error).__name__}: {error}"


async def _serve(settings: Settings, plugins: Plugins, store: Store) -> None:
    """Open the store once (created, migrated: one that cannot be is refused
    before the port is bound), then serve until a signal."""
    await store.open()
    return_large_buffers_to_os()
    settle_heap()
    try:
        click.echo(
            f"attio-automate serving on http://{settings.server.host}:{settings.server.port} "
            f"(webhooks at /webhooks/attio, store {shown_url(settings.store.url)})",
            err=True,
        )
        stop = anyio.Event()
        died: list[BaseException] = []

        def on_death(error: BaseException) -> None:
            died.append(error)
            stop.set()

        app = create_app(
            settings, watch_signals=True, plugins=plugins, store=store, on_death=on_death
        )
        try:
            await serve_until_signal(
                app,
                host=settings.server.host,
                port=settings.server.port,
                idle_seconds=settings.server.idle_seconds,
                receive_buffer=settings.server.receive_buffer_bytes,
                stop=stop,
            )
        except BaseException:
            # Hypercorn rewraps what ended the lifespan; the cause is ours.
            if died:
                raise died[0] from None
            raise
    finally:
        with anyio.CancelScope(shield=True):
            await store.close()
    if died:
        raise died[0]
