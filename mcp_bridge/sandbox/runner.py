"""`run_sandbox`: serve one scenario as a Kubernetes API and a Prometheus API on 127.0.0.1 (free
ports, plain http) and write a kubeconfig that points at it, for as long as the context is open."""

from __future__ import annotations

import math
import os
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from aiohttp import web

from mcp_bridge.servers.kubernetes.kubectl import epoch

from .cluster import ClusterStore, complete_cluster
from .kube_api import create_kubernetes_app
from .prometheus_api import create_prometheus_app
from .promql import Series
from .scenario import MetricSeries, Scenario
from .timeoffsets import resolve_time

KUBECONFIG_NAME = "sre-agent-sandbox"
# Alertmanager writes this for an alert that has not ended.
_NEVER = "0001-01-01T00:00:00Z"
_ALERTS_SAMPLE_EVERY_S = 30.0
_ALERTS_MAX_POINTS = 2880
_SHUTDOWN_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Sandbox:
    """A running sandbox: where to reach it, the present it was started at, and its alert."""

    kubernetes_url: str
    prometheus_url: str
    kubeconfig_path: Path
    now: float  # epoch seconds of the scenario's present (whole seconds)
    scenario: Scenario
    alert: dict[str, Any]  # the scenario's alert as Alertmanager would send it, times resolved


@asynccontextmanager
async def run_sandbox(
    scenario: Scenario, *, kubeconfig_path: Path | None = None
) -> AsyncIterator[Sandbox]:
    """Serve `scenario` until the context exits. The kubeconfig goes to `kubeconfig_path` (left
    in place afterwards) or to a temporary file (removed afterwards)."""
    now = float(math.floor(time.time()))
    store = ClusterStore(complete_cluster(scenario.cluster, now))
    runners: list[web.AppRunner] = []
    sockets: list[socket.socket] = []
    temp_dir: str | None = None
    try:
        # The alert's generatorURL names Prometheus' port: bind both ports before building apps.
        kube_socket, prom_socket = _bind(), _bind()
        sockets += (kube_socket, prom_socket)
        kubernetes_url, prometheus_url = _url(kube_socket), _url(prom_socket)
        alert = resolve_alert(scenario.alert, now, prometheus_url)
        series = [*metric_series(scenario.metrics, now), *alerts_series(alert, now)]
        apps = (
            (create_kubernetes_app(store, scenario.logs, time.time), kube_socket),
            (create_prometheus_app(series, prometheus_alerts(alert), time.time), prom_socket),
        )
        for app, sock in apps:
            runners.append(await _serve(app, sock))
        if kubeconfig_path is None:
            temp_dir = tempfile.mkdtemp(prefix="sre-agent-sandbox-")
            kubeconfig_path = Path(temp_dir) / "kubeconfig"
        write_kubeconfig(kubeconfig_path, kubernetes_url, alert["labels"].get("namespace"))
        yield Sandbox(
            kubernetes_url=kubernetes_url,
            prometheus_url=prometheus_url,
            kubeconfig_path=kubeconfig_path,
            now=now,
            scenario=scenario,
            alert=alert,
        )
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        for sock in sockets:
            sock.close()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)


def _bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


async def _serve(app: web.Application, sock: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def write_kubeconfig(path: Path, server: str, namespace: str | None) -> None:
    """A kubeconfig with one cluster, context and credential-less user, all `sre-agent-sandbox`."""
    context: dict[str, Any] = {"cluster": KUBECONFIG_NAME, "user": KUBECONFIG_NAME}
    if namespace:
        context["namespace"] = namespace
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": KUBECONFIG_NAME, "cluster": {"server": server}}],
        "contexts": [{"name": KUBECONFIG_NAME, "context": context}],
        "current-context": KUBECONFIG_NAME,
        "users": [{"name": KUBECONFIG_NAME, "user": {}}],
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    partial.chmod(0o600)
    os.replace(partial, path)


def alert_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 over sorted names and values."""
    digest = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode() + b"\xff":
                digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def resolve_alert(alert: Mapping[str, Any], now: float, prometheus_url: str) -> dict[str, Any]:
    """The scenario's alert as Alertmanager's webhook carries it, with every key present."""
    labels = dict(alert["labels"])
    status = alert.get("status", "firing")
    expression = quote(f'ALERTS{{alertname="{labels["alertname"]}"}}', safe="")
    return {
        "status": status,
        "labels": labels,
        "annotations": dict(alert.get("annotations", {})),
        "startsAt": resolve_time(alert.get("startsAt", "0s"), now),
        "endsAt": resolve_time(alert.get("endsAt", _NEVER if status == "firing" else "0s"), now),
        "generatorURL": alert.get(
            "generatorURL", f"{prometheus_url}/graph?g0.expr={expression}&g0.tab=1"
        ),
        "fingerprint": alert.get("fingerprint", alert_fingerprint(labels)),
    }


def prometheus_alerts(alert: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The alert as Prometheus' `/api/v1/alerts` lists it (nothing once it has resolved)."""
    if alert["status"] != "firing":
        return []
    return [
        {
            "labels": alert["labels"],
            "annotations": alert["annotations"],
            "state": "firing",
            "activeAt": alert["startsAt"],
            "value": "1e+00",
        }
    ]


def alerts_series(alert: Mapping[str, Any], now: float) -> list[Series]:
    """Prometheus' `ALERTS{alertstate="firing"}` series for the alert, sampled while it fired."""
    if alert["status"] != "firing":
        return []
    started = epoch(alert["startsAt"])
    started = now if started is None else min(started, now)
    count = min(int((now - started) // _ALERTS_SAMPLE_EVERY_S) + 1, _ALERTS_MAX_POINTS)
    points = tuple((now - _ALERTS_SAMPLE_EVERY_S * i, 1.0) for i in reversed(range(count)))
    labels = {"__name__": "ALERTS", "alertstate": "firing", **alert["labels"]}
    return [Series(labels=labels, points=points)]


def metric_series(metrics: Sequence[MetricSeries], now: float) -> list[Series]:
    """Scenario metrics at absolute times; with `scrape_interval`, straight lines between the
    written points sampled as a scrape would; with `values_are_times`, values made absolute too."""
    series = []
    for metric in metrics:
        shift = now if metric.values_are_times else 0.0
        points = [(now + t, v + shift) for t, v in metric.values]
        if metric.scrape_interval is not None:
            points = _interpolate(points, metric.scrape_interval)
        series.append(Series(labels=dict(metric.labels), points=tuple(points)))
    return series


def _interpolate(points: list[tuple[float, float]], every: float) -> list[tuple[float, float]]:
    filled: list[tuple[float, float]] = []
    for (t0, v0), (t1, v1) in pairwise(points):
        steps = max(1, math.ceil((t1 - t0) / every - 1e-9))
        filled.extend(
            (t0 + (t1 - t0) * i / steps, v0 + (v1 - v0) * i / steps) for i in range(steps)
        )
    filled.append(points[-1])
    return filled
