"""The HTTP endpoint of `sre-agent serve`: its routes, middlewares and access log.

POST /alerts/alertmanager   Alertmanager webhook (version 4)
POST /alerts/grafana        Grafana webhook (version 1), HMAC-checked when a secret is set
POST /alerts                any supported JSON alert shape
GET  /investigations        newest first (?status=&limit=&before=)
GET  /investigations/{id}   status, progress, iterations, report
GET  /investigations/{id}/events   server-sent events, live
GET  /healthz  /readyz  /metrics
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Middleware

from bot.engine import Engine
from bot.http import health, intake, investigations
from bot.http.auth import bearer_auth
from bot.http.errors import Handler, json_errors
from bot.http.state import CLOSING, ENGINE, LOG_FIELDS, METRICS, OPTIONS, HttpOptions
from bot.logging import RECORD_ATTRIBUTES
from bot.metrics import Metrics

log = logging.getLogger("sre_agent.http")


def build_app(
    engine: Engine, metrics: Metrics, options: HttpOptions | None = None
) -> web.Application:
    options = options or HttpOptions()
    middlewares: list[Middleware] = [_measured, json_errors]
    if options.token is not None:
        middlewares.append(bearer_auth(options.token.get_secret_value()))
    app = web.Application(middlewares=middlewares, client_max_size=options.max_body_bytes)
    app[ENGINE] = engine
    app[METRICS] = metrics
    app[OPTIONS] = options
    app[CLOSING] = asyncio.Event()
    app.router.add_post("/alerts/alertmanager", intake.alertmanager)
    app.router.add_post("/alerts/grafana", intake.grafana)
    app.router.add_post("/alerts", intake.generic)
    app.router.add_get("/investigations", investigations.index, allow_head=False)
    app.router.add_get("/investigations/{id}", investigations.show, allow_head=False)
    app.router.add_get("/investigations/{id}/events", investigations.events, allow_head=False)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/metrics", health.metrics, allow_head=False)
    app.on_shutdown.append(_end_streams)
    return app


async def _end_streams(app: web.Application) -> None:
    app[CLOSING].set()


@web.middleware
async def _measured(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts every answer by route template (not path: ids would explode the label set)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        metrics = request.app[METRICS]
        metrics.http_requests.labels(route, request.method, str(status)).inc()
        metrics.http_request_duration.labels(route).observe(time.perf_counter() - started)


class AccessLogger(AbstractAccessLogger):
    """One line per request on `sre_agent.http`: method, path, status, time, peer. Headers and
    bodies are never logged (they carry tokens and untrusted text)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %d",
            request.method,
            request.path,
            response.status,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status,
                "duration_ms": round(time * 1000, 2),
                "remote": request.remote,
                **{
                    key: value
                    for key, value in request.get(LOG_FIELDS, {}).items()
                    if key not in RECORD_ATTRIBUTES  # logging refuses to overwrite those
                },
            },
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
