"""TEMPORARY stand-in for the prom engineer's `promql.Series` and
`prometheus_api.create_prometheus_app` (same names and signatures) so the sandbox runs before
branch w1-prom is merged. It answers only bare selectors (`metric{label="v"}`); delete at merge."""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

_LOOKBACK_S = 300.0
_SELECTOR = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(.*)\})?\s*")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]


class _BadQuery(ValueError):
    pass


def _parse(query: str) -> Callable[[Mapping[str, str]], bool]:
    match = _SELECTOR.fullmatch(query)
    if match is None or not (match[1] or match[2]):
        raise _BadQuery(f"the temporary sandbox Prometheus only answers selectors, not {query!r}")
    matchers: list[tuple[str, str, re.Pattern[str]]] = []
    if match[1]:
        matchers.append(("__name__", "=~", re.compile(re.escape(match[1]))))
    for part in filter(str.strip, (match[2] or "").split(",")):
        matcher = _MATCHER.fullmatch(part)
        if matcher is None:
            raise _BadQuery(f"cannot parse matcher {part!r}")
        label, op, value = matcher[1], matcher[2], matcher[3]
        pattern = re.compile(value if op in ("=~", "!~") else re.escape(value))
        matchers.append((label, "=~" if op in ("=", "=~") else "!~", pattern))

    def matches(labels: Mapping[str, str]) -> bool:
        return all(
            bool(pattern.fullmatch(labels.get(label, ""))) == (op == "=~")
            for label, op, pattern in matchers
        )

    return matches


def _value_at(series: Series, at: float) -> float | None:
    index = bisect.bisect_right(series.points, (at, math.inf)) - 1
    if index < 0 or series.points[index][0] < at - _LOOKBACK_S:
        return None
    return series.points[index][1]


def _text(value: float) -> str:
    """A sample value as Prometheus writes it: shortest exact form, no exponent for integers."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _time(raw: str | None, default: float) -> float:
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise _BadQuery(f"cannot parse {raw!r} as a unix time") from None


def create_prometheus_app(
    series: Sequence[Series], alerts: Sequence[Mapping[str, Any]], now: Callable[[], float]
) -> web.Application:
    def ok(data: Any) -> web.Response:
        return web.json_response({"status": "success", "data": data})

    def bad(message: str) -> web.Response:
        return web.json_response(
            {"status": "error", "errorType": "bad_data", "error": message}, status=400
        )

    async def params(request: web.Request) -> Mapping[str, str]:
        if request.method == "POST":
            form = await request.post()
            return {k: str(v) for k, v in form.items()}
        return request.query

    async def query(request: web.Request) -> web.Response:
        args = await params(request)
        try:
            matches = _parse(args.get("query", ""))
            at = _time(args.get("time"), now())
        except _BadQuery as exc:
            return bad(str(exc))
        result = []
        for s in series:
            value = _value_at(s, at) if matches(s.labels) else None
            if value is not None:
                result.append({"metric": s.labels, "value": [at, _text(value)]})
        return ok({"resultType": "vector", "result": result})

    async def query_range(request: web.Request) -> web.Response:
        args = await params(request)
        try:
            matches = _parse(args.get("query", ""))
            start, end = _time(args.get("start"), now() - 3600), _time(args.get("end"), now())
            step = float(args.get("step", "60"))
        except (_BadQuery, ValueError) as exc:
            return bad(str(exc))
        if step <= 0 or (end - start) / step > 11000:
            return bad("exceeded maximum resolution of 11,000 points per timeseries")
        result = []
        for s in series:
            if not matches(s.labels):
                continue
            values, at = [], start
            while at <= end:
                value = _value_at(s, at)
                if value is not None:
                    values.append([at, _text(value)])
                at += step
            if values:
                result.append({"metric": s.labels, "values": values})
        return ok({"resultType": "matrix", "result": result})

    async def alert_list(request: web.Request) -> web.Response:
        return ok({"alerts": list(alerts)})

    async def labels(request: web.Request) -> web.Response:
        return ok(sorted({k for s in series for k in s.labels}))

    async def label_values(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return ok(sorted({s.labels[name] for s in series if name in s.labels}))

    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="Prometheus Server is Ready.\n")

    app = web.Application()
    for path, handler in (("/api/v1/query", query), ("/api/v1/query_range", query_range)):
        app.router.add_get(path, handler)
        app.router.add_post(path, handler)
    app.router.add_get("/api/v1/alerts", alert_list)
    app.router.add_get("/api/v1/labels", labels)
    app.router.add_get("/api/v1/label/{name}/values", label_values)
    app.router.add_get("/-/ready", ready)
    app.router.add_get("/-/healthy", ready)
    return app
