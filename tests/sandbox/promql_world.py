"""A small, deterministic Kubernetes-ish metrics world shared by the PromQL tests."""

from __future__ import annotations

import math
import random

from mcp_bridge.sandbox.promql import Series

BUCKETS = ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf")
PODS = ("checkout-7d9f-a1", "checkout-7d9f-b2", "cart-5c4d-c3")


def build_world(end: float, hours: float = 2.0, seed: int = 7) -> list[Series]:
    """Two hours of scrapes every ~15 s ending at `end`, with the awkward cases real data has.

    Counters with a reset, scrape jitter, a series with a gap longer than the lookback, a series
    that stops early, NaN samples, histogram buckets, limits for memory ratios.
    """
    rng = random.Random(seed)
    start = end - hours * 3600
    series: list[Series] = []

    def times(jitter_ms: int = 0, every: float = 15.0) -> list[float]:
        out = []
        t = start
        while t <= end:
            out.append(round(t + rng.randint(0, jitter_ms) / 1000, 3) if jitter_ms else t)
            t += every
        return out

    def add(labels: dict[str, str], points: list[tuple[float, float]]) -> None:
        series.append(Series(labels, tuple(points)))

    for index, pod in enumerate(PODS):
        app = pod.split("-")[0]
        base = {"namespace": "shop", "pod": pod, "app": app}
        for code, per_scrape in (("200", 40.0 + 10 * index), ("500", 1.0 + index), ("503", 0.2)):
            total = 0.0
            points = []
            for k, t in enumerate(times(jitter_ms=400)):
                total += per_scrape * rng.uniform(0.5, 1.5)
                if pod.endswith("b2") and code == "200" and k == 240:
                    total = per_scrape  # the container restarted: the counter starts again
                points.append((t, total))
            add({"__name__": "http_requests_total", **base, "code": code}, points)
        cumulative = dict.fromkeys(BUCKETS, 0.0)
        bucket_points: dict[str, list[tuple[float, float]]] = {le: [] for le in BUCKETS}
        for t in times():
            slow = 1.0 + 3.0 * (t > end - 1800 and app == "checkout")
            for le in BUCKETS:
                bound = math.inf if le == "+Inf" else float(le)
                share = min(1.0, bound / (0.6 * slow)) if bound != math.inf else 1.0
                cumulative[le] += 20 * share * rng.uniform(0.95, 1.0)
            running = 0.0
            for le in BUCKETS:  # buckets are cumulative: never smaller than the one below
                running = max(running, cumulative[le])
                bucket_points[le].append((t, running))
        for le in BUCKETS:
            add(
                {"__name__": "http_request_duration_seconds_bucket", **base, "le": le},
                bucket_points[le],
            )
        for container, limit in (("app", 512e6), ("istio-proxy", 128e6)):
            labels = {"namespace": "shop", "pod": pod, "container": container}
            grow = (index + 1) * 1e5
            add(
                {"__name__": "container_memory_working_set_bytes", **labels},
                [(t, 0.4 * limit + grow * k + rng.uniform(0, 1e6)) for k, t in enumerate(times())],
            )
            add(
                {
                    "__name__": "kube_pod_container_resource_limits",
                    **labels,
                    "resource": "memory",
                    "unit": "byte",
                },
                [(t, limit) for t in times(every=30)],
            )
            add(
                {
                    "__name__": "kube_pod_container_resource_limits",
                    **labels,
                    "resource": "cpu",
                    "unit": "core",
                },
                [(t, 0.5) for t in times(every=30)],
            )
            periods = throttled = 0.0
            period_points, throttled_points = [], []
            for t in times():
                periods += 150
                throttled += 150 * (0.6 if container == "app" and index == 0 else 0.02)
                period_points.append((t, periods))
                throttled_points.append((t, throttled))
            add({"__name__": "container_cpu_cfs_periods_total", **labels}, period_points)
            add(
                {"__name__": "container_cpu_cfs_throttled_periods_total", **labels},
                throttled_points,
            )
        add(
            {"__name__": "kube_pod_info", "namespace": "shop", "pod": pod, "node": f"node-{index}"},
            [(t, 1.0) for t in times(every=30)],
        )

    for job, instance, value in (
        ("api", "10.0.0.1:8080", 1.0),
        ("api", "10.0.0.2:8080", 0.0),
        ("db", "10.0.0.9:5432", 1.0),
    ):
        flapping = [(t, value if k % 40 < 35 else 1 - value) for k, t in enumerate(times())]
        add({"__name__": "up", "job": job, "instance": instance}, flapping)
    for deployment, replicas in (("checkout", 3.0), ("cart", 1.0)):
        add(
            {
                "__name__": "kube_deployment_status_replicas_available",
                "namespace": "shop",
                "deployment": deployment,
            },
            [(t, replicas - (k % 97 == 0)) for k, t in enumerate(times(every=30))],
        )
    add(
        {
            "__name__": "kubelet_volume_stats_available_bytes",
            "namespace": "shop",
            "persistentvolumeclaim": "data-postgres-0",
        },
        [(t, 50e9 - 2e6 * k + rng.uniform(0, 1e6)) for k, t in enumerate(times(every=60))],
    )
    gap_start, gap_end = end - 3000, end - 2400  # ten minutes of silence
    add(
        {"__name__": "queue_depth", "queue": "orders"},
        [(t, float(k % 13)) for k, t in enumerate(times()) if not gap_start < t < gap_end],
    )
    add(
        {"__name__": "queue_depth", "queue": "stopped"},
        [(t, 5.0) for t in times() if t < end - 1200],
    )
    add(
        {"__name__": "odd_gauge", "kind": "with_nan"},
        [(t, math.nan if k % 11 == 0 else float(k % 7)) for k, t in enumerate(times())],
    )
    return series


def to_openmetrics(series: list[Series]) -> str:
    """The same series as OpenMetrics text, for `promtool tsdb create-blocks-from openmetrics`."""
    lines = []
    for one in sorted(series, key=lambda s: s.labels["__name__"]):  # families stay together
        name = one.labels["__name__"]
        labels = ",".join(
            f'{k}="{_escape(v)}"' for k, v in sorted(one.labels.items()) if k != "__name__"
        )
        selector = f"{name}{{{labels}}}" if labels else name
        for t, v in one.points:
            value = "NaN" if math.isnan(v) else repr(v)
            lines.append(f"{selector} {value} {t:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
