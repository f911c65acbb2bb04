"""Independent MCP servers from public registries, configured like a user would, over stdio.

`mcp-server-time` (PyPI) needs mcp 2.x, so it runs from its own virtual environment; the bridge
speaks mcp 1.x to it over the wire. `@modelcontextprotocol/server-everything` (npm) is the MCP
reference server: 13 tools, some annotated as changing things, long-running ones, images.
Both are installed by `make interop`; without them these tests skip and say so.
"""

from __future__ import annotations

import json
import secrets
import shutil
import string
from pathlib import Path
from typing import Any

import pytest

from mcp_bridge.sessions import ServerState
from mcp_bridge.toolbox import Toolbox
from tests.bridge.conftest import configs

REPO = Path(__file__).resolve().parents[2]
TIME_SERVER = REPO / ".venv-interop" / "bin" / "mcp-server-time"
EVERYTHING_SERVER = REPO / "tests" / "interop" / "node" / "node_modules" / ".bin"
EVERYTHING_SERVER = EVERYTHING_SERVER / "mcp-server-everything"

needs_time_server = pytest.mark.skipif(
    not TIME_SERVER.exists(),
    reason="mcp-server-time is not installed in .venv-interop: run `make interop` (needs PyPI)",
)
needs_everything_server = [
    pytest.mark.node,
    pytest.mark.skipif(
        shutil.which("node") is None or not EVERYTHING_SERVER.exists(),
        reason="server-everything is not installed: run `make interop` (needs node and npm)",
    ),
]


def everything(**policy: Any) -> dict[str, Any]:
    return {"command": str(EVERYTHING_SERVER), "args": ["stdio"], **policy}


@needs_time_server
async def test_mcp_server_time_from_pypi_is_listed_and_called() -> None:
    servers = configs({"time": {"command": str(TIME_SERVER), "args": ["--local-timezone=UTC"]}})
    async with Toolbox.open(servers) as toolbox:
        assert toolbox.server("time").state is ServerState.READY
        tools = {tool.name: tool for tool in toolbox.tools()}
        assert sorted(tools) == ["time_convert_time", "time_get_current_time"]
        assert tools["time_get_current_time"].metadata["read_only"] is True  # type: ignore[index]

        now = await toolbox.call("time_get_current_time", {"timezone": "Europe/Paris"})
        assert now.status == "success"
        assert now.structured["timezone"] == "Europe/Paris"
        assert json.loads(now.text)["datetime"] == now.structured["datetime"]

        wrong = await toolbox.call("time_get_current_time", {"timezone": "Mars/Olympus_Mons"})
        assert wrong.status == "error"
        assert "Mars/Olympus_Mons" in wrong.text


class TestServerEverything:
    pytestmark = needs_everything_server

    async def test_tools_that_change_things_are_withheld_and_read_only_ones_offered(self) -> None:
        async with Toolbox.open(configs({"everything": everything()})) as toolbox:
            catalog = {entry.mcp_name: entry for entry in toolbox.catalog()}
            assert len(catalog) == 13
            withheld = sorted(name for name, entry in catalog.items() if not entry.offered)
            assert withheld == [
                "gzip-file-as-resource",
                "simulate-research-query",
                "toggle-simulated-logging",
                "toggle-subscriber-updates",
            ]
            assert toolbox.server("everything").tools_offered == 9
            echo = await toolbox.call("everything_echo", {"message": "hello from sre-agent"})
            assert (echo.status, echo.text) == ("success", "Echo: hello from sre-agent")

    async def test_read_only_false_offers_them(self) -> None:
        async with Toolbox.open(configs({"everything": everything(read_only=False)})) as toolbox:
            assert toolbox.server("everything").tools_offered == 13

    async def test_secrets_in_a_third_party_servers_output_are_redacted(self) -> None:
        token = "ghp_" + "".join(secrets.choice(string.ascii_letters) for _ in range(36))
        password = secrets.token_urlsafe(12)
        env = {"GITHUB_TOKEN": token, "DATABASE_URL": f"postgres://app:{password}@db:5432/app"}
        async with Toolbox.open(configs({"everything": everything(env=env)})) as toolbox:
            result = await toolbox.call("everything_get-env")
        assert result.status == "success"
        assert token not in result.text
        assert password not in result.text
        assert '"GITHUB_TOKEN": "[REDACTED:github_token]"' in result.text
        assert "postgres://app:[REDACTED:url_password]@db:5432/app" in result.text

    async def test_long_running_operation_times_out_and_the_session_keeps_working(self) -> None:
        entry = everything(timeout_s=0.5)
        async with Toolbox.open(configs({"everything": entry})) as toolbox:
            slow = await toolbox.call(
                "everything_trigger-long-running-operation", {"duration": 5, "steps": 5}
            )
            assert slow.status == "error"
            assert "timed out: no answer within 0.5s" in slow.text
            echo = await toolbox.call("everything_echo", {"message": "still here"})
            assert echo.status == "success"

    async def test_structured_content_and_images_become_artifact_and_text(self) -> None:
        async with Toolbox.open(configs({"everything": everything()})) as toolbox:
            weather = await toolbox.call(
                "everything_get-structured-content", {"location": "Chicago"}
            )
            assert weather.status == "success"
            assert isinstance(weather.structured, dict)
            assert "temperature" in weather.structured
            assert json.loads(weather.text) == weather.structured
            image = await toolbox.call("everything_get-tiny-image")
            assert image.status == "success"
            assert "[image image/png, " in image.text

    async def test_invalid_arguments_come_back_as_an_error_result(self) -> None:
        async with Toolbox.open(configs({"everything": everything()})) as toolbox:
            result = await toolbox.call("everything_get-sum", {"a": "one", "b": 2})
            assert result.status == "error"
