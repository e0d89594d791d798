"""The sync database's engine: SQLAlchemy's async engine for the user's
PostgreSQL (asyncpg) or SQLite (aiosqlite), from the configured URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from attio_automate.errors import ConfigError
from attio_automate.fastjson import dumps, loads
from attio_automate.store.base import shown_url

#: Every mirror row's values go through these (see attio_automate.fastjson).
_JSON_CODEC: dict[str, Any] = {"json_serializer": dumps, "json_deserializer": loads}


def engine_for(url: str) -> tuple[AsyncEngine, str | None]:
    """An async engine for ``postgresql://...`` or ``sqlite:///...`` (and
    the PostgreSQL schema named by ``?search_path=``, if any)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError([f"sync.database: {shown_url(url)!r} is not a database URL"]) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        schema = parsed.query.get("search_path")
        rest = parsed.difference_update_query(["search_path"])
        settings = {"server_settings": {"search_path": str(schema)}} if schema else {}
        engine = create_async_engine(
            rest.set(drivername="postgresql+asyncpg"),
            connect_args=settings,
            pool_pre_ping=True,
            **_JSON_CODEC,
        )
        return engine, str(schema) if schema else None
    if backend == "sqlite":
        engine = create_async_engine(
            parsed.set(drivername="sqlite+aiosqlite"), connect_args={"timeout": 30}, **_JSON_CODEC
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _wal(connection: Any, _record: Any) -> None:
            # Readers (the CLI, the application) never block the runner's writes.
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine, None
    raise ConfigError(
        [f"sync.database: {shown_url(url)!r} is not a postgresql:// or sqlite:/// URL"]
    )
