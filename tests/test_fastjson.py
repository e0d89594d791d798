"""fastjson: orjson's speed, and nothing that ``json`` read or wrote refused."""

from __future__ import annotations

import math

import pytest

from attio_automate.fastjson import dumps, loads


def test_round_trips_attio_values() -> None:
    values = {
        "name": [{"full_name": "Ada Lovelace", "active_until": None}],
        "score": [{"value": 1.5}],
        "tags": ["é", "☃"],
    }
    assert loads(dumps(values)) == values
    assert loads(dumps(values).encode()) == values


def test_what_orjson_refuses_still_goes_through() -> None:
    assert math.isinf(loads(b'{"a": 1e400}')["a"])
    assert loads(dumps({"n": 2**70})) == {"n": 2**70}
    assert loads(dumps({1: "one"})) == {"1": "one"}


def test_what_is_not_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="line 1 column 1"):
        loads(b"<html>bad gateway</html>")
