"""MCP client side (sessions, policy, redaction, LangChain tools) and the bundled MCP servers.

Never imports `agent` or `bot`.
"""
