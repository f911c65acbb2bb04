"""The Prometheus MCP server: six read-only tools over `/api/v1`, with compact, capped output."""

from __future__ import annotations

import math
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.session import ServerSession
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from ..structured import structured_result
from .client import (
    PrometheusApi,
    PrometheusError,
    PrometheusSettings,
    resolve_step,
    resolve_time,
    rfc3339,
    unix,
)
from .models import (
    Alert,
    AlertList,
    LabelNames,
    LabelValues,
    Number,
    QueryResult,
    RangeQueryResult,
    RangeSeries,
    Sample,
    SeriesList,
    SeriesSummary,
    Truncated,
)

MAX_SAMPLES = 50
MAX_RANGE_SERIES = 20
MAX_POINTS = 60
MAX_SERIES = 100
MAX_LABEL_NAMES = 500
MAX_LABEL_VALUES = 200
MAX_ALERTS = 50

READ_ONLY = ToolAnnotations(
    readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=True
)
AGGREGATE_HINT = (
    "aggregate (sum by (namespace) (...), topk(10, ...)) or filter with label matchers "
    '({namespace="x"}) to see fewer series'
)
NO_DATA_NOTE = (
    "Prometheus returned no data: check the metric name with label_values('__name__'), "
    "the label matchers with series(), and the time range"
)

