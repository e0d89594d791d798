"""Serving ASGI apps with hypercorn until told to stop."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, cast

import anyio
from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.typing import ASGIFramework


def hypercorn_config(host: str, port: int, *, idle_seconds: float = 30.0) -> Config:
    """Hypercorn bound to ``host:port``: no access log (the metrics count
    requests), its error log through ``logging`` (a 500 must be seen), and
    connections that send nothing for ``idle_seconds`` closed."""
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 5.0
    config.read_timeout = int(idle_seconds)
    return config


async def serve_until_signal(
    app: Any,
    *,
    host: str,
    port: int,
    background: Sequence[Callable[[], Coroutine[Any, Any, object]]] = (),
    idle_seconds: float = 30.0,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, with ``background`` tasks beside it."""
    stop = anyio.Event()

    async def watch_signals() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                stop.set()
                return

    async def shutdown_trigger() -> None:
        await stop.wait()

    async def run_server() -> None:
        await serve(
            cast(ASGIFramework, app),
            hypercorn_config(host, port, idle_seconds=idle_seconds),
            shutdown_trigger=shutdown_trigger,
        )

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(watch_signals)
        for task in background:
            tasks.start_soon(task)
        # In a task of its own: hypercorn's shutdown leaves its task marked
        # as cancelling (Python 3.11's TaskGroup), which would turn a clean
        # stop of the host task into a CancelledError and a traceback.
        async with anyio.create_task_group() as server:
            server.start_soon(run_server)
        tasks.cancel_scope.cancel()
