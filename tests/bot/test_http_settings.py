"""The HTTP endpoint's and the logs' settings, from the environment as the issue names them."""

from __future__ import annotations

import pytest

from bot.settings import ConfigError, load_settings


def test_defaults_listen_on_loopback_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SRE_AGENT_HTTP_HOST", "SRE_AGENT_HTTP_PORT", "SRE_AGENT_HTTP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.http_host, settings.http_port, settings.http_token) == (
        "127.0.0.1",
        8080,
        None,
    )
    assert settings.http_max_body_bytes == 1024 * 1024


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRE_AGENT_HTTP_HOST", "0.0.0.0")  # noqa: S104 - a setting, not a bind
    monkeypatch.setenv("SRE_AGENT_HTTP_PORT", "9099")
    monkeypatch.setenv("SRE_AGENT_HTTP_TOKEN", "  0123456789abcdef0123  ")
    monkeypatch.setenv("SRE_AGENT_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.http_host == "0.0.0.0"  # noqa: S104
    assert settings.http_port == 9099
    assert settings.http_token is not None
    assert settings.http_token.get_secret_value() == "0123456789abcdef0123"
    assert settings.log_level == "debug"
    assert "0123456789abcdef0123" not in repr(settings)


def test_an_empty_token_is_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRE_AGENT_HTTP_TOKEN", "")
    assert load_settings().http_token is None


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SRE_AGENT_HTTP_TOKEN", "short", "http_token: Value error, must be at least 16"),
        ("SRE_AGENT_GRAFANA_WEBHOOK_SECRET", "short", "grafana_webhook_secret"),
        ("SRE_AGENT_HTTP_PORT", "70000", "http_port"),
        ("SRE_AGENT_HTTP_MAX_BODY_BYTES", "10", "http_max_body_bytes"),
        ("SRE_AGENT_LOG_LEVEL", "loud", "log_level"),
        ("SRE_AGENT_LOG_FORMAT", "xml", "log_format"),
    ],
)
def test_bad_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=says):
        load_settings()
