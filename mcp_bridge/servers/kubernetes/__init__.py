"""The bundled read-only Kubernetes MCP server (`python -m mcp_bridge.servers.kubernetes`).

Importing this package is cheap: the MCP SDK and the Kubernetes client load in `build_server`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp.server.fastmcp import FastMCP


def build_server(env: Mapping[str, str]) -> FastMCP:
    """The `kubernetes` MCP server, configured only from `env` (KUBECONFIG,
    SRE_AGENT_KUBE_CONTEXT, SRE_AGENT_KUBE_TIMEOUT_S)."""
    from .server import build_server as build

    return build(env)


__all__ = ["build_server"]
