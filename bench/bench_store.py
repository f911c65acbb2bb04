"""How fast the store admits alerts: sequential and 50 at once, each admission followed by the
six events a short investigation appends, with p50/p99 admit latency.

Baselines from the same run: a bare INSERT of the same row through the same engine (what the
dedup check and the ON CONFLICT clause cost), the concurrent load without group commit (one
transaction per admission), and on SQLite that load without the store's in-process writer queue
(what leaving it to SQLite's busy handler costs).

    .venv/bin/python bench/bench_store.py
PostgreSQL too when SRE_AGENT_TEST_POSTGRES_URL names a server (a throwaway database is made).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from agent.alert import Alert, Severity
from agent.events import Event, IterationStarted, Note, Reasoning, Started, ToolCalled
from agent.store import Origin, OriginKind, Store
from agent.store.schema import investigations

SEQUENTIAL = 300
CONCURRENT = 600
WORKERS = 50
ROUNDS = 3
ORIGIN = Origin(kind=OriginKind.HTTP, reference="bench")


def alert(key: str) -> Alert:
    return Alert(
        source="alertmanager",
        dedup_key=key,
        title=f"KubePodCrashLooping shop/checkout-{key}",
        severity=Severity.CRITICAL,
        labels={"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": f"c-{key}"},
        annotations={"summary": "checkout restarts", "description": "x" * 400},
    )


def events_for(investigation_id: str, item: Alert) -> list[Event]:
    return [
        Started(
            investigation_id=investigation_id,
            alert=item,
            runbook="KubePodCrashLooping",
            reasoner="offline",
            max_iterations=8,
        ),
        IterationStarted(investigation_id=investigation_id, iteration=1, max_iterations=8),
        Reasoning(investigation_id=investigation_id, iteration=1, text="look", reasoner="r"),
        ToolCalled(
            investigation_id=investigation_id,
            iteration=1,
            call_id="c1",
            tool="kubernetes_get_pod",
            arguments={"name": "p", "namespace": "shop"},
        ),
        Note(investigation_id=investigation_id, text="a note"),
        Note(investigation_id=investigation_id, text="another"),
    ]


class Run:
    """Latencies and wall time of one round of one scenario."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.wall = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall

    def quantile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


class Figures:
    """Medians over rounds, so one slow fsync does not decide a figure."""

    def __init__(self, rounds: list[Run]) -> None:
        self.rate = statistics.median(run.rate for run in rounds)
        self.p50 = statistics.median(run.quantile_ms(0.5) for run in rounds)
        self.p99 = statistics.median(run.quantile_ms(0.99) for run in rounds)

    def line(self, label: str) -> str:
        return (
            f"  {label:<48} {self.rate:7.0f} /s   p50 {self.p50:7.2f} ms   p99 {self.p99:8.2f} ms"
        )


async def timed(run: Run, work: Callable[[], Awaitable[object]]) -> object:
    started = time.perf_counter()
    result = await work()
    run.latencies.append(time.perf_counter() - started)
    return result


async def admissions(store: Store, count: int, workers: int, *, with_events: bool) -> Run:
    run = Run()
    prefix = secrets.token_hex(4)
    keys = iter(range(count))

    async def worker() -> None:
        for n in keys:
            item = alert(f"{prefix}-{n}")
            admission = await timed(
                run, lambda item=item: store.admit(item, window_s=600, origin=ORIGIN)
            )
            if with_events:
                record_id = admission.record.id  # type: ignore[attr-defined]
                await store.append_events(record_id, events_for(record_id, item))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    run.wall = time.perf_counter() - started
    return run


async def duplicates(store: Store, count: int) -> Run:
    run = Run()
    item = alert("the-same-one")
    await store.admit(item, window_s=600, origin=ORIGIN)
    started = time.perf_counter()
    for _ in range(count):
        await timed(run, lambda: store.admit(item, window_s=600, origin=ORIGIN))
    run.wall = time.perf_counter() - started
    return run


