"""The sandbox's Prometheus HTTP API (`/api/v1/...`) over the in-memory PromQL engine.

Requests, limits, response shapes and error shapes follow Prometheus 2.42, so any Prometheus
client (Grafana, promtool, the bundled MCP server) can talk to it unchanged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from .promql import (
    MatrixResult,
    PromQLEngine,
    PromQLError,
    QueryResult,
    ScalarResult,
    Series,
    StringResult,
    VectorResult,
    parse_duration,
)

__all__ = ["create_prometheus_app", "format_sample_value"]

log = logging.getLogger(__name__)

VERSION = "2.42.0"
MAX_POINTS_PER_SERIES = 11_000
DEFAULT_QUERY_TIMEOUT_S = 120.0
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_STATUS = {"bad_data": 400, "execution": 422, "timeout": 503, "internal": 500}


@dataclass(frozen=True)
class _Prometheus:
    """What the handlers serve from."""

    engine: PromQLEngine
    alerts: list[dict[str, Any]]
    now: Callable[[], float]
    query_timeout_s: float


_STATE = web.AppKey("prometheus", _Prometheus)


class ApiError(Exception):
    """An error Prometheus would answer with `{"status":"error","errorType":...}`."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def create_prometheus_app(
    series: Sequence[Series],
    alerts: Sequence[Mapping[str, Any]],
    now: Callable[[], float],
    *,
    query_timeout_s: float = DEFAULT_QUERY_TIMEOUT_S,
) -> web.Application:
    """An aiohttp app serving `series` and `alerts` the way Prometheus' HTTP API does.

    `now()` gives the current epoch seconds: the default time of an instant query.
    """
    app = web.Application(middlewares=[_errors_like_prometheus])
    app[_STATE] = _Prometheus(
        PromQLEngine(series), [dict(alert) for alert in alerts], now, query_timeout_s
    )
    for path, handler in (
        ("/api/v1/query", _query),
        ("/api/v1/query_range", _query_range),
        ("/api/v1/series", _series),
        ("/api/v1/labels", _labels),
    ):
        app.router.add_get(path, handler)
        app.router.add_post(path, handler)
    app.router.add_get("/api/v1/label/{name}/values", _label_values)
    app.router.add_get("/api/v1/alerts", _alerts)
    app.router.add_get("/api/v1/rules", _rules)
    app.router.add_get("/api/v1/metadata", _metadata)
    app.router.add_get("/api/v1/status/buildinfo", _buildinfo)
    app.router.add_get("/-/healthy", _healthy)
    app.router.add_get("/-/ready", _ready)
    return app


# -------------------------------------------------------------------------------- handlers


