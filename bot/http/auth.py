"""Who may call the endpoint: a bearer token on every route but the health checks, compared in
constant time; Grafana's optional HMAC signature; and the rule that an endpoint reachable from
other machines needs a token."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.http.errors import Handler, HttpProblem

# Probes (kubelet, load balancers) call these without credentials; they reveal nothing.
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
# How far a signed Grafana timestamp may be from our clock before the request is a replay.
SIGNATURE_MAX_AGE_S = 300
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sre-agent"'}


class ExposedWithoutToken(ValueError):
    """Listening beyond loopback without a token would let anyone submit alerts and read
    investigations."""


def check_exposure(host: str, *, token_set: bool, insecure_no_auth: bool) -> None:
    """Refuse a non-loopback address without a token, unless the operator said so explicitly."""
    if token_set or insecure_no_auth or is_loopback(host):
        return
    raise ExposedWithoutToken(
        f"refusing to listen on {host} without a token: set SRE_AGENT_HTTP_TOKEN, listen on "
        "127.0.0.1, or pass --insecure-no-auth if something else guards the endpoint"
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def bearer_auth(token: str) -> Middleware:
    """Middleware requiring `Authorization: Bearer <token>` outside OPEN_PATHS."""
    expected = token.encode()

    @web.middleware
    async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in OPEN_PATHS:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            # compare_digest takes the same time wherever the strings differ; it is also
            # called for a missing header, so that answer takes no different path.
            valid = hmac.compare_digest(given.strip().encode(), expected)
            if scheme.lower() != "bearer" or not valid:
                raise HttpProblem(
                    401,
                    "missing or wrong bearer token (Authorization: Bearer ...)",
                    headers=_CHALLENGE,
                )
        return await handler(request)

    return require_token


def check_grafana_signature(
    request: web.Request,
    body: bytes,
    secret: str,
    *,
    timestamp_header: str | None,
    now: float | None = None,
) -> None:
    """Grafana signs `body` (or `timestamp:body`) with HMAC-SHA256, hex in the signature header.
    Raises a 401 HttpProblem unless the signature matches (and the timestamp is fresh)."""
    signature = request.headers.get("X-Grafana-Alerting-Signature", "").strip().lower()
    message = body
    if timestamp_header:
        stamp = request.headers.get(timestamp_header, "").strip()
        try:
            age = abs((now if now is not None else time.time()) - float(stamp))
        except ValueError:
            raise HttpProblem(401, f"missing or unreadable {timestamp_header} header") from None
        if age > SIGNATURE_MAX_AGE_S:
            raise HttpProblem(
                401, f"{timestamp_header} is {age:.0f}s away from now; replays are refused"
            )
        message = stamp.encode() + b":" + body
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise HttpProblem(
            401, "missing or wrong X-Grafana-Alerting-Signature (HMAC-SHA256 of the body)"
        )