async def bare_inserts(store: Store, count: int, workers: int) -> Run:
    """The floor: one INSERT of the same row per write, through the store's own write path
    (its group commit, or its writer queue), without the duplicate check."""
    run = Run()
    item = alert("bare").model_dump(mode="json")
    keys = iter(range(count))

    statement = sa.insert(investigations)  # built once, as the store builds admission's

    def insert(conn: sa.Connection) -> None:
        now = store._now()
        conn.execute(
            statement,
            {
                "id": "bare_" + secrets.token_hex(8),
                "dedup_key": "bare-" + secrets.token_hex(8),
                "source": "alertmanager",
                "status": "finished",
                "alert": item,
                "title": "t",
                "severity": "critical",
                "origin_kind": "http",
                "created_at": now,
                "updated_at": now,
                "attempts": 0,
                "last_event_seq": 0,
            },
        )

    async def insert_one() -> None:
        await store._write(insert)

    async def worker() -> None:
        for _ in keys:
            await timed(run, insert_one)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    run.wall = time.perf_counter() - started
    return run


async def bench(url: str, label: str) -> None:
    print(f"{label}: {make_url(url).render_as_string(hide_password=True)}  (median of {ROUNDS})")
    async with (
        await Store.open(url) as store,
        await Store.open(url, group_commit=False) as plain,
    ):
        queue = plain._write_turn  # the ablation below swaps it out
        unqueued: Any = contextlib.nullcontext()

        async def without_queue() -> Run:
            plain._write_turn = unqueued
            try:
                return await admissions(plain, CONCURRENT, WORKERS, with_events=False)
            finally:
                plain._write_turn = queue

        scenarios: dict[str, Callable[[], Awaitable[Run]]] = {
            "admit + 6 events, sequential": lambda: admissions(
                store, SEQUENTIAL, 1, with_events=True
            ),
            f"admit + 6 events, {WORKERS} concurrent": lambda: admissions(
                store, CONCURRENT, WORKERS, with_events=True
            ),
            "admit only, sequential": lambda: admissions(store, SEQUENTIAL, 1, with_events=False),
            f"admit only, {WORKERS} concurrent": lambda: admissions(
                store, CONCURRENT, WORKERS, with_events=False
            ),
            f"admit only, {WORKERS} concurrent, one transaction each": lambda: admissions(
                plain, CONCURRENT, WORKERS, with_events=False
            ),
            "duplicate admit (dedup hit), sequential": lambda: duplicates(store, SEQUENTIAL),
            "baseline: bare INSERT, sequential": lambda: bare_inserts(store, SEQUENTIAL, 1),
            f"baseline: bare INSERT, {WORKERS} concurrent": lambda: bare_inserts(
                store, CONCURRENT, WORKERS
            ),
        }
        if store.kind == "sqlite":
            scenarios[f"admit only, {WORKERS} concurrent, no writer queue"] = without_queue

        await admissions(store, 50, 5, with_events=True)  # warm the pool and the caches
        rounds: dict[str, list[Run]] = {name: [] for name in scenarios}
        for _ in range(ROUNDS):  # interleaved, so drift in the disk hits every scenario alike
            for name, scenario in scenarios.items():
                rounds[name].append(await scenario())
        figures = {name: Figures(runs) for name, runs in rounds.items()}
        for name, figure in figures.items():
            print(figure.line(name))

        bare_seq = figures["baseline: bare INSERT, sequential"]
        bare_conc = figures[f"baseline: bare INSERT, {WORKERS} concurrent"]
        admit_seq = figures["admit only, sequential"]
        admit_conc = figures[f"admit only, {WORKERS} concurrent"]
        print(
            f"  admit takes {bare_seq.rate / admit_seq.rate:.2f}x the time of a bare insert "
            f"sequentially, {bare_conc.rate / admit_conc.rate:.2f}x at {WORKERS} concurrent"
        )
        single = figures[f"admit only, {WORKERS} concurrent, one transaction each"]
        print(
            f"  group commit vs one transaction per admission: throughput "
            f"{admit_conc.rate / single.rate:.2f}x, p99 latency {admit_conc.p99 / single.p99:.2f}x"
        )
        if store.kind == "sqlite":
            loose = figures[f"admit only, {WORKERS} concurrent, no writer queue"]
            print(
                "  one transaction each: writer queue vs SQLite busy-timeout polling alone: "
                f"throughput {single.rate / loose.rate:.2f}x, "
                f"p99 latency {single.p99 / loose.p99:.2f}x"
            )


async def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        await bench(f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}", "SQLite (WAL, sync FULL)")
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
        await bench(url, "PostgreSQL")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
