"""Settings: declared once, every source validated, each problem located."""

from __future__ import annotations

from pathlib import Path

import pytest

from attio_automate.errors import ConfigError
from attio_automate.settings import Settings, load_settings


def problems(*args: object, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(*args, **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


def test_layers_apply_in_order(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "store: {url: 'sqlite:///from-file.db'}\n"
        "dispatcher: {concurrency: 4}\n"
        "rules: {path: rules.yaml}\n"
        "environments:\n  production:\n    dispatcher: {concurrency: 16}\n"
    )
    env = {
        "ATTIO_AUTOMATE_ENV": "production",
        "ATTIO_API_KEY": "k",
        "ATTIO_WEBHOOK_SECRET": "a, b",
        "ATTIO_AUTOMATE_DB": "sqlite:///from-env.db",
    }
    settings = load_settings(
        config, environ=env, overrides={"server.port": 9000, "server.host": None}
    )
    assert settings.environment == "production"
    assert settings.dispatcher.concurrency == 16
    assert settings.store.url == "sqlite:///from-env.db"
    assert settings.rules.path == str(tmp_path / "rules.yaml")
    assert settings.server.port == 9000
    assert settings.server.host == "127.0.0.1"
    assert settings.secrets.webhook_secrets == ("a", "b")


def test_secrets_never_show() -> None:
    settings = load_settings(
        environ={"ATTIO_API_KEY": "sk-secret", "ATTIO_WEBHOOK_SECRET": "whsec"}
    )
    shown = settings.redacted()
    assert shown["secrets"]["api_key"] == "<set>"
    assert shown["secrets"]["webhook_secrets"] == "<1 set>"
    assert "sk-secret" not in repr(settings)
    assert "whsec" not in repr(settings)
    assert "sk-secret" not in str(shown)


def test_bad_config_is_explained(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("dispatcher:\n  concurrency: 0\n  colour: red\n")
    assert problems(config, environ={}) == [
        f"{config}:2:16: dispatcher.concurrency: Input should be greater than or equal to 1",
        f"{config}:3:11: dispatcher.colour: unknown setting 'colour'",
    ]
    with pytest.raises(ConfigError, match="ATTIO_AUTOMATE_ENV='prod'"):
        load_settings(environ={"ATTIO_AUTOMATE_ENV": "prod"})


def test_sections_and_values_are_checked_where_they_come_from(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "dispatcher:\n  concurrency: 0\n  colour: red\n"
        "environments:\n  prod:\n    store: {}\n  production:\n    server: {port: 99999}\n"
    )
    found = problems(config, environ={"ATTIO_AUTOMATE_ENV": "production"})
    assert found == [
        f"{config}:5:3: unknown environment 'prod' (one of: development, staging, production)"
    ]
    config.write_text(
        "dispatcher:\n  concurrency: 0\n  colour: red\n"
        "environments:\n  production:\n    server: {port: 99999}\n"
    )
    assert problems(config, environ={"ATTIO_AUTOMATE_ENV": "production"}) == [
        f"{config}:2:16: dispatcher.concurrency: Input should be greater than or equal to 1",
        f"{config}:3:11: dispatcher.colour: unknown setting 'colour'",
        f"{config}:6:20: server.port: Input should be less than or equal to 65535",
    ]
    config.write_text("stor: {url: x}\n")
    assert problems(config, environ={}) == [
        f"{config}:1:1: unknown section 'stor' (one of: store, server, receiver, attio, "
        "dispatcher, cache, rules, plugins, sync)"
    ]


def test_the_environment_and_flags_are_validated_too() -> None:
    found = problems(
        environ={
            "ATTIO_AUTOMATE_DB": "mysql://root:hunter2@db/attio",
            "ATTIO_BASE_URL": "api.attio.com",
        },
        overrides={"server.port": -1},
    )
    assert found == [
        "--port: server.port: Input should be greater than or equal to 0",
        "ATTIO_AUTOMATE_DB: store.url: 'mysql://root:***@db/attio' is not a store URL: use "
        "sqlite:///path/to/file.db or postgresql://user@host:5432/database",
        "ATTIO_BASE_URL: attio.base_url: 'api.attio.com' is not an http(s) URL",
    ]
    assert not any("hunter2" in p for p in found)


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings()
    assert (settings.server.max_body_bytes, settings.attio.rate_limit_fraction) == (1048576, 0.98)
    assert settings.server.receive_buffer_bytes == 8192
    assert (settings.dispatcher.max_attempts, settings.store.url) == (
        10,
        "sqlite:///attio-automate.db",
    )
