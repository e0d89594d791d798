"""The PostgreSQL store's channel: ``LISTEN`` for what other runners say.

One connection of its own listens; its messages go to the store's
subscribers.  The connection can be lost (a restart of the database, a network
cut) and is won back lazily, when the store next looks for work; subscribers
are then told :data:`~attio_automate.store.base.RESYNC`, since they may have
missed messages meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg

from attio_automate.store.base import RESYNC

log = logging.getLogger("attio_automate.store.postgres")

#: The channel every runner of one database listens on.
CHANNEL = "attio_automate"
#: Seconds between tries to win back a lost connection.
LISTEN_RETRY = 2.0


class PgChannel:
    """Listens on :data:`CHANNEL` and tells subscribers what it hears."""

    def __init__(
        self, url: str, *, server_settings: Mapping[str, str], connect_timeout: float
    ) -> None:
        self._url = url
        self._settings = dict(server_settings)
        self._timeout = connect_timeout
        self._connection: Any = None
        #: Between open and close: a lost connection is to be won back.
        self._listening = False
        self._tried_at = float("-inf")
        self._subscribers: list[Callable[[str], None]] = []

    def subscribe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback`` with every message heard."""
        self._subscribers.append(callback)

    async def open(self) -> None:
        self._connection = await self._listen()
        self._listening = True

    async def close(self) -> None:
        self._listening = False
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def keep_listening(self) -> None:
        """Win the channel back if its connection was lost: without it, this
        runner would miss other runners' schema changes for good.  Tried at
        most every :data:`LISTEN_RETRY` seconds."""
        if not self._listening or not self._connection.is_closed():
            return
        started = time.monotonic()
        if started - self._tried_at < LISTEN_RETRY:
            return
        self._tried_at = started
        try:
            self._connection = await self._listen()
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("cannot listen for other runners' messages yet: %s", exc)
            return
        log.info("listening for other runners' messages again")
        self.tell(RESYNC)

    def tell(self, message: str) -> None:
        """Give ``message`` to every subscriber (one that fails is logged)."""
        for callback in list(self._subscribers):
            try:
                callback(message)
            except Exception:
                log.exception("a store subscriber failed")

    async def _listen(self) -> Any:
        connection = await asyncpg.connect(
            self._url, server_settings=self._settings, timeout=self._timeout
        )
        await connection.add_listener(CHANNEL, self._on_notify)
        return connection

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.tell(payload)
