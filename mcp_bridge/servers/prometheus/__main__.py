"""`python -m mcp_bridge.servers.prometheus`: the Prometheus MCP server over stdio."""

import os

from .server import build_server

if __name__ == "__main__":
    build_server(os.environ).run("stdio")
