"""How fast the sandbox Prometheus answers range queries over a 500-pod cluster.

500 pods x (memory gauge, CPU counter, 10-bucket latency histogram) = 6,000 series, one hour
at 15 s resolution. Each query runs over the whole hour at a 15 s step, through real HTTP on
127.0.0.1, and in-process against the engine alone (the baseline: what HTTP + JSON add).

    .venv/bin/python bench/bench_promql.py
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time

import httpx

from mcp_bridge.sandbox.prometheus_api import create_prometheus_app
from mcp_bridge.sandbox.promql import PromQLEngine, Series
from tests.sandbox.serving import serve

PODS = 500
HOUR = 3600
STEP = 15
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf")
QUERIES = {
    "selector": "container_memory_working_set_bytes",
    "rate + sum by": "sum by (namespace) (rate(container_cpu_usage_seconds_total[5m]))",
    "histogram_quantile": (
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"
    ),
}
RUNS = 5
CONCURRENT_CLIENTS = 8
CONCURRENT_REQUESTS = 48


def cluster(end: float) -> list[Series]:
    rng = random.Random(1)
    times = [end - HOUR + STEP * k for k in range(HOUR // STEP + 1)]
    out: list[Series] = []
    for index in range(PODS):
        labels = {"namespace": f"ns-{index % 20}", "pod": f"app-{index:03d}", "container": "app"}
        memory = 2e8 + rng.uniform(0, 1e8)
        out.append(
            Series(
                {"__name__": "container_memory_working_set_bytes", **labels},
                tuple((t, memory + k * 1e4) for k, t in enumerate(times)),
            )
        )
        cpu = 0.0
        cpu_points = []
        for t in times:
            cpu += STEP * rng.uniform(0.1, 0.5)
            cpu_points.append((t, cpu))
        out.append(
            Series({"__name__": "container_cpu_usage_seconds_total", **labels}, tuple(cpu_points))
        )
        counts = dict.fromkeys(BUCKETS, 0.0)
        bucket_points: dict[str, list[tuple[float, float]]] = {le: [] for le in BUCKETS}
        for t in times:
            running = 0.0
            for position, le in enumerate(BUCKETS):
                counts[le] += rng.uniform(0, 3)
                running = max(running, counts[le] + position)
                counts[le] = running
                bucket_points[le].append((t, running))
        for le in BUCKETS:
            out.append(
                Series(
                    {"__name__": "http_request_duration_seconds_bucket", **labels, "le": le},
                    tuple(bucket_points[le]),
                )
            )
    return out


async def main() -> None:
    end = float(int(time.time()) // STEP * STEP)
    built = time.perf_counter()
    series = cluster(end)
    print(
        f"{len(series)} series, {sum(len(s.points) for s in series):,} points "
        f"(built in {time.perf_counter() - built:.1f}s)"
    )
    indexed = time.perf_counter()
    engine = PromQLEngine(series)
    app = create_prometheus_app(series, [], now=lambda: end)
    print(f"engine + app ready in {time.perf_counter() - indexed:.1f}s\n")
    params = {"start": str(end - HOUR), "end": str(end), "step": str(STEP)}
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=300) as client:
        print(
            f"{'query_range over 1h at 15s':<24}{'engine':>10}{'HTTP':>10}{'ratio':>8}{'series':>8}"
        )
        for name, query in QUERIES.items():
            engine_times, http_times = [], []
            for _ in range(RUNS):
                started = time.perf_counter()
                result = engine.range_query(query, end - HOUR, end, STEP)
                engine_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                response = await client.get(
                    "/api/v1/query_range", params={"query": query, **params}
                )
                http_times.append(time.perf_counter() - started)
                response.raise_for_status()
            engine_ms = statistics.median(engine_times) * 1000
            http_ms = statistics.median(http_times) * 1000
            print(
                f"{name:<24}{engine_ms:>8.0f}ms{http_ms:>8.0f}ms{http_ms / engine_ms:>7.2f}x"
                f"{len(result.series):>8}"
            )

        query = QUERIES["selector"]
        pending = iter(range(CONCURRENT_REQUESTS))

        async def worker() -> None:
            for _ in pending:
                response = await client.get(
                    "/api/v1/query_range", params={"query": query, **params}
                )
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENT_CLIENTS)))
        elapsed = time.perf_counter() - started
        print(
            f"\nselector with {CONCURRENT_CLIENTS} concurrent clients: "
            f"{CONCURRENT_REQUESTS / elapsed:.1f} requests/s ({CONCURRENT_REQUESTS} requests)"
        )


if __name__ == "__main__":
    asyncio.run(main())
