"""Each built-in scenario tells its story through PromQL too: the numbers a person would query
agree with the cluster the scenario describes."""

from __future__ import annotations

from typing import Any

import httpx

from mcp_bridge.sandbox import Sandbox, load_scenario, run_sandbox


async def instant(
    http: httpx.AsyncClient, sandbox: Sandbox, query: str, ago: float = 0
) -> list[Any]:
    response = await http.get(
        f"{sandbox.prometheus_url}/api/v1/query", params={"query": query, "time": sandbox.now - ago}
    )
    assert response.status_code == 200, response.text
    return [float(sample["value"][1]) for sample in response.json()["data"]["result"]]


async def test_checkout_traffic_doubled_and_memory_reached_its_limit() -> None:
    async with run_sandbox(load_scenario("checkout-oom")) as sandbox, httpx.AsyncClient() as http:
        rate = 'sum(rate(http_server_requests_seconds_count{service="checkout"}[5m]))'
        assert await instant(http, sandbox, rate, ago=3000) == [120.0]
        assert await instant(http, sandbox, rate) == [260.0]
        peak = (
            'max(max_over_time(container_memory_working_set_bytes{namespace="shop"}[1h])'
            ' / on (pod) group_left kube_pod_container_resource_limits{resource="memory"})'
        )
        [ratio] = await instant(http, sandbox, peak)
        assert 0.99 < ratio <= 1.0
        restarts = (
            "increase(kube_pod_container_status_restarts_total"
            '{pod="checkout-6c9f7b8d4-x2k4q"}[30m])'
        )
        [increase] = await instant(http, sandbox, restarts)
        assert round(increase) == 5


async def test_orders_rollout_left_one_replica_unavailable() -> None:
    async with (
        run_sandbox(load_scenario("orders-missing-config-key")) as sandbox,
        httpx.AsyncClient() as http,
    ):
        unavailable = 'kube_deployment_status_replicas_unavailable{deployment="orders"}'
        assert await instant(http, sandbox, unavailable, ago=1800) == [0.0]
        assert await instant(http, sandbox, unavailable) == [1.0]


async def test_search_runs_at_its_maximum_without_errors() -> None:
    async with (
        run_sandbox(load_scenario("search-hpa-maxed-healthy")) as sandbox,
        httpx.AsyncClient() as http,
    ):
        maxed = (
            "kube_horizontalpodautoscaler_status_current_replicas"
            " == on (horizontalpodautoscaler) kube_horizontalpodautoscaler_spec_max_replicas"
        )
        assert await instant(http, sandbox, maxed) == [4.0]
        errors = 'sum(rate(http_requests_total{service="search",code="500"}[10m]))'
        [error_rate] = await instant(http, sandbox, errors)
        assert error_rate < 0.01
