"""The record cache: Attio records and list entries by id, kept briefly,
forgotten the moment a webhook names them (see :mod:`.records`)."""

from attio_automate.cache.backend import CacheBackend, MemoryBackend
from attio_automate.cache.records import RecordCache, RecordReader, invalidated_by, open_cache

__all__ = [
    "CacheBackend",
    "MemoryBackend",
    "RecordCache",
    "RecordReader",
    "invalidated_by",
    "open_cache",
]
