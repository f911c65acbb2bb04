"""`python -m mcp_bridge.servers.kubernetes`: the kubernetes MCP server over stdio, configured
from the process environment (KUBECONFIG, SRE_AGENT_KUBE_CONTEXT, SRE_AGENT_KUBE_TIMEOUT_S)."""

from __future__ import annotations

import os
import sys

from .client import ConfigurationError
from .server import build_server


def main() -> int:
    try:
        server = build_server(os.environ)
    except ConfigurationError as exc:
        print(f"kubernetes MCP server: {exc}", file=sys.stderr)
        return 2
    server.run("stdio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
