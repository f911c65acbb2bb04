"""`sre-agent tools list [--json]`: each configured MCP server and the tools it offers or withholds.

A server that fails to start is listed with its error; the others are listed as usual.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mcp_bridge.config import ServerConfig
    from mcp_bridge.toolbox import Toolbox


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser(
        "list",
        help="list every tool with its server, read-only status and description",
        description="Start the configured MCP servers and list their tools.",
    )
    listing.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.cli import BadInput
    from bot.settings import ConfigError, load_settings
    from mcp_bridge.config import McpConfigError, parse_servers

    try:
        servers = parse_servers(load_settings(args.config).mcp_servers)
    except (ConfigError, McpConfigError) as exc:
        raise BadInput(str(exc)) from None
    listing = asyncio.run(_listing(servers))
    if args.json:
        print(json.dumps(listing, indent=2))
    else:
        print(_as_text(listing))
    return 0


async def _listing(servers: Sequence[ServerConfig]) -> dict[str, Any]:
    from mcp_bridge.toolbox import Toolbox

    async with Toolbox.open(servers) as toolbox:
        return _describe(toolbox)


def _describe(toolbox: Toolbox) -> dict[str, Any]:
    catalog = toolbox.catalog()
    return {
        "servers": [
            {
                "name": status.name,
                "transport": status.transport,
                "state": status.state.value,
                "error": status.error,
                "tools": [
                    {
                        "name": entry.name,
                        "mcp_name": entry.mcp_name,
                        "description": entry.description,
                        "read_only": entry.read_only,
                        "destructive": entry.destructive,
                        "offered": entry.offered,
                        "withheld": entry.withheld,
                        "annotations": entry.annotations,
                    }
                    for entry in catalog
                    if entry.server == status.name
                ],
            }
            for status in toolbox.servers()
        ]
    }


def _as_text(listing: dict[str, Any]) -> str:
    lines: list[str] = []
    for server in listing["servers"]:
        tools = server["tools"]
        offered = sum(1 for tool in tools if tool["offered"])
        header = f"{server['name']} ({server['transport']}): {server['state'].replace('_', ' ')}"
        if server["error"]:
            header += f": {server['error']}"
        elif server["state"] == "ready":
            header += f", {offered} tools offered"
            if len(tools) > offered:
                header += f", {len(tools) - offered} withheld"
        lines.append(header)
        width = max((len(tool["name"]) for tool in tools), default=0)
        for tool in tools:
            summary = (tool["description"].splitlines() or [""])[0]
            if tool["offered"]:
                status = "read-only" if tool["read_only"] else "writes"
            else:
                status = "withheld"
                summary = f"{summary} [{tool['withheld']}]".strip()
            lines.append(f"  {tool['name']:<{width}}  {status:<9}  {summary}")
    return "\n".join(lines)
