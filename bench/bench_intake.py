"""Webhook intake: Alertmanager webhooks (one alert each, distinct fingerprints) POSTed by
concurrent clients to `serve`'s HTTP app, with investigations queued, not run. Accepted alerts
per second and p50/p99 latency, with the store's group commit off (every admission its own
transaction and fsync: the baseline) and on, in the same run, on SQLite (WAL, synchronous=FULL)
and, when SRE_AGENT_TEST_POSTGRES_URL names a server, on PostgreSQL.

The server runs in its own process (this script with --serve) with JSON logs at INFO written to
/dev/null, as `serve` writes them; the client is this process. On a 2-core machine each gets
about one core. Targets from the issue: >= 1,000 alerts/s and p99 <= 50 ms on SQLite.

    .venv/bin/python bench/bench_intake.py [--requests N] [--clients C]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import gc
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

# A payload captured from Alertmanager 0.25 (webhook version 4).
FIXTURE = (
    Path(__file__).resolve().parent.parent
    / "tests/fixtures/alertmanager/payload-firing-AlwaysFiring.json"
)
ROUNDS = 3
TEMPLATE: dict[str, Any] = json.loads(FIXTURE.read_text())


def webhook(n: int, prefix: str) -> bytes:
    body = copy.deepcopy(TEMPLATE)
    alert = body["alerts"][0]
    alert["labels"]["pod"] = f"checkout-{prefix}-{n}"
    alert["fingerprint"] = f"{prefix}{n:012x}"
    return json.dumps(body).encode()


# --- the server (a child process) ----------------------------------------------------------


async def serve(database_url: str, group_commit: bool) -> None:
    from agent.investigator import Investigator
    from agent.offline import offline_reasoner
    from agent.runbooks import RunbookFetcher, RunbookLibrary
    from agent.service import InvestigationService
    from agent.store import Store
    from bot.engine import Engine
    from bot.http import HttpOptions, HttpServer, build_app
    from bot.logging import configure_logging
    from bot.metrics import Metrics
    from bot.settings import load_settings
    from mcp_bridge.toolbox import Toolbox

    with open(os.devnull, "w") as sink:  # noqa: ASYNC230 - opened once, before serving
        configure_logging("INFO", format="json", stream=sink)
        settings = load_settings()
        store = await Store.open(database_url, group_commit=group_commit)
        toolbox = await Toolbox.start([])
        runbooks = RunbookLibrary.load([])
        investigator = Investigator(
            runbooks=runbooks,
            tools=[],
            reasoners=[offline_reasoner],  # never asked: nothing runs
            limits=settings.limits,
            fetcher=RunbookFetcher(allowed_hosts=[]),
        )
        service = InvestigationService(store=store, investigator=investigator)
        await service.start(workers=False)  # queued, not run: intake alone is measured
        engine = Engine(settings, store, toolbox, runbooks, investigator, service)
        server = HttpServer(build_app(engine, Metrics(), HttpOptions()), "127.0.0.1", 0)
        url = await server.start()
        gc.freeze()  # as serve does once it is up
        print(url, flush=True)
        loop = asyncio.get_running_loop()
        # Each line on stdin asks for the CPU time used so far; closing stdin stops the server.
        while await loop.run_in_executor(None, sys.stdin.readline):
            used = os.times()
            print(f"{used.user + used.system:.6f}", flush=True)
        await server.stop()
        await store.close()
        await toolbox.aclose()


# --- the client (this process) -------------------------------------------------------------


class Run:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.wall = 0.0
        self.rejected = 0
        self.server_cpu_s = 0.0

    @property
    def cpu_ms_per_alert(self) -> float:
        return self.server_cpu_s / max(1, len(self.latencies)) * 1000

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall

    def quantile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def load(url: str, count: int, clients: int) -> Run:
    run = Run()
    prefix = secrets.token_hex(3)
    bodies = [webhook(n, prefix) for n in range(count)]
    numbers = iter(range(count))
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    headers = {"Content-Type": "application/json", "User-Agent": "Alertmanager/0.25.0"}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def client() -> None:
            for n in numbers:
                started = time.perf_counter()
                async with session.post(
                    f"{url}/alerts/alertmanager", data=bodies[n], headers=headers
                ) as response:
                    await response.read()
                    if response.status != 202:
                        run.rejected += 1
                        continue
                run.latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        run.wall = time.perf_counter() - started
    return run


class BenchServer:
    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url

    async def cpu_s(self) -> float:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(b"cpu\n")
        await self.process.stdin.drain()
        return float((await self.process.stdout.readline()).decode())

    async def measure(self, count: int, clients: int) -> Run:
        before = await self.cpu_s()
        run = await load(self.url, count, clients)
        run.server_cpu_s = await self.cpu_s() - before
        return run


@contextlib.asynccontextmanager
async def server(database_url: str, group_commit: bool) -> AsyncIterator[BenchServer]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        database_url,
        "1" if group_commit else "0",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        url = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip()
        if not url.startswith("http"):
            raise RuntimeError("the bench server did not start")
        yield BenchServer(process, url)
    finally:
        process.stdin.close()  # the server stops when its stdin closes
        await asyncio.wait_for(process.wait(), 30)


async def bench(database_url: str, label: str, count: int, clients: int) -> None:
    shown = make_url(database_url).render_as_string(hide_password=True)
    print(f"{label}: {shown}  ({count} webhooks, {clients} clients, median of {ROUNDS})")
    results: dict[str, list[Run]] = {"group commit off (baseline)": [], "group commit on": []}
    for _ in range(ROUNDS):  # interleaved, so drift in the disk hits both alike
        for name, group in (("group commit off (baseline)", False), ("group commit on", True)):
            async with server(database_url, group) as running:
                await load(running.url, min(500, count), clients)  # warm up
                results[name].append(await running.measure(count, clients))
    medians = {}
    for name, runs in results.items():
        rate = statistics.median(r.rate for r in runs)
        p50 = statistics.median(r.quantile_ms(0.50) for r in runs)
        p99 = statistics.median(r.quantile_ms(0.99) for r in runs)
        cpu = statistics.median(r.cpu_ms_per_alert for r in runs)
        rejected = sum(r.rejected for r in runs)
        medians[name] = (rate, p50, p99)
        print(
            f"  {name:<30} {rate:7.0f} alerts/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"
            f"   server CPU {cpu:.2f} ms/alert"
            + (f"   ({rejected} not accepted)" if rejected else "")
        )
    base, grouped = medians["group commit off (baseline)"], medians["group commit on"]
    print(
        f"  group commit: throughput {grouped[0] / base[0]:.2f}x, "
        f"p99 latency {grouped[2] / base[2]:.2f}x of the baseline"
    )


async def main(count: int, clients: int) -> None:
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{Path(scratch) / 'intake.db'}"
        await bench(url, "SQLite (WAL, synchronous=FULL)", count, clients)
    admin_url = os.environ.get("SRE_AGENT_TEST_POSTGRES_URL")
    if not admin_url:
        print("PostgreSQL: skipped (set SRE_AGENT_TEST_POSTGRES_URL to include it)")
        return
    name = f"sre_agent_bench_{secrets.token_hex(4)}"
    dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        await bench(url, "PostgreSQL", count, clients)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        asyncio.run(serve(sys.argv[2], sys.argv[3] == "1"))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=32)
    options = parser.parse_args()
    asyncio.run(main(options.requests, options.clients))
