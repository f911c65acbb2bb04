"""The MCP servers sre-agent ships: `kubernetes` and `prometheus`, each runnable over stdio."""
