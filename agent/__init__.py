"""Investigations: the alert model, the bounded loop, reasoners, runbooks, reports and the store.

This package knows langchain but never Slack, HTTP or MCP: tools arrive as LangChain tools.
"""