async def _query(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    params = await _form(request)
    at = _time_param(params, "time", default=state.now())
    timeout = _timeout_param(params, state.query_timeout_s)
    query = params.get("query", "")
    engine = state.engine

    def run() -> str:
        result = _run(lambda: engine.instant_query(query, at, timeout_s=timeout))
        return _success(_result_data(result))

    return _json(await asyncio.to_thread(run))


async def _query_range(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    params = await _form(request)
    start = _time_param(params, "start")
    end = _time_param(params, "end")
    if end < start:
        raise ApiError("bad_data", "end timestamp must not be before start time")
    step = _duration_param(params, "step")
    if step <= 0:
        raise ApiError(
            "bad_data",
            "zero or negative query resolution step widths are not accepted. "
            "Try a positive integer",
        )
    start_ms, end_ms, step_ms = round(start * 1000), round(end * 1000), round(step * 1000)
    # Prometheus divides integer durations; a step under a millisecond is still "too fine".
    if step_ms == 0 or (end_ms - start_ms) // step_ms > MAX_POINTS_PER_SERIES:
        raise ApiError(
            "bad_data",
            "exceeded maximum resolution of 11,000 points per timeseries. "
            "Try decreasing the query resolution (?step=XX)",
        )
    timeout = _timeout_param(params, state.query_timeout_s)
    query = params.get("query", "")
    engine = state.engine

    def run() -> str:
        result = _run(
            lambda: engine.range_query(
                query, start_ms / 1000, end_ms / 1000, step_ms / 1000, timeout_s=timeout
            )
        )
        return _success(_result_data(result))

    return _json(await asyncio.to_thread(run))


async def _series(request: web.Request) -> web.Response:
    params = await _form(request)
    selectors = params.getall("match[]", [])
    if not selectors:
        raise ApiError("bad_data", "no match[] parameter provided")
    start, end = _optional_time(params, "start"), _optional_time(params, "end")
    engine = request.app[_STATE].engine
    found = _run(lambda: engine.series(selectors, start, end), param="match[]")
    return _json(_success(found))


async def _labels(request: web.Request) -> web.Response:
    params = await _form(request)
    selectors = params.getall("match[]", [])
    start, end = _optional_time(params, "start"), _optional_time(params, "end")
    engine = request.app[_STATE].engine
    names = _run(lambda: engine.label_names(selectors, start, end), param="match[]")
    return _json(_success(names))


async def _label_values(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if not _LABEL_NAME.fullmatch(name):
        raise ApiError("bad_data", f"invalid label name: {json.dumps(name)}")
    params = await _form(request)
    selectors = params.getall("match[]", [])
    start, end = _optional_time(params, "start"), _optional_time(params, "end")
    engine = request.app[_STATE].engine
    values = _run(lambda: engine.label_values(name, selectors, start, end), param="match[]")
    return _json(_success(values))


async def _alerts(request: web.Request) -> web.Response:
    return _json(_success({"alerts": [_alert(a) for a in request.app[_STATE].alerts]}))


async def _rules(request: web.Request) -> web.Response:
    kind = request.query.get("type", "").lower()
    if kind not in ("", "alert", "record"):
        raise ApiError("bad_data", f'invalid parameter "type": not supported value "{kind}"')
    alerts = [_alert(a) for a in request.app[_STATE].alerts]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        by_name.setdefault(str(alert.get("labels", {}).get("alertname", "")), []).append(alert)
    evaluated = _rfc3339(request.app[_STATE].now())
    rules = [
        {
            "state": _rule_state(group),
            "name": name,
            # The sandbox serves alerts, not rule files: the expression is not known here.
            "query": "",
            "duration": 0,
            "labels": {},
            "annotations": dict(group[0].get("annotations", {})),
            "alerts": group,
            "health": "ok",
            "evaluationTime": 0,
            "lastEvaluation": evaluated,
            "type": "alerting",
        }
        for name, group in by_name.items()
    ]
    groups = []
    if kind != "record" and rules:
        groups.append(
            {
                "name": "sandbox",
                "file": "sandbox.rules.yml",
                "rules": rules,
                "interval": 60,
                "limit": 0,
                "evaluationTime": 0,
                "lastEvaluation": evaluated,
            }
        )
    return _json(_success({"groups": groups}))


async def _metadata(request: web.Request) -> web.Response:
    return _json(_success({}))


async def _buildinfo(request: web.Request) -> web.Response:
    return _json(
        _success(
            {
                "version": VERSION,
                "revision": "sre-agent-sandbox",
                "branch": "sandbox",
                "buildUser": "sre-agent",
                "buildDate": "20230201-00:00:00",
                "goVersion": "n/a (sre-agent sandbox)",
            }
        )
    )


async def _healthy(request: web.Request) -> web.Response:
    return web.Response(text="Prometheus Server is Healthy.\n")


async def _ready(request: web.Request) -> web.Response:
    return web.Response(text="Prometheus Server is Ready.\n")


@web.middleware
async def _errors_like_prometheus(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return _error(error.error_type, error.message)
    except web.HTTPNotFound:
        return web.Response(status=404, text="404 page not found\n")
    except web.HTTPException:
        raise
    except Exception:  # a bug here must still answer in Prometheus' shape, not with a traceback
        log.exception("prometheus sandbox API failed on %s", request.path)
        return _error("internal", "internal error in the sandbox Prometheus API")


# -------------------------------------------------------------------------------- parameters


async def _form(request: web.Request) -> MultiDictProxy[str]:
    """Body form values first, then the URL's, like Go's `Request.Form`."""
    merged: MultiDict[str] = MultiDict()
    if request.method == "POST":
        try:
            body = await request.post()
        except ValueError as exc:
            raise ApiError("bad_data", f"error parsing form values: {exc}") from exc
        for key, value in body.items():
            if isinstance(value, str):
                merged.add(key, value)
    merged.extend(request.query)
    return MultiDictProxy(merged)


def _time_param(params: Mapping[str, str], name: str, default: float | None = None) -> float:
    text = params.get(name, "")
    if text == "" and default is not None:
        return default
    try:
        return parse_time(text)
    except ValueError as exc:
        raise ApiError("bad_data", f'invalid parameter "{name}": {exc}') from exc


def _optional_time(params: Mapping[str, str], name: str) -> float | None:
    if params.get(name, "") == "":
        return None
    return _time_param(params, name)


def _duration_param(params: Mapping[str, str], name: str) -> float:
    try:
        return parse_duration_seconds(params.get(name, ""))
    except ValueError as exc:
        raise ApiError("bad_data", f'invalid parameter "{name}": {exc}') from exc


def _timeout_param(params: Mapping[str, str], limit: float) -> float:
    if params.get("timeout", "") == "":
        return limit
    return min(limit, _duration_param(params, "timeout"))


def parse_time(text: str) -> float:
    """A timestamp as Prometheus' API takes it: unix seconds (float) or RFC 3339."""
    if _FLOAT.fullmatch(text):
        value = float(text)
        if math.isfinite(value) and abs(value) < 1e13:
            return round(value, 3)
    match = _RFC3339.fullmatch(text)
    if match:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        try:
            moment = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
            )
        except ValueError:
            moment = None
        if moment is not None:
            if zone not in ("Z", "z"):
                sign = 1 if zone[0] == "+" else -1
                moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            seconds = moment.timestamp() + (float(fraction) if fraction else 0.0)
            return round(seconds, 3)
    raise ValueError(f"cannot parse {json.dumps(text)} to a valid timestamp")


def parse_duration_seconds(text: str) -> float:
    """A duration as Prometheus' API takes it: float seconds or `5m`, `1h30m`..."""
    if _FLOAT.fullmatch(text):
        value = float(text)
        if abs(value * 1e9) >= 2**63:
            raise ValueError(
                f"cannot parse {json.dumps(text)} to a valid duration. It overflows int64"
            )
        return value
    try:
        return parse_duration(text) / 1000
    except PromQLError:
        raise ValueError(f"cannot parse {json.dumps(text)} to a valid duration") from None


# -------------------------------------------------------------------------------- responses


def _run(call: Callable[[], Any], param: str = "query") -> Any:
    try:
        return call()
    except PromQLError as error:
        if error.error_type == "bad_data":
            raise ApiError("bad_data", f'invalid parameter "{param}": {error}') from error
        raise ApiError(error.error_type, str(error)) from error
    except RecursionError as error:
        raise ApiError("execution", "query is nested too deeply to evaluate") from error


def _result_data(result: QueryResult) -> dict[str, Any]:
    if isinstance(result, ScalarResult):
        return {
            "resultType": "scalar",
            "result": [_time_value(result.time), format_sample_value(result.value)],
        }
    if isinstance(result, StringResult):
        return {"resultType": "string", "result": [_time_value(result.time), result.value]}
    if isinstance(result, VectorResult):
        stamp = _time_value(result.time)
        return {
            "resultType": "vector",
            "result": [
                {"metric": s.labels, "value": [stamp, format_sample_value(s.value)]}
                for s in result.samples
            ],
        }
    assert isinstance(result, MatrixResult)
    # Series of a range query share their timestamps: format each one once.
    stamps: dict[float, int | float] = {}
    for one in result.series:
        for t, _ in one.points:
            if t not in stamps:
                stamps[t] = _time_value(t)
    return {
        "resultType": "matrix",
        "result": [
            {
                "metric": s.labels,
                "values": [[stamps[t], format_sample_value(v)] for t, v in s.points],
            }
            for s in result.series
        ],
    }


def format_sample_value(value: float) -> str:
    """A sample value exactly as Prometheus writes it.

    Go's shortest round-trip digits, in exponent form only below 1e-6 or from 1e21 up (where
    Python's repr already agrees with Go), and NaN, +Inf, -Inf spelled Prometheus' way.
    """
    text = repr(value)
    if text.endswith(".0"):
        return text[:-2]
    if "e" in text:
        magnitude = abs(value)
        if magnitude < 1e-6 or magnitude >= 1e21:
            return text
        return format(Decimal(text), "f")
    if text == "nan":
        return "NaN"
    if text == "inf":
        return "+Inf"
    if text == "-inf":
        return "-Inf"
    return text


def _time_value(seconds: float) -> int | float:
    milliseconds = round(seconds * 1000)
    return milliseconds // 1000 if milliseconds % 1000 == 0 else milliseconds / 1000


def _alert(alert: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(alert)
    value = out.get("value")
    if isinstance(value, float | int) and not isinstance(value, bool):
        out["value"] = format_sample_value(float(value))
    return out


def _rule_state(alerts: list[dict[str, Any]]) -> str:
    states = {a.get("state") for a in alerts}
    if "firing" in states:
        return "firing"
    return "pending" if "pending" in states else "inactive"


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _success(data: Any) -> str:
    return json.dumps({"status": "success", "data": data}, separators=(",", ":"))


def _json(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="application/json")


def _error(error_type: str, message: str) -> web.Response:
    body = {"status": "error", "errorType": error_type, "error": message}
    return _json(json.dumps(body), status=_STATUS.get(error_type, 500))
