"""What the HTTP handlers share: the engine, the metrics and the options, as typed app keys."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from bot.engine import Engine
from bot.metrics import Metrics
from bot.settings import Settings


@dataclass(frozen=True)
class HttpOptions:
    """The endpoint's own settings (see `bot.settings.Settings`)."""

    token: SecretStr | None = None
    max_body_bytes: int = 1024 * 1024
    grafana_secret: SecretStr | None = None
    grafana_timestamp_header: str | None = None
    sse_keepalive_s: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpOptions:
        return cls(
            token=settings.http_token,
            max_body_bytes=settings.http_max_body_bytes,
            grafana_secret=settings.grafana_webhook_secret,
            grafana_timestamp_header=settings.grafana_webhook_timestamp_header,
            sse_keepalive_s=settings.http_sse_keepalive_s,
        )


ENGINE = web.AppKey("engine", Engine)
METRICS = web.AppKey("metrics", Metrics)
OPTIONS = web.AppKey("options", HttpOptions)
# Fields a handler adds to its request's access log line (request scope).
LOG_FIELDS = web.RequestKey("log_fields", dict[str, Any])
# Set when the server shuts down: open event streams end instead of holding it up.
CLOSING = web.AppKey("closing", asyncio.Event)
