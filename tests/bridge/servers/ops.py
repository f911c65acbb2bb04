"""A small MCP server for the bridge tests: read-only tools that sleep, crash, fail, leak secrets
or return nothing, plus tools that change things (unannotated, writing, destructive).

Runs in-process (`build_server(env)`), over stdio (`python ops.py`) or streamable HTTP (the tests
serve `build_server(env).streamable_http_app()`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from typing import Annotated

from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True)
WRITES = ToolAnnotations(readOnlyHint=False, destructiveHint=False)
DESTROYS = ToolAnnotations(readOnlyHint=False, destructiveHint=True)


class Count(BaseModel):
    count: int


class Leak(BaseModel):
    log: str
    password: str
    pod: str


def build_server(env: Mapping[str, str]) -> FastMCP:
    server = FastMCP("ops", host="127.0.0.1", log_level="WARNING")

    @server.tool(annotations=READ_ONLY)
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool(name="ops.pid", annotations=READ_ONLY)
    def dotted_pid() -> int:
        """The server's process id, under a dotted name (offered as <server>_ops_pid)."""
        return os.getpid()

    @server.tool(annotations=READ_ONLY)
    async def sleep(seconds: float) -> str:
        """Wait, then say so."""
        await asyncio.sleep(seconds)
        return f"slept {seconds}"

    @server.tool(annotations=READ_ONLY)
    def echo(text: str) -> str:
        """Echo the text back."""
        return text

    @server.tool(annotations=READ_ONLY)
    def option(name: str) -> str:
        """The value of an option the server was built with (its env mapping)."""
        return env.get(name, "<unset>")

    @server.tool(annotations=READ_ONLY)
    def header(name: str, ctx: Context) -> str:  # type: ignore[type-arg]
        """An HTTP request header as the server received it (streamable HTTP only)."""
        request = ctx.request_context.request
        return "<no request>" if request is None else request.headers.get(name, "<absent>")

    @server.tool(annotations=READ_ONLY)
    def crash() -> str:
        """Exit the server process at once."""
        print("crashing on purpose", file=sys.stderr, flush=True)
        os._exit(3)

    @server.tool(annotations=READ_ONLY)
    def fail(message: str) -> str:
        """Report a tool error."""
        raise ToolError(message)

    @server.tool(annotations=READ_ONLY)
    def nothing() -> list[str]:
        """An empty result."""
        return []

    @server.tool(annotations=READ_ONLY)
    def big(chars: int) -> str:
        """A long text."""
        return "x" * chars

    @server.tool(annotations=READ_ONLY)
    def leak(secret: str) -> Leak:
        """A result with a secret in it, the way logs and configs carry them."""
        return Leak(
            log=f"GET /orders Authorization: Bearer {secret}",
            password=secret,
            pod="api-key-rotator-7d9f8b-x2k4q",
        )

    @server.tool(annotations=READ_ONLY)
    def arguments(config: str, run_manager: str, callbacks: str) -> str:
        """Arguments whose names LangChain also uses internally."""
        return f"{config}|{run_manager}|{callbacks}"

    @server.tool()
    def note(text: str) -> str:
        """Write a note (no annotations: may change things)."""
        return f"noted {text}"

    @server.tool(annotations=WRITES)
    def scale(replicas: int) -> str:
        """Scale something (changes things, not destructive)."""
        return f"scaled to {replicas}"

    @server.tool(annotations=DESTROYS)
    def delete_everything() -> str:
        """Delete everything (destructive)."""
        return "deleted"

    @server.tool(annotations=READ_ONLY)
    def count(n: int = 3) -> Count:
        """Count up to n (a structured result that matches its output schema)."""
        return Count(count=n)

    @server.tool(annotations=READ_ONLY)
    def drifted() -> Annotated[CallToolResult, Count]:
        """A structured result that does not match the schema the server declares for it
        (returned as a finished CallToolResult, which the SDK's server does not re-check)."""
        return CallToolResult(
            content=[TextContent(type="text", text='{"count": 1}')],
            structuredContent={"count": 1},
        )

    # A buggy server: the schema it lists for `drifted` requires a field its results lack.
    declared = server._tool_manager.get_tool("drifted")
    assert declared is not None
    declared.fn_metadata.output_schema = {
        "type": "object",
        "properties": {"count": {"type": "integer"}, "total": {"type": "integer"}},
        "required": ["count", "total"],
    }

    return server


if __name__ == "__main__":
    build_server(os.environ).run()
