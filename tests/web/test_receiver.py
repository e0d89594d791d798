"""The sans-I/O receiver: signatures, envelopes, keys."""

from __future__ import annotations

import pytest

from attio_automate.delivery import WebhookRejected, parse_delivery, sign, signature_valid
from attio_automate.testing.webhooks import delivery, record_event

BODY = delivery(
    [
        record_event("record.created", "o", "r1"),
        record_event("record.updated", "o", "r1", attribute_id="a"),
        {"event_type": "future.thing", "id": {"x": "1"}},
    ]
)


def test_signature_checks_every_secret_for_rotation() -> None:
    assert signature_valid(BODY, sign(BODY, "new"), ["old", "new"])
    assert signature_valid(BODY, sign(BODY, "old").upper(), ["old", "new"])
    assert not signature_valid(BODY, sign(BODY, "other"), ["old", "new"])
    assert not signature_valid(BODY + b" ", sign(BODY, "old"), ["old"])
    assert not signature_valid(BODY, None, ["old"])
    assert not signature_valid(BODY, sign(BODY, "old"), [])


def test_events_are_split_and_keyed() -> None:
    headers = {"attio-signature": sign(BODY, "s"), "idempotency-key": "delivery-7"}
    events = parse_delivery(headers, BODY, secrets=["s"], received_at=10.0)
    assert [e.key for e in events] == ["delivery-7:0", "delivery-7:1", "delivery-7:2"]
    assert [e.ordering_key for e in events] == ["record:r1", "record:r1", "type:future.thing"]
    assert events[2].event_type == "future.thing"  # unknown types are kept
    assert events[0].webhook_id == "webhook-test"


def test_without_idempotency_key_the_body_hash_keys_events() -> None:
    headers = {"x-attio-signature": sign(BODY, "s")}
    first = parse_delivery(headers, BODY, secrets=["s"], received_at=1.0)
    again = parse_delivery(headers, BODY, secrets=["s"], received_at=2.0)
    assert [e.key for e in first] == [e.key for e in again]
    assert first[0].key.endswith(":0")


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (BODY, {}, 401, "missing_signature"),
        (BODY, {"attio-signature": "deadbeef"}, 401, "bad_signature"),
        (b"{not json", None, 400, "malformed_json"),
        (b'{"events": "nope"}', None, 400, "invalid_envelope"),
        (b'{"events": [{"id": {}}]}', None, 400, "invalid_envelope"),
    ],
)
def test_bad_deliveries_are_refused(
    body: bytes, headers: dict[str, str] | None, status: int, reason: str
) -> None:
    if headers is None:
        headers = {"attio-signature": sign(body, "s")}
    with pytest.raises(WebhookRejected) as caught:
        parse_delivery(headers, body, secrets=["s"], received_at=0.0)
    assert (caught.value.status, caught.value.reason) == (status, reason)


@pytest.mark.parametrize(
    "payload",
    [
        {"events": []},
        {"webhook_id": "w", "events": [{"event_type": "x", "id": {}}]},
        {"events": [{"event_type": "x", "id": {}, "actor": None}]},
        {"events": [{"event_type": "x", "id": {}, "actor": {"type": "system"}, "extra": 1}]},
        [],
        {"events": "no"},
        {"webhook_id": 3, "events": []},
        {"webhook_id": None, "events": []},
        {"events": [{"event_type": "", "id": {}}]},
        {"events": [{"event_type": "x"}]},
        {"events": [{"event_type": "x", "id": []}]},
        {"events": [{"event_type": "x", "id": {}, "actor": "me"}]},
        {"events": [7]},
        {},
    ],
)
def test_the_fast_check_agrees_with_the_envelope_schema(payload: object) -> None:
    from attio_automate.delivery import _ENVELOPE, _envelope_ok

    assert _envelope_ok(payload) == _ENVELOPE.is_valid(payload)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"events": [{"event_type": "x", "id": {"n": NaN}}]}', "not valid JSON"),
        (b'{"events": [{"event_type": "x", "id": {"n": -Infinity}}]}', "not valid JSON"),
        (b'{"events": [{"event_type": "x\\u0000", "id": {}}]}', "\\u0000"),
        (b'{"events": [{"event_type": "x", "id": {"k": "\\ud800"}}]}', "lone surrogate"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_json_no_store_can_keep_is_refused_before_anything_is_stored(body: bytes, why: str) -> None:
    headers = {"attio-signature": sign(body, "s")}
    with pytest.raises(WebhookRejected) as caught:
        parse_delivery(headers, body, secrets=["s"], received_at=1.0)
    assert (caught.value.status, caught.value.reason) == (400, "malformed_json")
    assert why in caught.value.message


def test_escapes_that_are_fine_are_kept() -> None:
    # A surrogate pair (an emoji) and an escaped backslash before u0000 are fine.
    body = (
        b'{"events": [{"event_type": "record.created", '
        b'"id": {"name": "\\ud83c\\udf89", "path": "C:\\\\u0000"}}]}'
    )
    events = parse_delivery(
        {"attio-signature": sign(body, "s")}, body, secrets=["s"], received_at=1.0
    )
    assert events[0].payload["id"] == {"name": "🎉", "path": "C:\\u0000"}
