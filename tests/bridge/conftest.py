"""Fixtures for the bridge tests: the `ops` test server over stdio, in-process and over HTTP."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from mcp_bridge.config import ServerConfig, parse_servers
from tests.bridge.servers.ops import build_server

OPS_SERVER = Path(__file__).parent / "servers" / "ops.py"
# The bundled servers are off unless a test turns them on: these tests are about the bridge.
NO_BUNDLED: dict[str, dict[str, Any]] = {
    "kubernetes": {"enabled": False},
    "prometheus": {"enabled": False},
}


def ops_stdio(**policy: Any) -> dict[str, Any]:
    """An mcpServers entry that runs the ops test server as a child process."""
    return {"command": sys.executable, "args": [str(OPS_SERVER)], **policy}


def ops_in_process(**policy: Any) -> dict[str, Any]:
    return {"module": "tests.bridge.servers.ops", **policy}


def configs(
    entries: Mapping[str, Mapping[str, Any]], environ: Mapping[str, str] | None = None
) -> list[ServerConfig]:
    """Parsed configs for `entries` alone (bundled servers off unless an entry names them)."""
    raw = {**NO_BUNDLED, **entries}
    return [
        server
        for server in parse_servers(raw, environ=environ or {})
        if server.name in entries or server.enabled
    ]


async def until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    """Wait for something outside this process (a port, a process exit) to become true."""
    async with asyncio.timeout(timeout_s):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


@pytest.fixture
async def ops_http_url() -> AsyncIterator[str]:
    """The ops test server speaking streamable HTTP on 127.0.0.1 (a free port)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    app = build_server({}).streamable_http_app()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    await until(lambda: server.started)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    await serving
    listener.close()
