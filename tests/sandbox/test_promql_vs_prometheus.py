"""The sandbox engine answers like the real Prometheus 2.42 on the same data (differential test).

Needs Debian's `prometheus` and `promtool`; skipped when they are missing.
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.shared.memory import create_connected_server_and_client_session

from mcp_bridge.sandbox.prometheus_api import create_prometheus_app
from mcp_bridge.sandbox.promql import (
    MatrixResult,
    PromQLEngine,
    QueryExecutionError,
    QueryResult,
    ScalarResult,
    StringResult,
    VectorResult,
)
from mcp_bridge.servers.prometheus import build_server
from tests.sandbox.promql_world import build_world, to_openmetrics
from tests.sandbox.serving import serve

pytestmark = [
    pytest.mark.prometheus,
    pytest.mark.skipif(
        shutil.which("prometheus") is None or shutil.which("promtool") is None,
        reason="needs Debian's prometheus and promtool (apt-get install prometheus)",
    ),
]

# Two hours of data ending a minute ago, so Prometheus' retention keeps it all.
END = float(int(time.time()) // 60 * 60 - 60)
WORLD = build_world(END)

QUERIES = [
    # what alert rules and on-call engineers actually run
    (
        'sum(rate(http_requests_total{code=~"5.."}[5m])) by (pod) / '
        "sum(rate(http_requests_total[5m])) by (pod)"
    ),
    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, sum by (le, pod) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[10m]))",
    (
        "sum(increase(container_cpu_cfs_throttled_periods_total[5m])) by (pod) / "
        "sum(increase(container_cpu_cfs_periods_total[5m])) by (pod)"
    ),
    (
        "container_memory_working_set_bytes / "
        'on(pod, container) kube_pod_container_resource_limits{resource="memory"}'
    ),
    "container_memory_working_set_bytes * on(pod) group_left(node) kube_pod_info",
    "kube_pod_info * on(pod) group_right(node) container_memory_working_set_bytes",
    "up == 0",
    "up != bool 1",
    "kube_deployment_status_replicas_available",
    "predict_linear(kubelet_volume_stats_available_bytes[30m], 4 * 3600) < 49e9",
    "predict_linear(kubelet_volume_stats_available_bytes[1h], 86400)",
    # selectors
    "up",
    'up{job=~"ap.|db"}',
    'up{job!~"ap"}',
    'up{instance=~"10\\\\.0\\\\.0\\\\..:8080"}',
    '{__name__=~"kube_.*_available|up", job!="db"}',
    'http_requests_total{code!="200", pod=~"check.*"}',
    "queue_depth",
    "http_requests_total offset 10m",
    "http_requests_total offset -3m",
    # counters and gauges over time
    "rate(http_requests_total[5m])",
    "rate(http_requests_total[1m])",
    "rate(http_requests_total[5m] offset 7m)",
    "irate(http_requests_total[5m])",
    "increase(http_requests_total[10m])",
    "increase(http_requests_total[1h])",
    "resets(http_requests_total[1h])",
    "changes(up[30m])",
    "delta(container_memory_working_set_bytes[10m])",
    "idelta(container_memory_working_set_bytes[5m])",
    "deriv(container_memory_working_set_bytes[10m])",
    "avg_over_time(container_memory_working_set_bytes[10m])",
    "max_over_time(queue_depth[10m])",
    "min_over_time(queue_depth[3m])",
    "sum_over_time(queue_depth[5m])",
    "count_over_time(queue_depth[5m])",
    "last_over_time(queue_depth[5m])",
    "stddev_over_time(queue_depth[10m])",
    "stdvar_over_time(queue_depth[10m])",
    "quantile_over_time(0.9, queue_depth[10m])",
    "present_over_time(queue_depth[2m])",
    "absent_over_time(queue_depth[2m])",
    'absent_over_time(queue_depth{queue="stopped"}[5m])',
    "holt_winters(container_memory_working_set_bytes[10m], 0.5, 0.3)",
    "max_over_time(odd_gauge[2m])",
    "min_over_time(odd_gauge[2m])",
    "avg_over_time(odd_gauge[1m])",
    # aggregation
    "sum(http_requests_total)",
    "sum by (code) (rate(http_requests_total[5m]))",
    "sum(rate(http_requests_total[5m])) without (pod, app)",
    "avg by (namespace) (container_memory_working_set_bytes)",
    "max by (container) (container_memory_working_set_bytes)",
    "min(container_memory_working_set_bytes)",
    "count by (code) (http_requests_total)",
    "count(up == 1)",
    "stddev(container_memory_working_set_bytes)",
    "stdvar by (pod) (container_memory_working_set_bytes)",
    "group by (job) (up)",
    "quantile(0.75, container_memory_working_set_bytes)",
    "quantile by (container) (0.2, container_memory_working_set_bytes)",
    "topk(2, container_memory_working_set_bytes)",
    "bottomk(1, container_memory_working_set_bytes) by (container)",
    "topk(1, rate(http_requests_total[5m])) by (code)",
    "max(odd_gauge)",
    "SUM(up) BY (job)",
    # operators
    "1 + 2 * 3 ^ 2 ^ 0.5 - 4 / 2 % 3",
    "-2 ^ 2",
    "2 * http_requests_total + 1",
    "-container_memory_working_set_bytes",
    "container_memory_working_set_bytes / container_memory_working_set_bytes",
    "http_requests_total > 1000",
    "1000 < http_requests_total",
    "http_requests_total > bool 1000",
    (
        "container_memory_working_set_bytes > on(pod, container) "
        '(kube_pod_container_resource_limits{resource="memory"} * 0.5)'
    ),
    'up and on(job) up{job="api"}',
    "up or vector(0)",
    "up unless up == 0",
    'up{job="api"} or up{job="db"}',
    (
        "rate(http_requests_total[5m]) / "
        "ignoring(code) group_left sum without (code) (rate(http_requests_total[5m]))"
    ),
    "queue_depth % 4",
    "queue_depth atan2 2",
    "odd_gauge / 0",
    "odd_gauge == odd_gauge",
    "0 / 0",
    # functions
    "time()",
    "vector(1)",
    "vector(time())",
    "scalar(kube_deployment_status_replicas_available)",
    'scalar(kube_deployment_status_replicas_available{deployment="cart"})',
    'absent(nonexistent{job="x", env=~"p.*"})',
    "absent(up)",
    "abs(delta(container_memory_working_set_bytes[10m]))",
    "clamp_min(queue_depth, 5)",
    "clamp_max(queue_depth, 5)",
    "clamp(queue_depth, 2, 8)",
    "clamp(queue_depth, 8, 2)",
    "round(container_memory_working_set_bytes / 1e6, 0.5)",
    "round(queue_depth / 3)",
    "ceil(queue_depth / 5)",
    "floor(queue_depth / 5)",
    "sqrt(queue_depth)",
    "exp(queue_depth / 10)",
    "ln(queue_depth)",
    "log2(queue_depth)",
    "log10(queue_depth)",
    "sgn(queue_depth - 6)",
    "timestamp(up)",
    "timestamp(rate(http_requests_total[5m]))",
    'label_replace(up, "host", "$1", "instance", "(.*):.*")',
    'label_replace(up, "job", "", "job", "api")',
    'label_replace(up, "port", "${2}x$1", "instance", "([0-9.]+):([0-9]+)")',
    'label_join(up, "both", "-", "job", "instance")',
    "hour()",
    "minute(vector(1700000000))",
    "day_of_week(vector(1700000000))",
    "days_in_month(vector(1700000000))",
    "pi()",
    # subqueries and @
    "max_over_time(rate(http_requests_total[1m])[10m:1m])",
    "max_over_time(rate(http_requests_total[2m])[15m:])",
    "avg_over_time(sum by (pod) (rate(http_requests_total[5m]))[30m:2m] offset 5m)",
    "rate(http_requests_total[5m] @ end())",
    "up @ start()",
]
ERRORING = [
    # many-to-many: several codes per pod on one side, several containers per pod on the other
    "http_requests_total / on(pod) container_memory_working_set_bytes",
    "container_memory_working_set_bytes / on(pod) kube_pod_info",
    "container_memory_working_set_bytes > on(pod, container) kube_pod_container_resource_limits",
    # a value-changing function that makes two series identical
    '{__name__=~"container_cpu_cfs_periods_total|container_cpu_cfs_throttled_periods_total"} * 2',
]


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("prometheus")
    source = work / "world.om"
    source.write_text(to_openmetrics(WORLD))
    data = work / "data"
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    config = work / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 1m\n")
    port = _free_port()
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(work / "prometheus.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, work / "prometheus.log")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def engine() -> PromQLEngine:
    return PromQLEngine(WORLD)


@pytest.fixture(scope="module")
def client(prometheus_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=prometheus_url, timeout=30) as http:
        yield http


INSTANT_TIMES = (END, END - 17 * 60 - 13.5, END - 45 * 60)


@pytest.mark.parametrize("query", QUERIES)
def test_instant_query_matches_prometheus(
    query: str, engine: PromQLEngine, client: httpx.Client
) -> None:
    for at in INSTANT_TIMES:
        expected = _prometheus(client, "/api/v1/query", {"query": query, "time": at})
        actual = _normalize(engine.instant_query(query, at))
        _assert_same(expected, actual, f"{query} @ {at}")


@pytest.mark.parametrize("query", QUERIES)
def test_range_query_matches_prometheus(
    query: str, engine: PromQLEngine, client: httpx.Client
) -> None:
    for start, step in ((END - 3600, 60.0), (END - 1800 - 7.25, 47.0)):
        params = {"query": query, "start": start, "end": END, "step": step}
        expected = _prometheus(client, "/api/v1/query_range", params)
        actual = _normalize(engine.range_query(query, start, END, step))
        _assert_same(expected, actual, f"{query} over [{start}, {END}] step {step}")


@pytest.mark.parametrize("query", ERRORING)
def test_evaluation_errors_match_prometheus(
    query: str, engine: PromQLEngine, client: httpx.Client
) -> None:
    response = client.get("/api/v1/query", params={"query": query, "time": END})
    assert response.status_code == 422, response.text
    with pytest.raises(QueryExecutionError):
        engine.instant_query(query, END)


def test_instant_query_of_a_range_selector_returns_the_raw_samples(
    engine: PromQLEngine, client: httpx.Client
) -> None:
    for query in ("http_requests_total[1m]", "queue_depth[5m] offset 2m"):
        expected = _prometheus(client, "/api/v1/query", {"query": query, "time": END})
        _assert_same(expected, _normalize(engine.instant_query(query, END)), query)


def _prometheus(client: httpx.Client, path: str, params: dict[str, Any]) -> dict[str, Any]:
    response = client.get(path, params=params)
    body = response.json()
    if body["status"] != "success":
        raise AssertionError(f"Prometheus rejected {params}: {body}")
    data = body["data"]
    kind = data["resultType"]
    if kind == "scalar" or kind == "string":
        return {"type": kind, "value": _value(data["result"][1])}
    if kind == "vector":
        return {
            "type": kind,
            "series": {_labels(r["metric"]): [_value(r["value"][1])] for r in data["result"]},
        }
    return {
        "type": kind,
        "series": {
            _labels(r["metric"]): [(float(t), _value(v)) for t, v in r["values"]]
            for r in data["result"]
        },
    }


def _normalize(result: QueryResult) -> dict[str, Any]:
    if isinstance(result, ScalarResult | StringResult):
        return {"type": result.result_type, "value": result.value}
    if isinstance(result, VectorResult):
        series: dict[Any, Any] = {}
        for sample in result.samples:
            key = _labels(sample.labels)
            assert key not in series, f"duplicate series {key}"
            series[key] = [sample.value]
        return {"type": "vector", "series": series}
    assert isinstance(result, MatrixResult)
    return {
        "type": "matrix",
        "series": {_labels(s.labels): [(t, v) for t, v in s.points] for s in result.series},
    }


def _assert_same(expected: dict[str, Any], actual: dict[str, Any], what: str) -> None:
    assert actual["type"] == expected["type"], what
    if "value" in expected:
        assert _close(expected["value"], actual["value"]), (what, expected, actual)
        return
    assert set(actual["series"]) == set(expected["series"]), (
        what,
        sorted(expected["series"]),
        sorted(actual["series"]),
    )
    for key, points in expected["series"].items():
        got = actual["series"][key]
        assert len(got) == len(points), (what, key, points, got)
        for want, have in zip(points, got, strict=True):
            if isinstance(want, tuple):
                assert want[0] == pytest.approx(have[0], abs=1e-6), (what, key, want, have)
                want, have = want[1], have[1]
            assert _close(want, have), (what, key, want, have)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return bool(a == pytest.approx(b, rel=1e-9, abs=1e-9))


def _labels(metric: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(metric.items()))


def _value(text: Any) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"prometheus did not become ready: {log.read_text()[-2000:]}")


# ----------------------------------------------------------------------------- HTTP layer

RAW_REQUESTS = [
    ("/api/v1/query", {"query": "up", "time": str(END)}),
    ("/api/v1/query", {"query": "odd_gauge", "time": str(END - 0.5)}),
    ("/api/v1/query", {"query": "queue_depth[1m]", "time": str(END)}),
    ("/api/v1/query", {"query": "http_requests_total[45s]", "time": str(END - 100.25)}),
    ("/api/v1/query", {"query": "time()", "time": "2023-11-14T22:13:20.123Z"}),
    ("/api/v1/query", {"query": "vector(1e21) + 1.5e-7", "time": str(END)}),
    ("/api/v1/query", {"query": '"some text"', "time": str(END)}),
    ("/api/v1/query", {"query": "-Inf * vector(1)", "time": str(END)}),
    (
        "/api/v1/query_range",
        {
            "query": "kube_pod_container_resource_limits",
            "start": str(END - 600),
            "end": str(END),
            "step": "1m",
        },
    ),
    (
        "/api/v1/query_range",
        {"query": "queue_depth", "start": str(END - 3000), "end": str(END - 2000), "step": "77.5"},
    ),
    ("/api/v1/series", {"match[]": 'up{job="api"}'}),
    ("/api/v1/series", {"match[]": "queue_depth", "start": str(END - 600), "end": str(END)}),
    ("/api/v1/labels", {}),
    ("/api/v1/label/job/values", {}),
    ("/api/v1/label/__name__/values", {}),
]
ERROR_REQUESTS = [
    ("/api/v1/query", {"query": "sum("}),
    ("/api/v1/query", {"query": "1 > 2"}),
    ("/api/v1/query", {"query": "foo(up)"}),
    ("/api/v1/query", {"query": ""}),
    ("/api/v1/query", {"query": "up", "time": "yesterday"}),
    (
        "/api/v1/query",
        {"query": "http_requests_total / on(pod) container_memory_working_set_bytes"},
    ),
    ("/api/v1/query_range", {"query": "up", "start": "10", "end": "5", "step": "1"}),
    ("/api/v1/query_range", {"query": "up", "start": "0", "end": "5", "step": "0"}),
    ("/api/v1/query_range", {"query": "up", "start": "0", "end": "86400", "step": "1"}),
    ("/api/v1/query_range", {"query": "up[5m]", "start": "0", "end": "60", "step": "15"}),
    ("/api/v1/query_range", {"query": "up", "start": "0", "end": "60", "step": "1x"}),
    ("/api/v1/series", {}),
    ("/api/v1/series", {"match[]": "sum(up)"}),
    ("/api/v1/label/bad-name/values", {}),
]


@pytest.fixture
async def sandbox_url() -> AsyncIterator[str]:
    async with serve(create_prometheus_app(WORLD, [], now=lambda: END)) as url:
        yield url


async def test_http_responses_are_byte_for_byte_those_of_prometheus(
    prometheus_url: str, sandbox_url: str
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for path, params in RAW_REQUESTS:
            real = await http.get(prometheus_url + path, params=params)
            ours = await http.get(sandbox_url + path, params=params)
            assert real.status_code == 200, real.text
            expected, actual = real.json(), ours.json()
            if expected["data"] and isinstance(expected["data"], dict):
                _sort_result(expected["data"])
                _sort_result(actual["data"])
            assert actual == expected, (path, params)


async def test_http_errors_have_prometheus_status_and_type(
    prometheus_url: str, sandbox_url: str
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for path, params in ERROR_REQUESTS:
            real = await http.get(prometheus_url + path, params={"time": str(END), **params})
            ours = await http.get(sandbox_url + path, params={"time": str(END), **params})
            assert ours.status_code == real.status_code, (path, params, real.text, ours.text)
            assert ours.json()["errorType"] == real.json()["errorType"], (path, params)


async def test_the_mcp_server_reads_the_real_prometheus(prometheus_url: str) -> None:
    server = build_server({"PROMETHEUS_URL": prometheus_url})
    async with create_connected_server_and_client_session(server) as client:
        instant = await client.call_tool("query", {"query": "count(up)", "time": str(END)})
        ranged = await client.call_tool(
            "query_range",
            {
                "query": "sum by (code) (rate(http_requests_total[5m]))",
                "start": str(END - 3600),
                "end": str(END),
            },
        )
        bad = await client.call_tool("query", {"query": "sum("})
    assert instant.structuredContent is not None
    assert instant.structuredContent["samples"] == [{"labels": {}, "value": 3.0}]
    assert ranged.structuredContent is not None
    assert ranged.structuredContent["series_count"] == 3
    assert ranged.structuredContent["series"][0]["summary"]["points"] == 61
    assert bad.isError


def _sort_result(data: dict[str, Any]) -> None:
    if (
        isinstance(data.get("result"), list)
        and data["result"]
        and isinstance(data["result"][0], dict)
    ):
        data["result"].sort(key=lambda r: sorted(r["metric"].items()))
