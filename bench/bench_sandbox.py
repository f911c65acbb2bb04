"""How fast the sandbox answers: requests/second for `list pods` in all namespaces (JSON and
Table) and a Prometheus `query_range`, against a 500-pod scenario generated in memory, with the
serving process's memory. `/version` is measured in the same run as the baseline.

    .venv/bin/python bench/bench_sandbox.py [--pods 500] [--concurrency 16] [--rounds 5]

The sandbox runs in a child process (so the load generator does not share its CPU); the client
is aiohttp with `--concurrency` connections. Figures are medians over `--rounds` rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def generated_scenario(pods: int) -> dict[str, Any]:
    """`pods` pods over 10 namespaces and 20 nodes, a quarter of them in trouble, with events
    and a memory series per pod (one hour at 15 s)."""
    nodes = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": f"node-{n:02d}", "creationTimestamp": "-40d"},
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "-10s"}]
            },
        }
        for n in range(20)
    ]
    cluster: list[dict[str, Any]] = [*nodes]
    metrics = []
    for i in range(pods):
        namespace, name = f"team-{i % 10}", f"svc-{i % 37}-7d4b9c8f6-{i:05d}"
        crashing = i % 4 == 0
        state = (
            {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": "back-off 5m0s restarting failed container",
                }
            }
            if crashing
            else {"running": {"startedAt": "-2h"}}
        )
        cluster.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "creationTimestamp": "-3d",
                    "labels": {"app": f"svc-{i % 37}", "pod-template-hash": "7d4b9c8f6"},
                },
                "spec": {
                    "nodeName": f"node-{i % 20:02d}",
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.local/svc-{i % 37}:1.{i % 9}",
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"memory": "256Mi"},
                            },
                        }
                    ],
                },
                "status": {
                    "phase": "Running",
                    "podIP": f"10.{i // 250}.{i % 250}.7",
                    "startTime": "-3d",
                    "containerStatuses": [
                        {
                            "name": "app",
                            "image": f"registry.local/svc-{i % 37}:1.{i % 9}",
                            "imageID": "",
                            "ready": not crashing,
                            "restartCount": 7 if crashing else 0,
                            "state": state,
                            "lastState": (
                                {
                                    "terminated": {
                                        "reason": "OOMKilled",
                                        "exitCode": 137,
                                        "finishedAt": "-90s",
                                    }
                                }
                                if crashing
                                else {}
                            ),
                        }
                    ],
                },
            }
        )
        if crashing:
            cluster.append(
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "involvedObject": {"kind": "Pod", "name": name, "namespace": namespace},
                    "type": "Warning",
                    "reason": "BackOff",
                    "message": f"Back-off restarting failed container app in pod {name}",
                    "count": 12,
                    "firstTimestamp": "-40m",
                    "lastTimestamp": "-30s",
                }
            )
        metrics.append(
            {
                "labels": {
                    "__name__": "container_memory_working_set_bytes",
                    "namespace": namespace,
                    "pod": name,
                    "container": "app",
                },
                "values": [[-3600, 1.0e8 + i], [0, 2.5e8 + i]],
                "scrape_interval": 15,
            }
        )
    return {
        "name": "bench",
        "description": f"{pods} generated pods",
        "alert": {"labels": {"alertname": "KubePodCrashLooping", "namespace": "team-0"}},
        "cluster": cluster,
        "metrics": metrics,
    }


async def serve(pods: int) -> None:
    """Child process: serve the generated scenario until stdin closes."""
    from mcp_bridge.sandbox import parse_scenario, run_sandbox

    scenario = parse_scenario(generated_scenario(pods), source="<bench>")
    async with run_sandbox(scenario) as sandbox:
        print(
            json.dumps(
                {"kubernetes": sandbox.kubernetes_url, "prometheus": sandbox.prometheus_url}
            ),
            flush=True,
        )
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def rss_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


async def rate(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
) -> float:
    """Requests/second with `concurrency` workers for `seconds`; every answer must be 200."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            async with session.get(url, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url}: HTTP {response.status}")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def measure(args: argparse.Namespace) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        "--pods",
        str(args.pods),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    urls = json.loads(await child.stdout.readline())
    idle = rss_kib(child.pid)
    now = time.time()
    query_range = (
        f"{urls['prometheus']}/api/v1/query_range?query=container_memory_working_set_bytes"
        f"%7Bnamespace%3D%22team-3%22%7D&start={now - 3600:.0f}&end={now:.0f}&step=15"
    )
    targets = {
        "GET /version (baseline)": (f"{urls['kubernetes']}/version", {}),
        "list pods -A, JSON": (f"{urls['kubernetes']}/api/v1/pods", {}),
        "list pods -A, Table": (f"{urls['kubernetes']}/api/v1/pods", {"Accept": TABLE}),
        "query_range, 50 series x 241 points": (query_range, {}),
    }
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    results: dict[str, list[float]] = {name: [] for name in targets}
    sizes: dict[str, int] = {}
    async with aiohttp.ClientSession(connector=connector) as session:
        for name, (url, headers) in targets.items():
            async with session.get(url, headers=headers) as response:
                body = await response.read()
                sizes[name] = len(body)
                if name.startswith("query_range"):
                    series = len(json.loads(body)["data"]["result"])
                    assert series == args.pods // 10, series
        for _ in range(args.rounds):
            for name, (url, headers) in targets.items():
                results[name].append(
                    await rate(session, url, headers, args.concurrency, args.seconds)
                )
    peak = rss_kib(child.pid)
    child.stdin.close()
    await child.wait()

    from mcp_bridge.sandbox import runner

    prometheus = runner.create_prometheus_app.__module__
    baseline = statistics.median(results["GET /version (baseline)"])
    print(f"sandbox benchmark: {args.pods} pods, {args.concurrency} concurrent connections,")
    print(f"{args.rounds} rounds of {args.seconds:g} s per endpoint; Prometheus app: {prometheus}")
    print(f"{'endpoint':40} {'median req/s':>12} {'vs baseline':>12} {'body':>10}")
    for name, rates in results.items():
        median = statistics.median(rates)
        print(f"{name:40} {median:12.0f} {median / baseline:12.3f} {sizes[name] / 1024:8.0f} KiB")
    print(
        f"serving process RSS: {idle['VmRSS'] / 1024:.0f} MiB idle after start,"
        f" {peak['VmRSS'] / 1024:.0f} MiB after the run (peak {peak['VmHWM'] / 1024:.0f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(serve(args.pods) if args.serve else measure(args))


if __name__ == "__main__":
    main()
