"""The HTTP alert endpoint: webhooks in, investigations out (JSON and server-sent events)."""

from bot.http.app import build_app
from bot.http.auth import ExposedWithoutToken, check_exposure, is_loopback
from bot.http.server import CannotListen, HttpServer
from bot.http.state import HttpOptions

__all__ = [
    "CannotListen",
    "ExposedWithoutToken",
    "HttpOptions",
    "HttpServer",
    "build_app",
    "check_exposure",
    "is_loopback",
]
