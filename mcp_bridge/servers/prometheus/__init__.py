"""The bundled Prometheus MCP server: read-only PromQL tools for any Prometheus-compatible API."""

from .server import build_server

__all__ = ["build_server"]
