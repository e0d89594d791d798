from __future__ import annotations

from typing import Any

from attio_automate.attio.schema import AttributeInfo
from attio_automate.attio.values import simplify_values, to_input_values


def info(slug: str, kind: str, multi: bool = False) -> AttributeInfo:
    return AttributeInfo(
        id=slug,
        slug=slug,
        title=slug,
        type=kind,
        is_multiselect=multi,
        is_unique=False,
        relationship_object="companies",
    )


def test_simplify_single_and_multiselect() -> None:
    raw: dict[str, list[dict[str, Any]]] = {
        "name": [
            {
                "attribute_type": "personal-name",
                "first_name": "Ada",
                "last_name": "L",
                "full_name": "Ada L",
            }
        ],
        "email_addresses": [{"attribute_type": "email-address", "email_address": "a@x.io"}],
        "stage": [{"attribute_type": "status", "status": {"title": "Lead"}}],
        "value": [{"attribute_type": "currency", "currency_value": 12}],
        "company": [
            {
                "attribute_type": "record-reference",
                "target_object": "companies",
                "target_record_id": "c1",
            }
        ],
        "job_title": [],
    }
    attributes = {"email_addresses": info("email_addresses", "email-address", multi=True)}
    simple = simplify_values(raw, attributes)
    assert simple == {
        "name": {"first_name": "Ada", "last_name": "L", "full_name": "Ada L"},
        "email_addresses": ["a@x.io"],
        "stage": "Lead",
        "value": 12,
        "company": {"object": "companies", "record_id": "c1"},
        "job_title": None,
    }


def test_simple_values_become_attio_write_objects() -> None:
    assert to_input_values(info("e", "email-address", True), ["a@x.io", "b@y.io"]) == [
        {"email_address": "a@x.io"},
        {"email_address": "b@y.io"},
    ]
    assert to_input_values(info("s", "status"), "Lead") == [{"status": "Lead"}]
    assert to_input_values(info("o", "select"), "B2B") == [{"option": "B2B"}]
    assert to_input_values(info("d", "domain"), "acme.io") == [{"domain": "acme.io"}]
    assert to_input_values(info("v", "currency"), 5) == [{"currency_value": 5}]
    assert to_input_values(info("n", "personal-name"), "Ada Lovelace") == [
        {"first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace"}
    ]
    assert to_input_values(info("c", "record-reference"), "r1") == [
        {"target_object": "companies", "target_record_id": "r1"}
    ]
    assert to_input_values(info("t", "text"), None) == []
    assert to_input_values(info("t", "text"), {"value": "as is"}) == [{"value": "as is"}]