Ctx = Context[ServerSession, PrometheusApi, Any]
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def build_server(env: Mapping[str, str]) -> FastMCP[PrometheusApi]:
    """The `prometheus` MCP server, configured only from `env` (PROMETHEUS_URL and friends)."""
    settings = PrometheusSettings.from_env(env)

    @asynccontextmanager
    async def connect(_: FastMCP[PrometheusApi]) -> AsyncIterator[PrometheusApi]:
        if settings.problem is not None or settings.url is None:
            yield PrometheusApi(settings, None)  # every tool call explains the problem
            return
        async with httpx.AsyncClient(
            base_url=settings.url,
            headers=settings.headers,
            timeout=httpx.Timeout(settings.timeout_s),
        ) as client:
            yield PrometheusApi(settings, client)

    server: FastMCP[PrometheusApi] = FastMCP(
        "prometheus",
        instructions=(
            "Read-only access to Prometheus metrics and alerts with PromQL. Times accept RFC "
            "3339, unix seconds, 'now' or relative times like -1h. Prefer aggregated queries "
            "(sum by, topk) over raw selectors of high-cardinality metrics."
        ),
        lifespan=connect,
    )

    @server.tool(annotations=READ_ONLY)
    async def query(
        query: Annotated[str, Field(description="PromQL expression")],
        ctx: Ctx,
        time: Annotated[
            str | None,
            Field(description="evaluation time: RFC 3339, unix seconds, or relative like -5m"),
        ] = None,
    ) -> Annotated[CallToolResult, QueryResult]:
        """Evaluate a PromQL expression at one instant (default: now).

        Returns each series' labels and value, e.g. `up == 0`,
        `sum by (pod) (rate(http_requests_total{code=~"5.."}[5m]))` or
        `container_memory_working_set_bytes{namespace="shop"}`.
        """
        api = ctx.request_context.lifespan_context
        at = resolve_time(time, _now(), "time")
        data = await api.get("/api/v1/query", [("query", query), ("time", unix(at))])
        return structured_result(_instant_result(query, at, data))

    @server.tool(annotations=READ_ONLY)
    async def query_range(
        query: Annotated[str, Field(description="PromQL expression")],
        ctx: Ctx,
        start: Annotated[
            str, Field(description="RFC 3339, unix seconds, or relative like -1h, -30m")
        ] = "-1h",
        end: Annotated[str | None, Field(description="default now")] = None,
        step: Annotated[
            str | None,
            Field(description="resolution like 30s or 5m; default gives about 60 points"),
        ] = None,
    ) -> Annotated[CallToolResult, RangeQueryResult]:
        """Evaluate a PromQL expression over a time range, to see how it changed.

        Per series: labels, a summary (first, last, min, max, avg, points) and up to 60
        downsampled points. At most 20 series: aggregate (`sum by (pod) (...)`) for more.
        """
        api = ctx.request_context.lifespan_context
        now = _now()
        start_s = resolve_time(start, now, "start")
        end_s = resolve_time(end, now, "end")
        if end_s <= start_s:
            raise PrometheusError(
                f"start ({rfc3339(start_s)}) must be before end ({rfc3339(end_s)})"
            )
        step_s = resolve_step(step, start_s, end_s, MAX_POINTS)
        data = await api.get(
            "/api/v1/query_range",
            [
                ("query", query),
                ("start", unix(start_s)),
                ("end", unix(end_s)),
                ("step", unix(step_s)),
            ],
        )
        result = data.get("result") if isinstance(data, dict) else None
        rows = result if isinstance(result, list) else []
        shown = [_range_series(row) for row in rows[:MAX_RANGE_SERIES]]
        return structured_result(
            RangeQueryResult(
                query=query,
                start=rfc3339(start_s),
                end=rfc3339(end_s),
                step_seconds=step_s,
                series=shown,
                series_count=len(rows),
                truncated=_truncated(len(rows), MAX_RANGE_SERIES, AGGREGATE_HINT),
                note=None if rows else NO_DATA_NOTE,
            )
        )

    @server.tool(annotations=READ_ONLY)
    async def series(
        match: Annotated[
            str,
            Field(description='series selector, e.g. up{job="api"} or {__name__=~"kube_pod.*"}'),
        ],
        ctx: Ctx,
        start: Annotated[str, Field(description="RFC 3339, unix seconds, or relative")] = "-1h",
        end: Annotated[str | None, Field(description="default now")] = None,
    ) -> Annotated[CallToolResult, SeriesList]:
        """List the label sets of the series a selector matches (which series exist)."""
        api = ctx.request_context.lifespan_context
        now = _now()
        params = [
            ("match[]", match),
            ("start", unix(resolve_time(start, now, "start"))),
            ("end", unix(resolve_time(end, now, "end"))),
        ]
        data = await api.get("/api/v1/series", params)
        found = [dict(s) for s in data] if isinstance(data, list) else []
        return structured_result(
            SeriesList(
                match=match,
                series=found[:MAX_SERIES],
                total=len(found),
                truncated=_truncated(
                    len(found), MAX_SERIES, "add label matchers to the selector to see fewer series"
                ),
            )
        )

    @server.tool(annotations=READ_ONLY)
    async def label_names(ctx: Ctx) -> Annotated[CallToolResult, LabelNames]:
        """List every label name Prometheus knows (pod, namespace, job, ...)."""
        api = ctx.request_context.lifespan_context
        data = await api.get("/api/v1/labels")
        names = [str(n) for n in data] if isinstance(data, list) else []
        return structured_result(
            LabelNames(
                labels=names[:MAX_LABEL_NAMES],
                total=len(names),
                truncated=_truncated(
                    len(names), MAX_LABEL_NAMES, "use series() with a selector to see what exists"
                ),
            )
        )

    @server.tool(annotations=READ_ONLY)
    async def label_values(
        label: Annotated[str, Field(description="label name; __name__ lists metric names")],
        ctx: Ctx,
    ) -> Annotated[CallToolResult, LabelValues]:
        """List the values of one label, e.g. `namespace`, `pod`, or `__name__` for metrics."""
        if not _LABEL_NAME.fullmatch(label):
            raise PrometheusError(
                f"{label!r} is not a label name: letters, digits and '_' only, such as "
                "namespace, pod or __name__"
            )
        api = ctx.request_context.lifespan_context
        data = await api.get(f"/api/v1/label/{label}/values")
        values = [str(v) for v in data] if isinstance(data, list) else []
        return structured_result(
            LabelValues(
                label=label,
                values=values[:MAX_LABEL_VALUES],
                total=len(values),
                truncated=_truncated(
                    len(values),
                    MAX_LABEL_VALUES,
                    f'use series("{{{label}=~\\"prefix.*\\"}}") or a query to narrow the values',
                ),
            )
        )

    @server.tool(annotations=READ_ONLY)
    async def alerts(ctx: Ctx) -> Annotated[CallToolResult, AlertList]:
        """List the alerts Prometheus has firing or pending now, with labels and annotations."""
        api = ctx.request_context.lifespan_context
        data = await api.get("/api/v1/alerts")
        raw = data.get("alerts") if isinstance(data, dict) else None
        rows = [a for a in raw if isinstance(a, dict)] if isinstance(raw, list) else []
        listed = [_alert(a) for a in rows]
        return structured_result(
            AlertList(
                alerts=listed[:MAX_ALERTS],
                firing=sum(a.state == "firing" for a in listed),
                pending=sum(a.state == "pending" for a in listed),
                truncated=_truncated(
                    len(listed), MAX_ALERTS, "use query('ALERTS{alertname=\"...\"}') to look closer"
                ),
            )
        )

    return server


