"""Sandboxes for the MCP server tests (one per module) and an in-memory MCP client session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from mcp.shared.memory import create_connected_server_and_client_session

from mcp_bridge.sandbox import Sandbox
from mcp_bridge.servers.kubernetes import build_server
from tests.sandbox.running import LAB, sandbox_in_thread


@pytest.fixture(scope="module")
def lab() -> Iterator[Sandbox]:
    with sandbox_in_thread(LAB) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def checkout() -> Iterator[Sandbox]:
    with sandbox_in_thread("checkout-oom") as sandbox:
        yield sandbox


@asynccontextmanager
async def kubernetes_session(kubeconfig: Path | None, **env: str) -> AsyncIterator[ClientSession]:
    settings = {"KUBECONFIG": str(kubeconfig)} if kubeconfig else {}
    server = build_server({**settings, **env})
    async with create_connected_server_and_client_session(server) as session:
        yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """The structured result of a tool call that must succeed."""
    result = await session.call_tool(tool, arguments)
    assert not result.isError, result.content
    assert result.structuredContent is not None
    return result.structuredContent


async def call_error(session: ClientSession, tool: str, **arguments: Any) -> str:
    """The message of a tool call that must fail."""
    result = await session.call_tool(tool, arguments)
    assert result.isError, result.structuredContent
    text = result.content[0].text  # type: ignore[union-attr]
    assert isinstance(text, str)
    return text
