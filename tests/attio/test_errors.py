from __future__ import annotations

import httpx
import pytest

from attio_automate.clock import VirtualClock
from attio_automate.errors import AttioAPIError, AttioError, AttioServerError
from tests.attio.helpers import attio_error, mock_client

pytestmark = pytest.mark.anyio


async def test_attio_error_body_becomes_fields() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return attio_error(400, "validation_type", 'Invalid value for "email_addresses".')

    async with mock_client(handler, clock=VirtualClock()) as attio:
        with pytest.raises(AttioAPIError) as caught:
            await attio.create_record("people", {"email_addresses": ["nope"]})
    error = caught.value
    assert error.status_code == 400
    assert error.type == "invalid_request_error"
    assert error.code == "validation_type"
    assert error.message == 'Invalid value for "email_addresses".'
    assert not error.retryable
    assert error.method == "POST"
    assert error.url.endswith("/v2/objects/people/records")
    assert str(error) == 'Attio 400 validation_type: Invalid value for "email_addresses".'
    assert error.as_dict() == {
        "status_code": 400,
        "type": "invalid_request_error",
        "code": "validation_type",
        "message": 'Invalid value for "email_addresses".',
    }


async def test_non_json_error_body_still_gives_an_attio_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad gateway</html>")

    async with mock_client(handler, clock=VirtualClock()) as attio:
        with pytest.raises(AttioServerError) as caught:
            await attio.list_objects()
    assert caught.value.code == "http_502"
    assert "Bad gateway" in caught.value.message
    assert caught.value.type == "api_error"
    assert isinstance(caught.value, AttioError)


async def test_success_without_data_is_reported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"nothing": True})

    async with mock_client(handler, clock=VirtualClock()) as attio:
        with pytest.raises(AttioAPIError, match="no 'data'"):
            await attio.list_objects()


async def test_unauthorized_is_an_auth_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "bad token"})

    async with mock_client(handler, clock=VirtualClock()) as attio:
        with pytest.raises(AttioAPIError) as caught:
            await attio.get_self()
    assert (caught.value.status_code, caught.value.type, caught.value.message) == (
        401,
        "auth_error",
        "bad token",
    )


async def test_requests_carry_the_bearer_token_and_send_arrays() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"id": {}}})

    async with mock_client(handler, clock=VirtualClock()) as attio:
        await attio.update_record("people", "r1", {"job_title": ("CEO",)})
    assert seen[0].headers["authorization"] == "Bearer key"
    assert seen[0].method == "PATCH"
    import json

    assert json.loads(seen[0].content) == {"data": {"values": {"job_title": ["CEO"]}}}
