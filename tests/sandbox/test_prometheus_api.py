"""The sandbox Prometheus HTTP API through real HTTP on 127.0.0.1: shapes, limits and errors."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_bridge.sandbox.prometheus_api import create_prometheus_app, format_sample_value
from mcp_bridge.sandbox.promql import Series
from tests.sandbox.serving import serve

NOW = 1_700_000_000.0
FIRING = {
    "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "severity": "critical"},
    "annotations": {"summary": "checkout is crash looping"},
    "state": "firing",
    "activeAt": "2023-11-14T22:00:00Z",
    "value": 3.0,
}


def world() -> list[Series]:
    every_15s = [NOW - 600 + 15 * k for k in range(41)]
    return [
        Series(
            {"__name__": "up", "job": "api", "instance": "a:80"}, tuple((t, 1.0) for t in every_15s)
        ),
        Series(
            {"__name__": "up", "job": "db", "instance": "d:5432"},
            tuple((t, 0.0) for t in every_15s),
        ),
        Series(
            {"__name__": "http_requests_total", "job": "api", "code": "500"},
            tuple((t, 2.0 * k) for k, t in enumerate(every_15s)),
        ),
        Series(
            {"__name__": "odd", "kind": "specials"},
            ((NOW - 3, math.nan), (NOW - 2, math.inf), (NOW - 1, -math.inf), (NOW, 1e21)),
        ),
        Series({"__name__": "tiny"}, ((NOW, 1.5e-7),)),
        Series({"__name__": "old", "job": "gone"}, ((NOW - 86_400, 1.0),)),
    ]


@pytest.fixture
async def prometheus() -> AsyncIterator[httpx.AsyncClient]:
    app = create_prometheus_app(world(), [FIRING], now=lambda: NOW)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> tuple[int, Any]:
    response = await client.get(path, params=params)
    return response.status_code, response.json()


# ------------------------------------------------------------------------- success shapes


async def test_instant_vector_in_prometheus_shape(prometheus: httpx.AsyncClient) -> None:
    status, body = await get(prometheus, "/api/v1/query", query='up{job="api"}', time=NOW)
    assert status == 200
    assert body == {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {
                    "metric": {"__name__": "up", "instance": "a:80", "job": "api"},
                    "value": [1700000000, "1"],
                }
            ],
        },
    }


async def test_instant_query_defaults_to_now(prometheus: httpx.AsyncClient) -> None:
    _, body = await get(prometheus, "/api/v1/query", query="time()")
    assert body["data"] == {"resultType": "scalar", "result": [1700000000, "1700000000"]}


async def test_post_form_body_works_like_get(prometheus: httpx.AsyncClient) -> None:
    response = await prometheus.post(
        "/api/v1/query", data={"query": "sum(up)", "time": "2023-11-14T22:13:20Z"}
    )
    assert response.status_code == 200
    assert response.json()["data"] == {
        "resultType": "vector",
        "result": [{"metric": {}, "value": [1700000000, "1"]}],
    }


async def test_scalar_and_string_results(prometheus: httpx.AsyncClient) -> None:
    _, scalar = await get(prometheus, "/api/v1/query", query="1 / 4", time="1700000000.5")
    assert scalar["data"] == {"resultType": "scalar", "result": [1700000000.5, "0.25"]}
    _, string = await get(prometheus, "/api/v1/query", query='"hello"', time=NOW)
    assert string["data"] == {"resultType": "string", "result": [1700000000, "hello"]}


async def test_range_query_returns_a_matrix(prometheus: httpx.AsyncClient) -> None:
    status, body = await get(
        prometheus,
        "/api/v1/query_range",
        query="rate(http_requests_total[1m])",
        start="2023-11-14T22:11:20Z",
        end=str(NOW),
        step="1m",
    )
    assert status == 200
    assert body["data"]["resultType"] == "matrix"
    (series,) = body["data"]["result"]
    assert series["metric"] == {"code": "500", "job": "api"}
    assert [t for t, _ in series["values"]] == [NOW - 120, NOW - 60, NOW]
    assert {v for _, v in series["values"]} == {format_sample_value(2 / 15)}


async def test_range_query_step_may_be_float_seconds(prometheus: httpx.AsyncClient) -> None:
    _, body = await get(
        prometheus, "/api/v1/query_range", query="vector(1)", start=NOW, end=NOW + 1, step="0.5"
    )
    assert body["data"]["result"][0]["values"] == [
        [1700000000, "1"],
        [1700000000.5, "1"],
        [1700000001, "1"],
    ]


async def test_special_values_are_spelled_like_prometheus(prometheus: httpx.AsyncClient) -> None:
    _, body = await get(prometheus, "/api/v1/query", query="odd[5s]", time=NOW)
    values = [v for _, v in body["data"]["result"][0]["values"]]
    assert values == ["NaN", "+Inf", "-Inf", "1e+21"]
    _, tiny = await get(prometheus, "/api/v1/query", query="tiny", time=NOW)
    assert tiny["data"]["result"][0]["value"][1] == "1.5e-07"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (-0.0, "-0"),
        (0.1, "0.1"),
        (123456789.125, "123456789.125"),
        (2.5e-5, "0.000025"),
    ],
)
def test_sample_values_format_as_go_does(value: float, text: str) -> None:
    assert format_sample_value(value) == text


async def test_series_labels_and_label_values(prometheus: httpx.AsyncClient) -> None:
    response = await prometheus.get(
        "/api/v1/series",
        params=[("match[]", "up"), ("match[]", '{__name__="tiny"}'), ("start", str(NOW - 60))],
    )
    assert response.status_code == 200
    assert response.json()["data"] == [
        {"__name__": "tiny"},
        {"__name__": "up", "instance": "a:80", "job": "api"},
        {"__name__": "up", "instance": "d:5432", "job": "db"},
    ]
    _, labels = await get(prometheus, "/api/v1/labels")
    assert labels["data"] == ["__name__", "code", "instance", "job", "kind"]
    _, jobs = await get(prometheus, "/api/v1/label/job/values")
    assert jobs["data"] == ["api", "db", "gone"]
    _, recent_jobs = await get(prometheus, "/api/v1/label/job/values", start=NOW - 3600)
    assert recent_jobs["data"] == ["api", "db"]
    _, names = await get(prometheus, "/api/v1/label/__name__/values")
    assert "http_requests_total" in names["data"]


async def test_alerts_rules_and_buildinfo(prometheus: httpx.AsyncClient) -> None:
    _, alerts = await get(prometheus, "/api/v1/alerts")
    assert alerts == {"status": "success", "data": {"alerts": [{**FIRING, "value": "3"}]}}
    _, rules = await get(prometheus, "/api/v1/rules")
    (group,) = rules["data"]["groups"]
    (rule,) = group["rules"]
    assert (rule["name"], rule["state"], rule["type"]) == (
        "KubePodCrashLooping",
        "firing",
        "alerting",
    )
    _, recording = await get(prometheus, "/api/v1/rules", type="record")
    assert recording["data"] == {"groups": []}
    _, info = await get(prometheus, "/api/v1/status/buildinfo")
    assert info["data"]["version"] == "2.42.0"


async def test_health_and_readiness(prometheus: httpx.AsyncClient) -> None:
    healthy = await prometheus.get("/-/healthy")
    ready = await prometheus.get("/-/ready")
    assert (healthy.status_code, healthy.text) == (200, "Prometheus Server is Healthy.\n")
    assert (ready.status_code, ready.text) == (200, "Prometheus Server is Ready.\n")


# ------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("path", "params", "status", "error_type", "message"),
    [
        (
            "/api/v1/query",
            {"query": "sum("},
            400,
            "bad_data",
            'invalid parameter "query": 1:5: parse error: unexpected end of input',
        ),
        ("/api/v1/query", {}, 400, "bad_data", "no expression found in input"),
        (
            "/api/v1/query",
            {"query": 'count_values("v", up)'},
            400,
            "bad_data",
            "count_values is not supported",
        ),
        (
            "/api/v1/query",
            {"query": "up / ignoring(job, instance) up"},
            422,
            "execution",
            "many-to-many matching not allowed",
        ),
        (
            "/api/v1/query",
            {"query": "up", "time": "yesterday"},
            400,
            "bad_data",
            'invalid parameter "time": cannot parse "yesterday" to a valid timestamp',
        ),
        (
            "/api/v1/query",
            {"query": "up", "timeout": "soon"},
            400,
            "bad_data",
            'invalid parameter "timeout": cannot parse "soon" to a valid duration',
        ),
        (
            "/api/v1/query_range",
            {"query": "up", "end": "1", "step": "1"},
            400,
            "bad_data",
            'invalid parameter "start": cannot parse "" to a valid timestamp',
        ),
        (
            "/api/v1/query_range",
            {"query": "up", "start": "10", "end": "5", "step": "1"},
            400,
            "bad_data",
            "end timestamp must not be before start time",
        ),
        (
            "/api/v1/query_range",
            {"query": "up", "start": "0", "end": "5", "step": "0"},
            400,
            "bad_data",
            "zero or negative query resolution step widths are not accepted",
        ),
        (
            "/api/v1/query_range",
            {"query": "up", "start": "0", "end": "5", "step": "5x"},
            400,
            "bad_data",
            'invalid parameter "step": cannot parse "5x" to a valid duration',
        ),
        (
            "/api/v1/query_range",
            {"query": "up", "start": "0", "end": "86400", "step": "1"},
            400,
            "bad_data",
            "exceeded maximum resolution of 11,000 points per timeseries",
        ),
        (
            "/api/v1/query_range",
            {"query": "up[5m]", "start": "0", "end": "60", "step": "15"},
            400,
            "bad_data",
            'invalid expression type "range vector" for range query',
        ),
        ("/api/v1/series", {}, 400, "bad_data", "no match[] parameter provided"),
        ("/api/v1/series", {"match[]": "up +"}, 400, "bad_data", 'invalid parameter "match[]"'),
        ("/api/v1/series", {"match[]": "sum(up)"}, 400, "bad_data", "expected a series selector"),
        ("/api/v1/label/bad-name/values", {}, 400, "bad_data", 'invalid label name: "bad-name"'),
        ("/api/v1/rules", {"type": "both"}, 400, "bad_data", 'not supported value "both"'),
    ],
)
async def test_errors_come_in_prometheus_error_shape(
    prometheus: httpx.AsyncClient,
    path: str,
    params: dict[str, str],
    status: int,
    error_type: str,
    message: str,
) -> None:
    got_status, body = await get(prometheus, path, **params)
    assert got_status == status
    assert body["status"] == "error"
    assert body["errorType"] == error_type
    assert message in body["error"]


async def test_timeout_is_a_503_in_prometheus_shape() -> None:
    many = [
        Series({"__name__": "g", "pod": str(i)}, tuple((float(t), 1.0) for t in range(0, 7200, 15)))
        for i in range(50)
    ]
    app = create_prometheus_app(many, [], now=lambda: 7200.0, query_timeout_s=0.0)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get(
            "/api/v1/query_range",
            params={"query": "rate(g[5m])", "start": "0", "end": "7200", "step": "15"},
        )
    assert response.status_code == 503
    assert response.json()["errorType"] == "timeout"


async def test_unknown_paths_are_404(prometheus: httpx.AsyncClient) -> None:
    response = await prometheus.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.text == "404 page not found\n"


async def test_wrong_method_is_405_not_500(prometheus: httpx.AsyncClient) -> None:
    response = await prometheus.delete("/api/v1/query")
    assert response.status_code == 405


_PROMQL_PIECES = st.sampled_from(
    [
        "up",
        "rate(",
        "sum",
        " by ",
        "(",
        ")",
        "[5m]",
        "[5m:1m]",
        "{",
        "}",
        'job="api"',
        "=~",
        '"',
        "'",
        "`",
        ",",
        "+",
        "-",
        "*",
        "/",
        "^",
        "%",
        " and ",
        " or ",
        " unless ",
        "==",
        "bool",
        " on(job)",
        " group_left",
        " offset ",
        "5m",
        "@",
        "1e308",
        "NaN",
        "Inf",
        "0x",
        "histogram_quantile(",
        "0.9",
        "topk(",
        "vector(",
        "time()",
        "\\",
        "#",
        "\n",
        "le",
        "label_replace(",
        "absent(",
        "-",
        "1h30m",
        ":",
        "http_requests_total",
        "9" * 30,
    ]
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=st.one_of(st.text(max_size=60), st.lists(_PROMQL_PIECES, max_size=12).map("".join)))
async def test_no_query_string_makes_the_api_fail_with_a_500(
    prometheus: httpx.AsyncClient, query: str
) -> None:
    for path, extra in (
        ("/api/v1/query", {"time": str(NOW)}),
        ("/api/v1/query_range", {"start": str(NOW - 600), "end": str(NOW), "step": "60"}),
    ):
        response = await prometheus.get(path, params={"query": query, **extra})
        assert response.status_code in (200, 400, 422), (query, response.text)
        body = response.json()
        assert body["status"] in ("success", "error")
        if body["status"] == "error":
            assert body["errorType"] in ("bad_data", "execution")
            assert "Traceback" not in body["error"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.text(max_size=25),
    end=st.text(max_size=25),
    step=st.one_of(st.text(max_size=10), st.floats().map(str)),
)
async def test_no_parameter_makes_query_range_fail_with_a_500(
    prometheus: httpx.AsyncClient, start: str, end: str, step: str
) -> None:
    response = await prometheus.get(
        "/api/v1/query_range", params={"query": "up", "start": start, "end": end, "step": step}
    )
    assert response.status_code in (200, 400), (start, end, step, response.text)


async def test_a_huge_query_is_an_execution_error_not_a_500(prometheus: httpx.AsyncClient) -> None:
    response = await prometheus.post(
        "/api/v1/query", data={"query": " + ".join(["up"] * 5000), "time": str(NOW)}
    )
    assert response.status_code == 422
    assert "nested too deeply" in response.json()["error"]
