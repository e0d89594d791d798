"""Stores: where events, the ledger and traces live."""

from __future__ import annotations

from urllib.parse import urlsplit

from attio_automate.errors import ConfigError
from attio_automate.store.base import (
    EventFilter,
    LedgerEntry,
    NewEvent,
    Store,
    StoredEvent,
    shown_url,
)
from attio_automate.store.sqlite import SQLiteStore

__all__ = [
    "EventFilter",
    "LedgerEntry",
    "NewEvent",
    "SQLiteStore",
    "Store",
    "StoredEvent",
    "open_store_url",
    "shown_url",
]


def open_store_url(url: str) -> Store:
    """The store for ``url``: ``sqlite:///relative/path``, ``sqlite:////abs/path``,
    ``sqlite:///:memory:``, or ``postgresql://user@host:5432/db[?search_path=schema]``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = url.split("://", 1)[1].removeprefix("/")
        if not path:
            raise ConfigError([f"store URL {url!r} names no file (sqlite:///path/to/file.db)"])
        return SQLiteStore(path)
    if parts.scheme in ("postgresql", "postgres"):
        # Imported here: SQLite users need not load the PostgreSQL driver.
        from attio_automate.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ConfigError(
        [
            f"store URL {shown_url(url)!r}: unsupported scheme {parts.scheme!r} "
            "(expected sqlite:///path or postgresql://...)"
        ]
    )