def _now() -> float:
    return time.time()


def _truncated(total: int, cap: int, hint: str) -> Truncated | None:
    return Truncated(omitted=total - cap, hint=hint) if total > cap else None


def _number(text: Any) -> Number:
    """Sample values arrive as strings; keep non-finite ones spelled Prometheus' way."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return str(text)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


def _instant_result(query: str, at: float, data: Any) -> QueryResult:
    kind = data.get("resultType") if isinstance(data, dict) else None
    result = data.get("result") if isinstance(data, dict) else None
    if kind in ("scalar", "string") and isinstance(result, list) and len(result) == 2:
        value = _number(result[1]) if kind == "scalar" else str(result[1])
        return QueryResult(query=query, time=rfc3339(at), result_type=kind, value=value)
    rows = result if isinstance(result, list) else []
    if kind == "matrix":
        return QueryResult(
            query=query,
            time=rfc3339(at),
            result_type="matrix",
            series=[_range_series(r) for r in rows[:MAX_RANGE_SERIES]],
            truncated=_truncated(len(rows), MAX_RANGE_SERIES, AGGREGATE_HINT),
            note=None if rows else NO_DATA_NOTE,
        )
    samples = [
        Sample(labels=dict(r.get("metric", {})), value=_number(r.get("value", [0, "NaN"])[1]))
        for r in rows[:MAX_SAMPLES]
    ]
    return QueryResult(
        query=query,
        time=rfc3339(at),
        result_type="vector",
        samples=samples,
        truncated=_truncated(len(rows), MAX_SAMPLES, AGGREGATE_HINT),
        note=None if rows else NO_DATA_NOTE,
    )


def _range_series(row: Mapping[str, Any]) -> RangeSeries:
    values = row.get("values") or []
    points = [(float(t), _number(v)) for t, v in values]
    numbers = [float(v) for _, v in values]
    present = [v for v in numbers if not math.isnan(v)]
    if present:
        low, high, mean = min(present), max(present), sum(present) / len(present)
    else:
        low = high = mean = math.nan
    summary = SeriesSummary(
        first=points[0][1] if points else "NaN",
        last=points[-1][1] if points else "NaN",
        min=_number(low),
        max=_number(high),
        avg=_number(mean),
        points=len(points),
    )
    return RangeSeries(
        labels=dict(row.get("metric", {})),
        summary=summary,
        points=[(rfc3339(t), v) for t, v in _downsample(points, MAX_POINTS)],
    )


def _downsample(points: list[tuple[float, Number]], limit: int) -> list[tuple[float, Number]]:
    """Evenly spaced points, always keeping the first and the last."""
    if len(points) <= limit:
        return points
    last = len(points) - 1
    indexes = sorted({round(i * last / (limit - 1)) for i in range(limit)})
    return [points[i] for i in indexes]


def _alert(raw: Mapping[str, Any]) -> Alert:
    labels = {str(k): str(v) for k, v in (raw.get("labels") or {}).items()}
    annotations = {str(k): str(v) for k, v in (raw.get("annotations") or {}).items()}
    value = raw.get("value")
    return Alert(
        name=labels.get("alertname", ""),
        state=str(raw.get("state", "")),
        labels=labels,
        annotations=annotations,
        active_at=str(raw["activeAt"]) if raw.get("activeAt") else None,
        value=None if value is None else str(value),
    )
