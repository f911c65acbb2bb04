"""Every error the HTTP endpoint answers, as JSON: `{"error": code, "message": one line}`, plus
`detail` (pydantic-style locations) for a payload of the wrong shape. Never an HTML page."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from agent.intake import AlertParseError
from agent.service import ServiceStopping
from agent.store import InvestigationNotFound, StoreClosed, StoreUnavailable

log = logging.getLogger("sre_agent.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Location = list[str | int]

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    500: "internal_error",
    503: "unavailable",
}
# One step of an intake path: `.name`, `name`, `[3]` or `["odd key"]`.
_STEP = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


class HttpProblem(Exception):
    """An answer other than success, raised anywhere in a handler and rendered as JSON."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        detail: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = list(detail) if detail is not None else None
        self.headers = headers or {}


def problem_response(
    status: int,
    message: str,
    *,
    detail: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"error": _CODES.get(status, f"http_{status}"), "message": message}
    if detail is not None:
        body["detail"] = list(detail)
    return web.json_response(body, status=status, headers=headers)


def unprocessable(exc: AlertParseError | ValidationError, *, prefix: Location) -> HttpProblem:
    """A 422 naming where the payload is wrong, as pydantic names locations."""
    if isinstance(exc, ValidationError):
        detail = [
            {"loc": [*prefix, *error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        message = "; ".join(f"{_dotted(d['loc'])}: {d['msg']}" for d in detail[:5])
    else:
        detail = [
            {"loc": [*prefix, *location(exc.where)], "msg": exc.problem, "type": "value_error"}
        ]
        message = str(exc)
    return HttpProblem(422, message, detail=detail)


def location(where: str) -> Location:
    """`alerts[2].labels["a.b"]` as `["alerts", 2, "labels", "a.b"]`."""
    steps: Location = []
    position = 0
    for match in _STEP.finditer(where):
        if match.start() != position:
            return [where]  # not a path the intake writes: keep it whole
        name, index, quoted = match.groups()
        if name is not None:
            steps.append(name)
        elif index is not None:
            steps.append(int(index))
        else:
            steps.append(json.loads(quoted))
        position = match.end()
    return steps if position == len(where) and steps else [where]


def _dotted(loc: Sequence[str | int]) -> str:
    return ".".join(str(step) for step in loc)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost middleware: whatever goes wrong becomes a JSON answer with the right status."""
    try:
        return await handler(request)
    except HttpProblem as exc:
        return problem_response(exc.status, exc.message, detail=exc.detail, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem_response(exc.status, _http_message(request, exc), headers=_kept(exc))
    except InvestigationNotFound as exc:
        return problem_response(404, str(exc))
    except ServiceStopping as exc:
        return problem_response(503, str(exc), headers={"Retry-After": "5"})
    except (StoreUnavailable, StoreClosed) as exc:
        log.error("store unavailable: %s", exc)
        return problem_response(503, "the investigation store is unavailable; retry later")
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return problem_response(500, "internal error; the server log has the details")


def _http_message(request: web.Request, exc: web.HTTPException) -> str:
    if isinstance(exc, web.HTTPNotFound):
        return f"no route {request.path}; see the HTTP API in the README"
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return f"{request.method} is not allowed on {request.path}; use {allowed}"
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return "request body too large; " + (exc.text or "").strip()
    return exc.reason


def _kept(exc: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in exc.headers.items() if k in ("Allow", "WWW-Authenticate")}
