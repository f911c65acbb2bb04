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


class OpsHttpServer:
    """The ops test server speaking streamable HTTP on 127.0.0.1; it can stop and come back on
    the same port (a fresh server that knows none of the old sessions)."""

    def __init__(self) -> None:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.bind(("127.0.0.1", 0))
        self.port: int = probe.getsockname()[1]
        probe.close()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task[None] | None = None
        self._listener: socket.socket | None = None

    async def start(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen()
        app = build_server({}).streamable_http_app()
        server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on"))
        self._server = server
        self._serving = asyncio.create_task(server.serve(sockets=[self._listener]))
        await until(lambda: server.started)

    async def stop(self) -> None:
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            await self._serving
        if self._listener is not None:
            self._listener.close()
        self._server = self._serving = self._listener = None


@pytest.fixture
async def ops_http() -> AsyncIterator[OpsHttpServer]:
    server = OpsHttpServer()
    await server.start()
    yield server
    await server.stop()
