"""The toolbox: every configured MCP server's tools as LangChain tools, offered under the read-only
policy (`mcp_bridge.policy`), with redacted and capped results (`mcp_bridge.results`).

    async with Toolbox.open(parse_servers(settings.mcp_servers)) as toolbox:
        tools = toolbox.tools()              # LangChain BaseTools, named <server>_<tool>
        toolbox.servers()                    # ServerStatus per server, failed ones with the error
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from langchain_core.tools import BaseTool
from mcp import types
from mcp.shared.exceptions import McpError

from mcp_bridge import policy
from mcp_bridge.config import ServerConfig
from mcp_bridge.langchain_tool import McpTool
from mcp_bridge.redaction import DEFAULT_REDACTOR, Redactor
from mcp_bridge.results import ToolResult, error_result, from_call_result
from mcp_bridge.sessions import (
    CallTimedOut,
    ConnectionLost,
    ServerConnection,
    ServerState,
    ServerUnavailable,
    describe_error,
)

# LLM APIs accept function names of at most 64 characters from this alphabet.
_MAX_NAME = 64
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_MAX_DESCRIPTION = 1024


class ToolboxError(Exception):
    """A tool asked for by name cannot be called."""


class UnknownTool(ToolboxError, LookupError):
    """No server offers a tool by that name."""


class ToolRefused(ToolboxError, PermissionError):
    """The policy withholds the tool; the message says why and what a person may change."""


@dataclass(frozen=True)
class ToolEntry:
    """A tool a server lists, offered or withheld (with the reason)."""

    name: str
    server: str
    mcp_name: str
    description: str
    read_only: bool
    destructive: bool
    annotations: dict[str, Any]
    withheld: str | None = None

    @property
    def offered(self) -> bool:
        return self.withheld is None


@dataclass(frozen=True)
class ServerStatus:
    name: str
    transport: str
    state: ServerState
    error: str | None
    tools_offered: int
    tools_withheld: int
    restarts: int


class Toolbox:
    """Live sessions to the configured MCP servers, and their tools for the agent.

    Open with `Toolbox.open(servers)` (async context manager) or `await Toolbox.start(servers)`
    and later `await toolbox.aclose()` (from any task). Servers start concurrently; one that fails
    is recorded with its error and the others work. Tool calls never raise for a tool, server or
    transport failure: they return a result with status `error` that says what happened.
    """

    def __init__(self, servers: Sequence[ServerConfig], redactor: Redactor) -> None:
        names = [server.name for server in servers]
        if duplicates := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"MCP server names must be unique; repeated: {', '.join(duplicates)}")
        self._redactor = redactor
        self._connections = {
            server.name: ServerConnection(server, redactor=redactor) for server in servers
        }
        self._entries: dict[str, ToolEntry] = {}
        self._tools: dict[str, McpTool] = {}

    @classmethod
    async def start(
        cls, servers: Sequence[ServerConfig], *, redactor: Redactor | None = None
    ) -> Toolbox:
        """Start every enabled server concurrently and collect their tools."""
        toolbox = cls(servers, redactor or DEFAULT_REDACTOR)
        try:
            await asyncio.gather(*(c.start() for c in toolbox._connections.values()))
        except BaseException:
            await toolbox.aclose()
            raise
        toolbox._collect_tools()
        return toolbox

    @classmethod
    @asynccontextmanager
    async def open(
        cls, servers: Sequence[ServerConfig], *, redactor: Redactor | None = None
    ) -> AsyncIterator[Toolbox]:
        toolbox = await cls.start(servers, redactor=redactor)
        try:
            yield toolbox
        finally:
            await toolbox.aclose()

    async def aclose(self) -> None:
        """Shut every session down (stdio servers' processes too)."""
        await asyncio.gather(*(c.close() for c in self._connections.values()))

    def tools(self, patterns: Sequence[str] | None = None) -> list[BaseTool]:
        """The offered tools, optionally only those whose name matches one of the globs (a
        runbook's `tools:` list)."""
        return [
            tool
            for name, tool in self._tools.items()
            if patterns is None or any(fnmatchcase(name, p) for p in patterns)
        ]

    def tool(self, name: str) -> BaseTool:
        self._entry(name)
        return self._tools[name]

    def catalog(self) -> list[ToolEntry]:
        """Every tool the running servers list, offered or withheld, in configuration order."""
        return list(self._entries.values())

    def servers(self) -> list[ServerStatus]:
        return [self._status(c) for c in self._connections.values()]

    def server(self, name: str) -> ServerStatus:
        return self._status(self._connections[name])

    async def call(self, name: str, arguments: Mapping[str, Any] | None = None) -> ToolResult:
        """Call an offered tool by name. Raises UnknownTool or ToolRefused (a withheld tool);
        everything that goes wrong after that comes back as a result with status `error`."""
        return await self._invoke(self._entry(name), dict(arguments or {}))

    def _entry(self, name: str) -> ToolEntry:
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownTool(
                f"no MCP tool is named {name!r}; `sre-agent tools list` shows what there is"
            )
        if entry.withheld is not None:
            raise ToolRefused(f"{name} is refused: {entry.withheld}")
        return entry

    async def _invoke(self, entry: ToolEntry, arguments: dict[str, Any]) -> ToolResult:
        connection = self._connections[entry.server]
        config = connection.config
        try:
            # Checked again against what the server lists now: a restarted server may differ.
            current = {tool.name: tool for tool in await connection.ready_tools()}
            tool = current.get(entry.mcp_name)
            if tool is None:
                return error_result(
                    f"The {entry.server} server no longer offers {entry.mcp_name} (it was "
                    "restarted with a different tool list)."
                )
            if reason := policy.review(tool, config, entry.name):
                return error_result(f"Refused: {entry.name} is {reason}.")
            result = await connection.call_tool(entry.mcp_name, arguments)
        except CallTimedOut:
            return error_result(
                f"{entry.name} timed out: no answer within {config.timeout_s:g}s (timeout_s of "
                f"the {entry.server} server). Narrow the query (one namespace, a label selector, "
                "fewer lines, a shorter time range) and try again."
            )
        except ConnectionLost as exc:
            return self._error(
                f"The {entry.server} server went away during this call ({exc}); "
                "it is started again on the next call."
            )
        except ServerUnavailable as exc:
            return self._error(f"{entry.name} cannot run: {exc}.")
        except McpError as exc:
            return self._error(f"The {entry.server} server rejected the call: {exc.error.message}")
        except Exception as exc:  # noqa: BLE001 - a broken tool call is a result, not a crash
            return self._error(f"{entry.name} failed: {describe_error(exc)}")
        return from_call_result(result, max_chars=config.max_output_chars, redactor=self._redactor)

    def _error(self, message: str) -> ToolResult:
        return error_result(self._redactor.text(message))

    def _collect_tools(self) -> None:
        for connection in self._connections.values():
            if connection.state is not ServerState.READY:
                continue
            for tool in connection.tools:
                self._add(connection, tool)

    def _add(self, connection: ServerConnection, tool: types.Tool) -> None:
        name = offered_name(connection.name, tool.name)
        withheld = policy.review(tool, connection.config, name)
        if (earlier := self._entries.get(name)) is not None:
            withheld = (
                f"its name {name} is already taken by {earlier.mcp_name} of the "
                f"{earlier.server} server; rename one of the servers"
            )
            name = f"{name}#{connection.name}.{tool.name}"  # listed, never offered
        annotations = (
            tool.annotations.model_dump(exclude_none=True) if tool.annotations is not None else {}
        )
        entry = ToolEntry(
            name=name,
            server=connection.name,
            mcp_name=tool.name,
            description=(tool.description or tool.title or "").strip(),
            read_only=policy.is_read_only(tool),
            destructive=policy.is_destructive(tool),
            annotations=annotations,
            withheld=withheld,
        )
        self._entries[name] = entry
        if entry.offered:
            self._tools[name] = self._langchain_tool(entry, tool)

    def _langchain_tool(self, entry: ToolEntry, tool: types.Tool) -> McpTool:
        async def call(**arguments: Any) -> tuple[str, dict[str, Any]]:
            return (await self._invoke(entry, arguments)).as_content_and_artifact()

        description = entry.description or f"{tool.name} from the {entry.server} MCP server"
        if len(description) > _MAX_DESCRIPTION:
            description = description[: _MAX_DESCRIPTION - 1] + "…"
        return McpTool(
            name=entry.name,
            description=description,
            args_schema=_arguments_schema(tool.inputSchema),
            coroutine=call,
            response_format="content_and_artifact",
            metadata={
                "server": entry.server,
                "mcp_name": entry.mcp_name,
                "read_only": entry.read_only,
                "annotations": entry.annotations,
            },
        )

    def _status(self, connection: ServerConnection) -> ServerStatus:
        entries = [e for e in self._entries.values() if e.server == connection.name]
        offered = sum(1 for e in entries if e.offered)
        return ServerStatus(
            name=connection.name,
            transport=connection.config.transport.value,
            state=connection.state,
            error=connection.error,
            tools_offered=offered,
            tools_withheld=len(entries) - offered,
            restarts=connection.restarts,
        )


def offered_name(server: str, tool: str) -> str:
    """`<server>_<tool>`, in the characters and length LLM APIs accept for function names."""
    name = _NAME_CHARS.sub("_", f"{server}_{tool}")
    if len(name) > _MAX_NAME:
        digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]
        name = f"{name[: _MAX_NAME - 9]}_{digest}"
    return name


def _arguments_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The MCP input schema as the LLM sees it: an object with properties, without `$schema`."""
    arguments = {key: value for key, value in schema.items() if key != "$schema"}
    arguments.setdefault("type", "object")
    arguments.setdefault("properties", {})
    return arguments
