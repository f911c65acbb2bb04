"""Which MCP tools the agent may call. Read-only by default, enforced here in code, not in a prompt.

The rule, in order (the first that applies withholds the tool):
1. A tool annotated `destructiveHint: true` is withheld, unless a person opted in twice: the server
   is `read_only: false` AND `allow_tools` names the tool exactly (not through a glob).
2. On a `read_only` server (the default) a tool not annotated `readOnlyHint: true` is withheld.
   No annotations means "may change things", as the MCP spec's defaults say.
3. When `allow_tools` is given, a tool that matches none of its globs is withheld.
4. A tool that matches a `deny_tools` glob is withheld.
Globs (fnmatch, case-sensitive) match the server's own tool name (`get_pod`) or the offered name
(`kubernetes_get_pod`). A withheld tool is not offered to the agent, and calling it by name through
the toolbox is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from mcp import types

from mcp_bridge.config import ServerConfig


def review(tool: types.Tool, server: ServerConfig, offered_name: str) -> str | None:
    """None when the tool may be offered; otherwise why it is withheld, said for a person."""
    names = (tool.name, offered_name)
    annotations = tool.annotations
    if annotations is not None and annotations.destructiveHint is True:
        named_exactly = any(name in server.allow_tools for name in names)
        if server.read_only or not named_exactly:
            return (
                "destructive (annotated destructiveHint: true); offered only when the server is "
                f"read_only: false and allow_tools names {offered_name} exactly"
            )
    elif server.read_only and not is_read_only(tool):
        return (
            "not annotated readOnlyHint: true and the server is read_only; a person may set "
            f"read_only: false on mcpServers.{server.name} to allow tools that change things"
        )
    if server.allow_tools and not _matches(names, server.allow_tools):
        return f"not matched by mcpServers.{server.name}.allow_tools"
    if pattern := _first_match(names, server.deny_tools):
        return f"matched by mcpServers.{server.name}.deny_tools pattern {pattern!r}"
    return None


def is_read_only(tool: types.Tool) -> bool:
    annotations = tool.annotations
    return (
        annotations is not None
        and annotations.readOnlyHint is True
        and annotations.destructiveHint is not True
    )


def is_destructive(tool: types.Tool) -> bool:
    return tool.annotations is not None and tool.annotations.destructiveHint is True


def _matches(names: Sequence[str], patterns: Sequence[str]) -> bool:
    return _first_match(names, patterns) is not None


def _first_match(names: Sequence[str], patterns: Sequence[str]) -> str | None:
    for pattern in patterns:
        if any(fnmatchcase(name, pattern) for name in names):
            return pattern
    return None
