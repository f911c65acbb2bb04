"""The alert routes: parse the body as its source sends it, store every firing alert (all of
them or, on failure, none), and answer 202 with the investigations only after that."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from agent.intake import (
    AlertParseError,
    IntakeResult,
    parse_alertmanager_webhook,
    parse_grafana_webhook,
    parse_payload,
)
from agent.store import Origin, OriginKind
from bot.http.auth import check_grafana_signature
from bot.http.errors import HttpProblem, unprocessable
from bot.http.state import ENGINE, LOG_FIELDS, METRICS, OPTIONS
from bot.http.views import admission_json

Parser = Callable[[object], IntakeResult]
# Deeper JSON than any alert source sends; a cheap guard before the document is walked again
# (validation, serialization) by code that recurses.
MAX_JSON_DEPTH = 64


async def alertmanager(request: web.Request) -> web.Response:
    """POST /alerts/alertmanager: an Alertmanager webhook (version 4)."""
    return await _receive(request, parse_alertmanager_webhook, "alertmanager")


async def grafana(request: web.Request) -> web.Response:
    """POST /alerts/grafana: a Grafana webhook (version 1), HMAC-signed when a secret is set."""
    options = request.app[OPTIONS]
    body = await request.read()
    if options.grafana_secret is not None:
        check_grafana_signature(
            request,
            body,
            options.grafana_secret.get_secret_value(),
            timestamp_header=options.grafana_timestamp_header,
        )
    return await _receive(request, parse_grafana_webhook, "grafana", body=body)


async def generic(request: web.Request) -> web.Response:
    """POST /alerts: any supported shape (Alertmanager or Grafana webhook, alert objects, or
    generic `{title, labels, ...}` JSON)."""
    return await _receive(request, parse_payload, "generic")


async def _receive(
    request: web.Request, parse: Parser, route: str, *, body: bytes | None = None
) -> web.Response:
    metrics = request.app[METRICS]
    if body is None:
        body = await request.read()
    try:
        data = decode(body)
        result = parse(data)
    except AlertParseError as exc:
        metrics.alerts_received.labels(route, "invalid").inc()
        raise unprocessable(exc, prefix=["body"]) from None
    except ValidationError as exc:
        metrics.alerts_received.labels(route, "invalid").inc()
        raise unprocessable(exc, prefix=["body"]) from None
    except HttpProblem:
        metrics.alerts_received.labels(route, "invalid").inc()
        raise
    request_id = request.headers.get("X-Request-Id") or secrets.token_hex(8)
    origin = Origin(
        kind=OriginKind.HTTP,
        user=request.headers.get("User-Agent", "")[:200] or None,
        reference=f"{request.path} {request_id[:64]}",
    )
    admissions = await request.app[ENGINE].service.submit_all(result.alerts, origin=origin)
    created = sum(1 for admission in admissions if admission.created)
    source = result.source
    if created:
        metrics.alerts_received.labels(source, "created").inc(created)
    if len(admissions) - created + result.duplicates:
        metrics.alerts_received.labels(source, "duplicate").inc(
            len(admissions) - created + result.duplicates
        )
    if result.resolved:
        metrics.alerts_received.labels(source, "resolved").inc(result.resolved)
    # The access log line of this request carries these (one line per request).
    request[LOG_FIELDS] = {
        "request_id": request_id,
        "intake": result.describe(),
        "investigations": [admission.record.id for admission in admissions],
        "new_investigations": created,
    }
    return web.json_response(
        {
            "investigations": [admission_json(admission) for admission in admissions],
            "resolved": result.resolved,
            "duplicates": result.duplicates,
            "summary": result.describe(),
        },
        status=202,
        headers={"X-Request-Id": request_id},
    )


def decode(body: bytes) -> Any:
    """The body as JSON, or a 400 that says why not."""
    if not body.strip():
        raise HttpProblem(400, "empty body; expected a JSON alert payload")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HttpProblem(400, f"body is not UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HttpProblem(
            400, f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise HttpProblem(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise HttpProblem(400, f"body is not usable JSON: {exc}") from None
    # Counting brackets is cheap and bounds the depth: only a body with many is walked.
    brackets = body.count(b"[") + body.count(b"{")
    if brackets > MAX_JSON_DEPTH and _depth_exceeds(data, MAX_JSON_DEPTH):
        raise HttpProblem(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return data


def _depth_exceeds(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
