"""JSON in and out of the hot paths: orjson, with the standard library for
what orjson refuses.

Every answer from Attio is decoded, and every mirror row's values are
encoded into the sync database and decoded back to be compared.  With the
standard library that was about a fifth of a reconcile's CPU; orjson takes
a few times less for each.  It refuses a little that ``json`` accepts
(numbers beyond a double such as ``1e400``, integers beyond 64 bits when
encoding): those go to ``json`` instead, so nothing that decoded before
fails now.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(data: bytes | str) -> Any:
    """Decode JSON text (``ValueError`` when it is not JSON)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def dumps(value: Any) -> str:
    """Encode ``value`` as JSON text (keys that are not strings as strings,
    as ``json`` does)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)
