"""`sre-agent tools list [--json]` against real servers named in a config file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from tests.bridge.conftest import ops_stdio


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    path = tmp_path / "sre-agent.yaml"
    servers = {
        "kubernetes": {"enabled": False},
        "ops": ops_stdio(deny_tools=["big"]),
        "broken": {"command": "/nonexistent/bin/mcp-server"},
    }
    path.write_text(yaml.safe_dump({"mcpServers": servers}, sort_keys=False))
    return path


def test_tools_list_shows_each_server_and_tool_with_read_only_status(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_file), "tools", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "kubernetes (in-process): disabled" in out
    assert (
        "prometheus (in-process): not configured: set PROMETHEUS_URL (in the environment, or in "
        "mcpServers.prometheus.env)" in out
    )
    assert "ops (stdio): ready, 13 tools offered, 4 withheld" in out
    rows = {line.split()[0]: line for line in out if line.startswith("  ")}
    assert rows["ops_echo"].split()[1:] == ["read-only", "Echo", "the", "text", "back."]
    assert rows["ops_big"].split()[1] == "withheld"
    assert "[matched by mcpServers.ops.deny_tools pattern 'big']" in rows["ops_big"]
    assert "destructive" in rows["ops_delete_everything"]
    broken = [line for line in out if line.startswith("broken ")]
    assert broken == [
        "broken (stdio): failed: FileNotFoundError: [Errno 2] No such file or directory: "
        "'/nonexistent/bin/mcp-server'"
    ]


def test_tools_list_json_is_one_document(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_file), "tools", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    servers = {server["name"]: server for server in listing["servers"]}
    assert list(servers) == ["kubernetes", "prometheus", "ops", "broken"]
    assert servers["broken"]["state"] == "failed"
    assert "No such file or directory" in servers["broken"]["error"]
    tools = {tool["name"]: tool for tool in servers["ops"]["tools"]}
    assert tools["ops_pid"] == {
        "name": "ops_pid",
        "mcp_name": "pid",
        "description": "The server's process id.",
        "read_only": True,
        "destructive": False,
        "offered": True,
        "withheld": None,
        "annotations": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True},
    }
    assert tools["ops_scale"]["offered"] is False
    assert "readOnlyHint" in tools["ops_scale"]["withheld"]


def test_bad_mcp_config_exits_2_naming_the_server_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sre-agent.yaml"
    path.write_text(yaml.safe_dump({"mcpServers": {"ops": {"command": "x", "allow": ["*"]}}}))
    assert main(["--config", str(path), "tools", "list"]) == 2
    assert "mcpServers.ops.allow: unknown field" in capsys.readouterr().err


def test_missing_secret_variable_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_TOKEN", raising=False)
    path = tmp_path / "sre-agent.yaml"
    entry = {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "${NOT_SET_TOKEN}"}}
    path.write_text(yaml.safe_dump({"mcpServers": {"remote": entry}}))
    assert main(["--config", str(path), "tools", "list"]) == 2
    assert "${NOT_SET_TOKEN} is not set" in capsys.readouterr().err
