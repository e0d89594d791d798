"""What is mirrored where: the sync configuration as plain values.

The runner's settings check what the user wrote and build these; the sync
package takes them as given.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Conflicts = Literal["last_write_wins", "queue"]

#: Table and column names the mirror accepts: plain lower-case SQL names, so
#: that no quoting rule of either database is ever in play.
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

#: Columns every mirror table has; a configured column may not take these names.
OWN_COLUMNS = frozenset(
    {
        "record_id",
        "entry_id",
        "parent_record_id",
        "parent_object",
        "attio_values",
        "attio_updated_at",
        "synced_at",
        "deleted",
        "merged_into",
        "reconciled_in",
    }
)


@dataclass(frozen=True)
class MirrorSpec:
    """One mirrored object (its records) or list (its entries) and its table.

    ``columns`` maps a column name to the attribute slug it holds.
    """

    table: str
    columns: Mapping[str, str] = field(default_factory=dict)
    object: str | None = None
    list: str | None = None

    @property
    def source(self) -> str:
        """The object or list slug."""
        return self.list if self.list is not None else str(self.object)

    @property
    def is_list(self) -> bool:
        return self.list is not None

    @property
    def key(self) -> str:
        """The table's key column: ``record_id`` or ``entry_id``."""
        return "entry_id" if self.is_list else "record_id"

    def problems(self) -> builtins.list[str]:
        """What is wrong with this mirror as written (empty when it is fine)."""
        found = []
        if (self.object is None) == (self.list is None):
            found.append(f"mirror {self.table!r}: name an object: or a list:, one of the two")
        if not NAME.match(self.table):
            found.append(
                f"mirror table {self.table!r}: use lower-case letters, digits and _ "
                "(at most 63, not starting with a digit)"
            )
        for column in self.columns:
            if not NAME.match(column):
                found.append(f"mirror {self.table!r}: column {column!r} is not a plain SQL name")
            elif column in OWN_COLUMNS:
                found.append(
                    f"mirror {self.table!r}: column {column!r} is one the mirror keeps itself"
                )
        return found


@dataclass(frozen=True)
class SyncSpec:
    """The sync section: where the mirror lives and how it is kept."""

    database: str
    mirrors: tuple[MirrorSpec, ...] = ()
    #: Seconds between reconciles in ``serve`` (None: only ``sync run``).
    reconcile_every: float | None = None
    conflicts: Conflicts = "last_write_wins"
    #: Seconds between outbox polls where the database cannot notify (SQLite),
    #: and as a safety net where it can.
    poll_seconds: float = 1.0
    #: Records (or entries) per page the reconcile asks Attio for.
    page_size: int = 500

    def mirror_for(
        self, *, object: str | None = None, list: str | None = None
    ) -> MirrorSpec | None:
        """The mirror of this object or list slug, if there is one."""
        for mirror in self.mirrors:
            if list is not None and mirror.list == list:
                return mirror
            if object is not None and list is None and mirror.object == object:
                return mirror
        return None

    def problems(self) -> builtins.list[str]:
        found = [p for mirror in self.mirrors for p in mirror.problems()]
        tables = [m.table for m in self.mirrors]
        for table in sorted({t for t in tables if tables.count(t) > 1}):
            found.append(f"two mirrors write to the table {table!r}")
        sources = [(m.is_list, m.source) for m in self.mirrors]
        for is_list, source in sorted({s for s in sources if sources.count(s) > 1}):
            found.append(f"the {'list' if is_list else 'object'} {source!r} is mirrored twice")
        if {"attio_outbox", "attio_sync_state"} & set(tables):
            found.append("attio_outbox and attio_sync_state are the runner's own tables")
        return found
