from __future__ import annotations

from pathlib import Path

import pytest

from attio_automate.errors import ConfigError
from attio_automate.settings import load_settings


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
    settings = load_settings(config, environ=env, overrides={"port": 9000, "host": None})
    assert settings.environment == "production"
    assert settings.concurrency == 16
    assert settings.store_url == "sqlite:///from-env.db"
    assert settings.rules_path == str(tmp_path / "rules.yaml")
    assert settings.port == 9000
    assert settings.host == "127.0.0.1"
    assert settings.webhook_secrets == ("a", "b")


def test_secrets_never_show() -> None:
    settings = load_settings(
        environ={"ATTIO_API_KEY": "sk-secret", "ATTIO_WEBHOOK_SECRET": "whsec"}
    )
    shown = settings.redacted()
    assert shown["api_key"] == "<set>"
    assert shown["webhook_secrets"] == "<1 set>"
    assert "sk-secret" not in repr(settings)
    assert "whsec" not in repr(settings)


def test_bad_config_is_explained(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("dispatcher:\n  concurrency: 0\n  colour: red\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    text = "\n".join(caught.value.problems)
    assert f"{config}:2:16: dispatcher.concurrency: 0 is less than the minimum of 1" in text
    assert "colour" in text
    with pytest.raises(ConfigError, match="ATTIO_AUTOMATE_ENV='prod'"):
        load_settings(environ={"ATTIO_AUTOMATE_ENV": "prod"})
