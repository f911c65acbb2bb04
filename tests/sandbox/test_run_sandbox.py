"""`run_sandbox`: both APIs on free 127.0.0.1 ports, the kubeconfig, the alert as Alertmanager
would send it, offsets resolved to the present, metrics at absolute times, and a clean stop."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mcp_bridge.sandbox import load_scenario, parse_scenario, run_sandbox
from mcp_bridge.sandbox.runner import alert_fingerprint, metric_series
from mcp_bridge.sandbox.scenario import MetricSeries
from mcp_bridge.sandbox.timeoffsets import format_time, offset_seconds, resolve_time, resolve_times

TINY: dict[str, Any] = {
    "name": "tiny",
    "description": "one node",
    "alert": {"labels": {"alertname": "NodeDown", "node": "n1"}, "startsAt": "-2m"},
    "cluster": [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n1", "creationTimestamp": "-3d"},
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "-1h30m"}]
            },
        }
    ],
    "metrics": [
        {"labels": {"__name__": "up", "instance": "n1"}, "values": [[-120, 1], [-60, 0], [0, 0]]}
    ],
}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("-15m", -900),
        ("-90s", -90),
        ("0s", 0),
        ("+2m", 120),
        ("-3d", -259200),
        ("-1.5h", -5400),
        ("-1h30m", -5400),
    ],
)
def test_offsets(text: str, seconds: float) -> None:
    assert offset_seconds(text) == seconds


def test_rfc3339_is_not_an_offset_and_is_kept_as_written() -> None:
    assert offset_seconds("2024-05-01T10:00:00Z") is None
    assert resolve_time("2024-05-01T10:00:00Z", 1e9) == "2024-05-01T10:00:00Z"


def test_resolving_touches_time_keys_only() -> None:
    now = 1_700_000_000.0
    resolved = resolve_times(
        {
            "metadata": {
                "creationTimestamp": "-1h",
                "name": "-1h",
                "annotations": {"x/restartedAt": "-2m"},
            },
            "eventTime": "0s",
            "data": {"startedAt": "-5m"},
        },
        now,
    )
    assert resolved["metadata"]["creationTimestamp"] == format_time(now - 3600)
    assert resolved["metadata"]["name"] == "-1h"
    assert resolved["metadata"]["annotations"]["x/restartedAt"] == format_time(now - 120)
    assert resolved["eventTime"] == "2023-11-14T22:13:20.000000Z"  # MicroTime keeps microseconds
    assert resolved["data"] == {"startedAt": "-5m"}  # ConfigMap payloads are opaque


def test_alertmanager_fingerprint() -> None:
    labels = {
        "alertname": "KubePodCrashLooping",
        "container": "app",
        "namespace": "prod",
        "pod": "payments-5c8d7f9b4-abcde",
        "severity": "critical",
    }
    assert alert_fingerprint(labels) == "a531ff20c57b2344"  # as Alertmanager 0.25 computed it


def test_scrape_interval_draws_straight_lines_between_points() -> None:
    metric = MetricSeries(labels={"__name__": "m"}, values=[(-60, 0), (0, 60)], scrape_interval=15)
    [series] = metric_series([metric], now=1000.0)
    assert series.points == (
        (940.0, 0.0),
        (955.0, 15.0),
        (970.0, 30.0),
        (985.0, 45.0),
        (1000.0, 60.0),
    )


def test_values_that_are_times_are_served_as_unix_time() -> None:
    expiry = MetricSeries(
        labels={"__name__": "certmanager_certificate_expiration_timestamp_seconds"},
        values=[(-120, 86400), (0, 86400)],
        values_are_times=True,
    )
    [series] = metric_series([expiry], now=1000.0)
    assert series.points == ((880.0, 87400.0), (1000.0, 87400.0))


async def test_both_apis_on_loopback_with_the_alert_as_alertmanager_sends_it() -> None:
    before = time.time()
    async with run_sandbox(load_scenario("checkout-oom")) as sandbox:
        assert sandbox.kubernetes_url.startswith("http://127.0.0.1:")
        assert sandbox.prometheus_url.startswith("http://127.0.0.1:")
        assert sandbox.kubernetes_url != sandbox.prometheus_url
        assert before - 1 <= sandbox.now <= time.time()
        assert sandbox.now == int(sandbox.now)
        alert = sandbox.alert
        assert list(alert) == [
            "status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint",
        ]  # fmt: skip
        assert alert["status"] == "firing"
        assert alert["startsAt"] == format_time(sandbox.now - 540)
        assert alert["endsAt"] == "0001-01-01T00:00:00Z"
        assert alert["generatorURL"].startswith(f"{sandbox.prometheus_url}/graph?g0.expr=")
        assert alert["fingerprint"] == alert_fingerprint(alert["labels"])
        async with httpx.AsyncClient(timeout=5) as http:
            pod = (
                await http.get(
                    f"{sandbox.kubernetes_url}/api/v1/namespaces/shop/pods/checkout-6c9f7b8d4-x2k4q"
                )
            ).json()
            alerts = (await http.get(f"{sandbox.prometheus_url}/api/v1/alerts")).json()
            limit = (
                await http.get(
                    f"{sandbox.prometheus_url}/api/v1/query",
                    params={
                        "query": "kube_pod_container_resource_limits"
                        '{pod="checkout-6c9f7b8d4-x2k4q"}'
                    },
                )
            ).json()
        assert pod["metadata"]["creationTimestamp"] == format_time(sandbox.now - 3 * 86400)
        terminated = pod["status"]["containerStatuses"][0]["lastState"]["terminated"]
        assert terminated["finishedAt"] == format_time(sandbox.now - 70)
        [firing] = alerts["data"]["alerts"]
        assert firing["state"] == "firing"
        assert firing["labels"]["alertname"] == "KubePodCrashLooping"
        assert firing["activeAt"] == alert["startsAt"]
        assert float(limit["data"]["result"][0]["value"][1]) == 536870912


async def test_kubeconfig_points_at_the_sandbox_and_a_temporary_one_is_removed() -> None:
    async with run_sandbox(parse_scenario(TINY)) as sandbox:
        path = sandbox.kubeconfig_path
        config = yaml.safe_load(path.read_text())
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config["current-context"] == "sre-agent-sandbox"
    assert config["clusters"] == [
        {"name": "sre-agent-sandbox", "cluster": {"server": sandbox.kubernetes_url}}
    ]
    assert config["users"] == [{"name": "sre-agent-sandbox", "user": {}}]
    assert config["contexts"][0]["context"] == {
        "cluster": "sre-agent-sandbox",
        "user": "sre-agent-sandbox",
    }
    assert not path.exists()


async def test_a_kubeconfig_path_given_is_written_there_and_kept(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "kubeconfig"
    async with run_sandbox(load_scenario("checkout-oom"), kubeconfig_path=target) as sandbox:
        assert sandbox.kubeconfig_path == target
    config = yaml.safe_load(target.read_text())
    assert config["contexts"][0]["context"]["namespace"] == "shop"  # the alert's namespace


async def test_servers_stop_when_the_context_exits() -> None:
    async with run_sandbox(parse_scenario(TINY)) as sandbox:
        url = sandbox.kubernetes_url
    async with httpx.AsyncClient(timeout=2) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{url}/version")


async def test_two_sandboxes_run_side_by_side() -> None:
    async with run_sandbox(parse_scenario(TINY)) as one, run_sandbox(parse_scenario(TINY)) as two:
        assert (
            len({one.kubernetes_url, one.prometheus_url, two.kubernetes_url, two.prometheus_url})
            == 4
        )


async def test_a_resolved_alert_is_not_firing_in_prometheus() -> None:
    scenario = parse_scenario(
        {**TINY, "alert": {**TINY["alert"], "status": "resolved", "endsAt": "-1m"}}
    )
    async with run_sandbox(scenario) as sandbox, httpx.AsyncClient(timeout=5) as http:
        assert sandbox.alert["endsAt"] == format_time(sandbox.now - 60)
        alerts = (await http.get(f"{sandbox.prometheus_url}/api/v1/alerts")).json()
        series = (
            await http.get(f"{sandbox.prometheus_url}/api/v1/query", params={"query": "ALERTS"})
        ).json()
    assert alerts["data"]["alerts"] == []
    assert series["data"]["result"] == []


async def test_metrics_are_served_at_times_relative_to_the_present() -> None:
    async with run_sandbox(parse_scenario(TINY)) as sandbox, httpx.AsyncClient(timeout=5) as http:
        result = (
            await http.get(
                f"{sandbox.prometheus_url}/api/v1/query_range",
                params={"query": "up", "start": sandbox.now - 120, "end": sandbox.now, "step": 60},
            )
        ).json()["data"]["result"]
        alerts = (
            await http.get(f"{sandbox.prometheus_url}/api/v1/query", params={"query": "ALERTS"})
        ).json()
    assert [(t - sandbox.now, float(v)) for t, v in result[0]["values"]] == [
        (-120, 1.0),
        (-60, 0.0),
        (0, 0.0),
    ]
    [firing] = alerts["data"]["result"]
    assert firing["metric"]["alertstate"] == "firing"
    assert firing["metric"]["node"] == "n1"
