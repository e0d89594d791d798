"""Secrets stay out of what is shown, logged and stored."""

from __future__ import annotations

import pytest

from attio_automate.attio.client import AttioClient, ClientSettings
from attio_automate.errors import AttioAPIError, ConfigError
from attio_automate.redact import scrub, shown_url
from attio_automate.store import open_store_url

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://runner:hunter2@db:5432/x", "postgresql://runner:***@db:5432/x"),
        (
            "postgresql://runner@db/x?password=hunter2&sslmode=require",
            "postgresql://runner@db/x?password=***&sslmode=require",
        ),
        ("postgresql://u:hun/ter#2?x@db/x", "postgresql://u:***@db/x"),
        ("postgresql://u:p@ss@db/x", "postgresql://u:***@db/x"),
        ("sqlite:///var/lib/runner.db", "sqlite:///var/lib/runner.db"),
        ("postgres ql://u:hunter2@db", "<not a URL>"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_a_mistyped_scheme_does_not_print_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        open_store_url("postgress://runner:hunter2@db/x")
    assert "hunter2" not in str(caught.value)


def test_scrub_replaces_each_secret_in_nested_data() -> None:
    data = {"message": "bad key sk-live-1234567890", "list": ["sk-live-1234567890"], "n": 3}
    assert scrub(data, ["sk-live-1234567890", "short"]) == {
        "message": "bad key ***",
        "list": ["***"],
        "n": 3,
    }


async def test_an_api_key_echoed_in_an_error_never_reaches_the_error() -> None:
    import httpx
    import respx

    key = "sk-live-echoed-0123456789"
    routes = respx.MockRouter(base_url="https://api.attio.test/v2")
    routes.get("/self").mock(
        return_value=httpx.Response(
            401,
            json={
                "status_code": 401,
                "type": "auth_error",
                "code": "invalid_token",
                "message": f"token Bearer {key} is not valid",
            },
        )
    )
    settings = ClientSettings(base_url="https://api.attio.test/v2")
    async with AttioClient(
        api_key=key, settings=settings, transport=httpx.MockTransport(routes.async_handler)
    ) as attio:
        with pytest.raises(AttioAPIError) as caught:
            await attio.get_self()
    assert key not in str(caught.value)
    assert key not in str(caught.value.as_dict())
    assert caught.value.message == "token Bearer *** is not valid"
