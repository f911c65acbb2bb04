"""The Prometheus MCP server through real MCP sessions against a Prometheus API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CallToolResult, TextContent

from mcp_bridge.sandbox.prometheus_api import create_prometheus_app
from mcp_bridge.sandbox.promql import Series
from mcp_bridge.servers.prometheus import build_server
from tests.sandbox.serving import serve

NOW = float(int(time.time()))
SECRET = "Bearer s3cr3t-token"


def world() -> list[Series]:
    every_15s = [NOW - 7200 + 15 * k for k in range(481)]
    series = [
        Series(
            {"__name__": "up", "job": "api", "instance": "a:80"}, tuple((t, 1.0) for t in every_15s)
        ),
        Series(
            {"__name__": "up", "job": "db", "instance": "d:5432"},
            tuple((t, 0.0) for t in every_15s),
        ),
    ]
    for pod in range(30):
        series.append(
            Series(
                {
                    "__name__": "container_memory_working_set_bytes",
                    "namespace": "shop",
                    "pod": f"checkout-{pod:02d}",
                },
                tuple((t, 1e8 + pod * 1e6 + k * 1e4) for k, t in enumerate(every_15s)),
            )
        )
    for pod in range(250):
        series.append(Series({"__name__": "kube_pod_info", "pod": f"p-{pod:03d}"}, ((NOW, 1.0),)))
    return series


ALERT = {
    "labels": {"alertname": "TargetDown", "job": "db", "severity": "critical"},
    "annotations": {"summary": "db is down"},
    "state": "firing",
    "activeAt": "2024-01-01T00:00:00Z",
    "value": "1e+00",
}


@pytest.fixture
async def prometheus_url() -> AsyncIterator[str]:
    app = create_prometheus_app(world(), [ALERT], now=time.time)
    async with serve(app) as url:
        yield url


@asynccontextmanager
async def session(env: Mapping[str, str]) -> AsyncIterator[ClientSession]:
    async with create_connected_server_and_client_session(build_server(env)) as client:
        yield client


async def call(client: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.isError, _text(result)
    assert result.structuredContent is not None
    assert json.loads(_text(result)) == result.structuredContent
    return result.structuredContent


async def failure(client: ClientSession, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.isError, result.structuredContent
    return _text(result)


def _text(result: CallToolResult) -> str:
    return "\n".join(part.text for part in result.content if isinstance(part, TextContent))


# ----------------------------------------------------------------------------- the catalogue


async def test_tools_have_fixed_names_and_are_read_only(prometheus_url: str) -> None:
    server = build_server({"PROMETHEUS_URL": prometheus_url})
    assert server.name == "prometheus"
    async with session({"PROMETHEUS_URL": prometheus_url}) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"query", "query_range", "series", "label_names", "label_values", "alerts"}
    for tool in tools.values():
        assert tool.annotations is not None
        assert tool.annotations.readOnlyHint is True
        assert tool.annotations.destructiveHint is False
        assert tool.annotations.idempotentHint is True
        assert tool.outputSchema is not None
        assert tool.description
    assert set(tools["query"].inputSchema["properties"]) == {"query", "time"}
    assert tools["query"].inputSchema["required"] == ["query"]
    assert set(tools["query_range"].inputSchema["properties"]) == {"query", "start", "end", "step"}
    assert set(tools["series"].inputSchema["properties"]) == {"match", "start", "end"}
    assert set(tools["label_values"].inputSchema["properties"]) == {"label"}
    assert tools["alerts"].inputSchema.get("properties", {}) == {}


# ----------------------------------------------------------------------------- results


async def test_instant_query_returns_labels_and_values(prometheus_url: str) -> None:
    async with session({"PROMETHEUS_URL": prometheus_url}) as client:
        down = await call(client, "query", query="up == 0")
        earlier = await call(client, "query", query='up{job="api"}', time="-90m")
        scalar = await call(client, "query", query="1 / 0")
    assert down["result_type"] == "vector"
    assert down["samples"] == [
        {"labels": {"__name__": "up", "instance": "d:5432", "job": "db"}, "value": 0.0}
    ]
    assert "truncated" not in down  # nothing cut: null fields are left out
    assert earlier["samples"][0]["value"] == 1.0
    assert scalar["result_type"] == "scalar"
    assert scalar["value"] == "+Inf"


async def test_empty_result_says_how_to_find_the_right_names(prometheus_url: str) -> None:
    async with session({"PROMETHEUS_URL": prometheus_url}) as client:
        nothing = await call(client, "query", query="no_such_metric")
    assert nothing["samples"] == []
    assert "label_values('__name__')" in nothing["note"]


async def test_instant_query_of_a_range_selector_summarizes_the_samples(
    prometheus_url: str,
) -> None:
    async with session({"PROMETHEUS_URL": prometheus_url}) as client:
        raw = await call(client, "query", query='up{job="db"}[1m]', time=str(NOW))
    assert raw["result_type"] == "matrix"
    (series,) = raw["series"]
    assert series["summary"]["points"] == 5
    assert series["summary"]["max"] == 0.0


async def test_range_query_defaults_to_the_last_hour_at_about_sixty_points(
    prometheus_url: str,
) -> None:
    async with session({"PROMETHEUS_URL": prometheus_url}) as client:
        result = await call(
            client,
            "query_range",
            query='container_memory_working_set_bytes{pod="checkout-03"}',
        )
    assert result["step_seconds"] == 60.0
    (series,) = result["series"]
    assert series["labels"]["pod"] == "checkout-03"
    summary = series["summary"]
    assert summary["points"] == 61
    assert len(series["points"]) == 60  # downsampled, first and last kept
    assert series["points"][-1][1] == summary["last"]
    assert series["points"][0][1] == summary["first"]
    assert summary["min"] == summary["first"]
    assert summary["max"] == summary["last"]
    assert summary["first"] < summary["avg"] < summary["last"]
    assert series["points"][0][0].endswith("Z")


async def test_range_query_caps_series_and_says_how_to_aggregate(prometheus_url: str) -> None:
    async with session({"PROMETHEUS_URL": prometheus_url}) as client:
        many = await call(
            client,
            "query_range",
            query="container_memory_working_set_bytes",
            start="-30m",
            step="5m",
        )
        summed = await call(
            client,
            "query_range",
            query="sum by (namespace) (container_memory_working_set_bytes)",
            start="now-30m",
            end="now",
            step="300",
        )
    assert many["series_count"] == 30
    assert len(many["series"]) == 20
    assert many["truncated"]["omitted"] == 10
    assert "sum by" in many["truncated"]["hint"]
    assert many["step_seconds"] == 300.0
    assert len(many["series"][0]["points"]) == 7
    assert summed["series_count"] == 1
    assert "truncated" not in summed


async def test_series_labels_values_and_alerts(prometheus_url: str) -> None:
    async with session({"PROMETHEUS_URL": prometheus_url}) as client:
        found = await call(client, "series", match='up{job=~"api|db"}')
        names = await call(client, "label_names")
        namespaces = await call(client, "label_values", label="namespace")
        pods = await call(client, "label_values", label="pod")
        alerts = await call(client, "alerts")
    assert found["series"] == [
        {"__name__": "up", "instance": "a:80", "job": "api"},
        {"__name__": "up", "instance": "d:5432", "job": "db"},
    ]
    assert found["total"] == 2
    assert names["labels"] == ["__name__", "instance", "job", "namespace", "pod"]
    assert namespaces["values"] == ["shop"]
    assert pods["total"] == 280
    assert len(pods["values"]) == 200
    assert pods["truncated"]["omitted"] == 80
    assert alerts == {
        "alerts": [
            {
                "name": "TargetDown",
                "state": "firing",
                "labels": ALERT["labels"],
                "annotations": ALERT["annotations"],
                "active_at": "2024-01-01T00:00:00Z",
                "value": "1e+00",
            }
        ],
        "firing": 1,
        "pending": 0,
    }


# ----------------------------------------------------------------------------- errors


async def test_bad_promql_comes_back_as_a_tool_error_with_prometheus_text(
    prometheus_url: str,
) -> None:
    async with session({"PROMETHEUS_URL": prometheus_url}) as client:
        parse = await failure(client, "query", query="sum(rate(up[5m])")
        ranged = await failure(client, "query_range", query="up[5m]")
    assert "bad_data" in parse
    assert "parse error: unexpected end of input" in parse
    assert "invalid expression type" in ranged


async def test_bad_times_and_steps_are_explained(prometheus_url: str) -> None:
    async with session({"PROMETHEUS_URL": prometheus_url}) as client:
        bad_time = await failure(client, "query", query="up", time="yesterday")
        backwards = await failure(client, "query_range", query="up", start="-1h", end="-2h")
        bad_step = await failure(client, "query_range", query="up", step="often")
        too_fine = await failure(client, "query_range", query="up", start="-7d", step="1s")
    assert "cannot read time='yesterday'" in bad_time
    assert "-1h" in bad_time
    assert "must be before end" in backwards
    assert "cannot read step='often'" in bad_step
    assert "11,000 points" in too_fine


async def test_a_label_that_is_not_a_label_name_is_refused_before_any_request(
    prometheus_url: str,
) -> None:
    async with session({"PROMETHEUS_URL": prometheus_url}) as client:
        message = await failure(client, "label_values", label="../../admin")
    assert "is not a label name" in message


async def test_missing_url_is_a_clear_tool_error() -> None:
    async with session({}) as client:
        message = await failure(client, "query", query="up")
    assert "PROMETHEUS_URL is not set" in message


async def test_bad_headers_and_timeout_are_named_without_echoing_secrets() -> None:
    env = {
        "PROMETHEUS_URL": "http://127.0.0.1:9",
        "PROMETHEUS_HEADERS": "Authorization: " + SECRET,
        "SRE_AGENT_PROMETHEUS_TIMEOUT_S": "-3",
    }
    async with session(env) as client:
        message = await failure(client, "alerts")
    assert "PROMETHEUS_HEADERS must be a JSON object" in message
    assert "SRE_AGENT_PROMETHEUS_TIMEOUT_S" in message
    assert "s3cr3t" not in message


async def test_unreachable_prometheus_is_a_tool_error() -> None:
    port = await _closed_port()
    async with session({"PROMETHEUS_URL": f"http://user:pw@127.0.0.1:{port}"}) as client:
        message = await failure(client, "query", query="up")
    assert f"cannot reach Prometheus at http://127.0.0.1:{port}" in message
    assert "pw" not in message


async def test_slow_prometheus_times_out_with_the_setting_named() -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"status": "success", "data": []})

    app = web.Application()
    app.router.add_get("/api/v1/labels", slow)
    async with serve(app) as url:
        env = {"PROMETHEUS_URL": url, "SRE_AGENT_PROMETHEUS_TIMEOUT_S": "0.2"}
        async with session(env) as client:
            message = await failure(client, "label_names")
        release.set()
    assert "did not answer within 0.2s" in message


async def test_headers_are_sent_and_a_path_prefix_is_kept() -> None:
    seen: list[str] = []

    async def labels(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response({"status": "success", "data": ["job"]})

    prefixed = web.Application()
    prefixed.router.add_get("/api/v1/labels", labels)
    root = web.Application()
    root.add_subapp("/prometheus", prefixed)
    async with serve(root) as url:
        env = {
            "PROMETHEUS_URL": f"{url}/prometheus",
            "PROMETHEUS_HEADERS": json.dumps({"Authorization": SECRET}),
        }
        async with session(env) as client:
            names = await call(client, "label_names")
    assert names["labels"] == ["job"]
    assert seen == [SECRET]


async def test_a_url_that_is_not_prometheus_gets_a_hint() -> None:
    app = web.Application()
    async with serve(app) as url, session({"PROMETHEUS_URL": url + "/grafana"}) as client:
        message = await failure(client, "label_names")
    assert "HTTP 404" in message
    assert "base URL" in message


# ----------------------------------------------------------------------------- stdio


async def test_the_module_serves_over_stdio(prometheus_url: str) -> None:
    parameters = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_bridge.servers.prometheus"],
        env={**os.environ, "PROMETHEUS_URL": prometheus_url},
    )
    async with (
        stdio_client(parameters) as (read, write),
        ClientSession(read, write) as client,
    ):
        initialized = await client.initialize()
        result = await client.call_tool("query", {"query": "count(up)"})
    assert initialized.serverInfo.name == "prometheus"
    assert not result.isError
    assert result.structuredContent is not None
    assert result.structuredContent["samples"] == [{"labels": {}, "value": 2.0}]


async def _closed_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port
