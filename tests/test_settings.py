"""Settings: environment over the YAML file, and errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sre-agent.yaml"
    path.write_text(text)
    return path


def test_environment_overrides_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "limits: {max_iterations: 5, max_tool_calls: 9}\n")
    monkeypatch.setenv("SRE_AGENT_LIMITS__MAX_ITERATIONS", "7")
    settings = load_settings(path)
    assert settings.limits.max_iterations == 7
    assert settings.limits.max_tool_calls == 9


def test_mcp_servers_are_read_in_the_common_shape(tmp_path: Path) -> None:
    path = write(tmp_path, "mcpServers:\n  time: {command: mcp-server-time, args: ['--x']}\n")
    assert load_settings(path).mcp_servers == {
        "time": {"command": "mcp-server-time", "args": ["--x"]}
    }


def test_unknown_setting_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_iteratoins"):
        load_settings(write(tmp_path, "limits: {max_iteratoins: 3}\n"))


def test_out_of_range_value_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"limits\.max_iterations"):
        load_settings(write(tmp_path, "limits: {max_iterations: 0}\n"))


def test_config_file_that_is_not_yaml_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "limits: [unclosed\n"))


def test_missing_config_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml"):
        load_settings(tmp_path / "nope.yaml")


def test_github_token_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_abcdefghijklmnopqrstuvwxyz0123456789")
    settings = load_settings()
    assert settings.github_token is not None
    assert "ghp_" not in repr(settings)
    assert settings.github_token.get_secret_value().startswith("ghp_")


def test_list_settings_accept_comma_separated_environment_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SRE_AGENT_RUNBOOK_DIRS", "/etc/runbooks, /srv/runbooks")
    monkeypatch.setenv("SRE_AGENT_RUNBOOK_ALLOWED_HOSTS", "wiki.example.com,docs.example.com")
    settings = load_settings()
    assert [str(p) for p in settings.runbook_dirs] == ["/etc/runbooks", "/srv/runbooks"]
    assert settings.runbook_allowed_hosts == ["wiki.example.com", "docs.example.com"]


def test_an_environment_value_that_cannot_be_decoded_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SRE_AGENT_LIMITS", "not json")
    with pytest.raises(ConfigError, match="limits"):
        load_settings()


def test_leases_default_to_a_minute_renewed_every_fifteen_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SRE_AGENT_LEASE_S", "SRE_AGENT_LEASE_RENEW_S", "SRE_AGENT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.lease_s, settings.lease_renew_s) == (60.0, 15.0)


def test_a_lease_renewed_no_sooner_than_it_expires_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SRE_AGENT_CONFIG", raising=False)
    monkeypatch.setenv("SRE_AGENT_LEASE_S", "20")
    monkeypatch.setenv("SRE_AGENT_LEASE_RENEW_S", "20")
    with pytest.raises(ConfigError, match=r"lease_renew_s.*below lease_s \(20\)"):
        load_settings()
