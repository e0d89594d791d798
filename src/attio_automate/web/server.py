"""Serving ASGI apps with hypercorn until told to stop."""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, cast

import anyio
from hypercorn.asyncio import serve
from hypercorn.config import Config, Sockets
from hypercorn.typing import ASGIFramework

#: The kernel's receive buffer asked for on each connection (Linux doubles it).
RECEIVE_BUFFER = 8 * 1024


class _BoundedConfig(Config):
    """Hypercorn's configuration with small per-connection receive buffers.

    Hypercorn and asyncio read a connection ahead of the app (a stream
    buffer of up to 128 KiB, ten queued chunks), sized by how much the
    kernel hands over at once.  A small socket buffer keeps that read-ahead
    small, so hundreds of clients pushing big bodies at once cost little
    memory before the app refuses them (a webhook of a few KiB fits whole).
    """

    receive_buffer: int = RECEIVE_BUFFER

    def create_sockets(self) -> Sockets:
        sockets = super().create_sockets()
        for sock in (*sockets.secure_sockets, *sockets.insecure_sockets):
            # Accepted connections inherit the listening socket's buffer size.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        return sockets


def hypercorn_config(
    host: str,
    port: int,
    *,
    idle_seconds: float = 30.0,
    receive_buffer: int = RECEIVE_BUFFER,
) -> Config:
    """Hypercorn bound to ``host:port``: no access log (the metrics count
    requests), its error log through ``logging`` (a 500 must be seen),
    connections that send nothing for ``idle_seconds`` closed, and
    ``receive_buffer`` bytes of kernel buffer per connection."""
    config = _BoundedConfig()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 5.0
    config.read_timeout = int(idle_seconds)
    config.receive_buffer = receive_buffer
    return config


async def serve_until_signal(
    app: Any,
    *,
    host: str,
    port: int,
    background: Sequence[Callable[[], Coroutine[Any, Any, object]]] = (),
    idle_seconds: float = 30.0,
    receive_buffer: int = RECEIVE_BUFFER,
    stop: anyio.Event | None = None,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM (or until ``stop`` is set), with
    ``background`` tasks beside it."""
    stop = stop or anyio.Event()

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
            hypercorn_config(host, port, idle_seconds=idle_seconds, receive_buffer=receive_buffer),
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
