"""Slack settings come from the environment names the Slack docs use."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import load_settings


def test_slack_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-2")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    monkeypatch.setenv("SRE_AGENT_ALERT_CHANNELS", " #alerts, C0123ABCD ,,prod-alerts ")
    monkeypatch.setenv("SRE_AGENT_HTTP_ALERT_CHANNEL", "#incidents")
    monkeypatch.setenv("SRE_AGENT_SLACK_ANSWER_ALL_REPLIES", "true")
    settings = load_settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-1"
    assert settings.slack_app_token is not None
    assert settings.slack_app_token.get_secret_value() == "xapp-1-2"
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.alert_channels == ["alerts", "C0123ABCD", "prod-alerts"]
    assert settings.http_alert_channel == "incidents"
    assert settings.slack_answer_all_replies is True
    assert "xoxb-1" not in repr(settings)


def test_defaults_watch_nothing_and_answer_only_mentions(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SRE_AGENT_ALERT_CHANNELS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.slack_bot_token is None
    assert settings.alert_channels == []
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.slack_answer_all_replies is False


def test_alert_channels_as_a_yaml_list(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("alert_channels: ['#alerts', C0123ABCD]\n")
    assert load_settings(path).alert_channels == ["alerts", "C0123ABCD"]
