"""Liveness, readiness and the Prometheus scrape."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agent.store import StoreError
from bot.http.state import ENGINE, METRICS
from bot.recorder import refresh_store_gauges
from mcp_bridge.sessions import ServerState

STORE_CHECK_TIMEOUT_S = 2.0


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: the process answers. (Nothing else: a slow database must not get the
    process restarted.)"""
    del request
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """GET /readyz: ready for alerts when the store answers, the service takes work and every
    MCP server has finished starting (a failed one is reported, not waited for)."""
    engine = request.app[ENGINE]
    store = "ok"
    try:
        async with asyncio.timeout(STORE_CHECK_TIMEOUT_S):
            await engine.store.ping()
    except (StoreError, TimeoutError) as exc:
        store = "unavailable" if not isinstance(exc, TimeoutError) else "timed out"
    servers = {status.name: status.state.value for status in engine.toolbox.servers()}
    started = all(state != ServerState.STARTING.value for state in servers.values())
    accepting = engine.service.accepting
    ready = store == "ok" and started and accepting
    body = {
        "status": "ready" if ready else "not ready",
        "store": store,
        "accepting": accepting,
        "mcp_servers": servers,
    }
    return web.json_response(body, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus text format; store-backed gauges are read at scrape time."""
    recorded = request.app[METRICS]
    await refresh_store_gauges(request.app[ENGINE], recorded)
    return web.Response(
        body=generate_latest(recorded.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
