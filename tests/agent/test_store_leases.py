"""Several runners (stores, as in replicas) on one database: leases on running investigations,
renewal, requeueing only what a dead runner left, and claims that never hand one investigation
to two runners. Also: a database at the revision before leases upgrades in place."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

from agent.store import (
    DEFAULT_LEASE_S,
    InvalidTransition,
    InvestigationStatus,
    LeaseLost,
    Store,
)
from agent.store.engine import MIGRATIONS, parse_url
from agent.store.schema import investigations
from agent.store.store import _new_investigation
from tests.agent.conftest import Clock
from tests.agent.store_helpers import CLI, STATS, make_alert, make_report

ROOT = Path(__file__).resolve().parents[2]
WINDOW_S = 600.0
RUNNING = InvestigationStatus.RUNNING
QUEUED = InvestigationStatus.QUEUED


@pytest.fixture
async def runners(database_url: str, clock: Clock) -> AsyncIterator[tuple[Store, Store]]:
    """Two runners on one database, on one clock."""
    a = await Store.open(database_url, clock=clock, runner_id="runner-a")
    b = await Store.open(database_url, clock=clock, runner_id="runner-b")
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def admit(store: Store, n: int) -> list[str]:
    return [
        (await store.admit(make_alert(f"k{i}"), window_s=WINDOW_S, origin=CLI)).record.id
        for i in range(n)
    ]


async def test_a_claim_leases_the_run_to_its_runner(store: Store, clock: Clock) -> None:
    (queued,) = await admit(store, 1)

    claimed = await store.claim_next(lease_s=30)

    assert claimed is not None
    assert claimed.id == queued
    assert claimed.runner == store.runner_id
    assert claimed.started_at is not None
    assert claimed.lease_expires_at == claimed.started_at + timedelta(seconds=30)
    started = await store.mark_running((await admit(store, 2))[1])
    assert started.runner == store.runner_id
    assert started.lease_expires_at is not None


async def test_each_store_is_its_own_runner() -> None:
    async with (
        await Store.open("sqlite+aiosqlite://") as one,
        await Store.open("sqlite+aiosqlite://") as two,
    ):
        assert one.runner_id != two.runner_id
        assert 0 < len(one.runner_id) <= 64


async def test_two_runners_claim_different_investigations_and_leave_each_other_alone(
    runners: tuple[Store, Store], clock: Clock
) -> None:
    a, b = runners
    ids = await admit(a, 3)

    by_a = await a.claim_next()
    by_b = await b.claim_next()
    clock.advance(DEFAULT_LEASE_S - 1)

    assert by_a is not None
    assert by_b is not None
    assert (by_a.id, by_b.id) == (ids[0], ids[1])
    assert (by_a.runner, by_b.runner) == ("runner-a", "runner-b")
    # Each one starting (or sweeping) sees the other's run as live, and leaves it be.
    assert [r.id for r in await b.requeue_unfinished()] == [ids[2]]
    assert await a.requeue_expired() == []
    assert (await b.get(ids[0])).status is RUNNING
    assert (await a.get(ids[1])).status is RUNNING


async def test_renewed_leases_outlive_the_lease_length(
    runners: tuple[Store, Store], clock: Clock
) -> None:
    a, b = runners
    (investigation_id,) = await admit(a, 1)
    await a.claim_next(lease_s=60)

    for _ in range(5):  # 5 x 45 s: far past one lease, renewed every time
        clock.advance(45)
        assert await a.renew_leases([investigation_id], lease_s=60) == set()
        assert await b.requeue_expired() == []

    record = await a.finish(investigation_id, make_report(), STATS)
    assert record.status is InvestigationStatus.FINISHED
    assert record.attempts == 1
    assert record.lease_expires_at is None


async def test_a_dead_runners_work_is_requeued_after_its_lease_and_runs_elsewhere(
    runners: tuple[Store, Store], clock: Clock
) -> None:
    a, b = runners
    (investigation_id,) = await admit(a, 1)
    await a.claim_next(lease_s=60)  # then runner a dies: no renewal, no drain

    clock.advance(59)
    assert await b.requeue_expired() == []
    clock.advance(2)
    (requeued,) = await b.requeue_expired()
    taken = await b.claim_next()

    assert requeued.id == investigation_id
    assert (requeued.status, requeued.attempts, requeued.runner) == (QUEUED, 1, "runner-a")
    assert taken is not None
    assert (taken.id, taken.attempts, taken.runner) == (investigation_id, 2, "runner-b")


async def test_a_runner_that_lost_its_lease_cannot_end_or_requeue_the_run(
    runners: tuple[Store, Store], clock: Clock
) -> None:
    a, b = runners
    (investigation_id,) = await admit(a, 1)
    await a.claim_next()
    clock.advance(DEFAULT_LEASE_S + 1)  # a stalled past its lease; b takes the run over
    await b.requeue_expired()
    await b.claim_next()

    assert await a.renew_leases([investigation_id]) == {investigation_id}
    with pytest.raises(LeaseLost, match="running under runner runner-b's lease"):
        await a.finish(investigation_id, make_report(), STATS)
    with pytest.raises(LeaseLost):
        await a.fail(investigation_id, "a's run failed")
    with pytest.raises(LeaseLost):
        await a.mark_queued(investigation_id)
    finished = await b.finish(investigation_id, make_report(), STATS)
    assert (finished.status, finished.attempts) == (InvestigationStatus.FINISHED, 2)
    # Ended: no longer a lease to lose, nor a run to end again.
    assert await a.renew_leases([investigation_id]) == set()
    with pytest.raises(InvalidTransition, match="finished"):
        await a.finish(investigation_id, make_report(), STATS)


async def test_draining_gives_the_run_back_at_once(
    runners: tuple[Store, Store], clock: Clock
) -> None:
    a, b = runners
    (investigation_id,) = await admit(a, 1)
    await a.claim_next()

    drained = await a.mark_queued(investigation_id)
    taken = await b.claim_next()  # no waiting for the lease

    assert (drained.status, drained.lease_expires_at) == (QUEUED, None)
    assert taken is not None
    assert (taken.id, taken.attempts, taken.runner) == (investigation_id, 2, "runner-b")


async def test_a_run_left_by_a_version_without_leases_counts_as_expired(
    store: Store, database_url: str
) -> None:
    (investigation_id,) = await admit(store, 1)
    await store.claim_next()
    engine = create_async_engine(parse_url(database_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.update(investigations).values(runner=None, lease_expires_at=None))
    finally:
        await engine.dispose()

    (requeued,) = await store.requeue_unfinished()

    assert (requeued.id, requeued.status, requeued.attempts) == (investigation_id, QUEUED, 1)


async def test_runners_claiming_at_once_never_get_the_same_investigation(
    database_url: str, clock: Clock
) -> None:
    stores = [
        await Store.open(database_url, clock=clock, runner_id=f"runner-{n}") for n in range(4)
    ]
    try:
        ids = await admit(stores[0], 40)

        async def worker(store: Store) -> list[str]:
            mine = []
            while (record := await store.claim_next()) is not None:
                assert record.runner == store.runner_id
                mine.append(record.id)
                await asyncio.sleep(0)
            return mine

        # Four workers per runner, all at once.
        found = await asyncio.gather(*(worker(s) for s in stores for _ in range(4)))
        claimed = [i for mine in found for i in mine]

        assert sorted(claimed) == sorted(ids)  # each exactly once
        records = [await stores[0].get(i) for i in ids]
        assert all(r.status is RUNNING and r.attempts == 1 for r in records)
    finally:
        for store in stores:
            await store.close()


CLAIMER = """
import asyncio, sys
from agent.store import Store

async def main():
    store = await Store.open(sys.argv[1], runner_id=sys.argv[2])
    try:
        await asyncio.sleep(float(sys.argv[3]))
        while (record := await store.claim_next()) is not None:
            print(record.id, record.runner, flush=True)
    finally:
        await store.close()

asyncio.run(main())
"""


async def test_processes_claiming_at_once_never_get_the_same_investigation(
    database_url: str,
) -> None:
    async with await Store.open(database_url) as store:
        ids = await admit(store, 60)
    loop = asyncio.get_running_loop()
    start_at = 1.0  # every process opens first, then all claim in the same moment
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CLAIMER,
            database_url,
            f"process-{n}",
            str(start_at),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for n in range(3)
    ]
    started = loop.time()
    outputs = [await process.communicate() for process in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [err for _, err in outputs]
    assert loop.time() - started < 60

    lines = [line.split() for out, _ in outputs for line in out.decode().splitlines()]
    claimed = [investigation_id for investigation_id, _ in lines]
    assert sorted(claimed) == sorted(ids)  # each exactly once, across processes
    async with await Store.open(database_url) as store:
        for investigation_id, runner in lines:
            record = await store.get(investigation_id)
            assert (record.runner, record.attempts) == (runner, 1)


async def test_a_database_at_the_revision_before_leases_upgrades_in_place(
    database_url: str, clock: Clock
) -> None:
    """Built at 0001 by its own migration, with rows in it, then opened by this version."""
    parsed = parse_url(database_url)
    if parsed.drivername.startswith("sqlite"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(parsed)
    now = clock()
    rows = [
        _new_investigation(f"inv_old{n:09d}", f"old-{n}", make_alert(f"old-{n}"), CLI, now)
        for n in range(3)
    ]
    rows[1].update(status="running", attempts=1, started_at=now)
    rows[2].update(
        status="finished", attempts=1, started_at=now, finished_at=now, category="oom_killed"
    )

    def build_0001(connection: sa.Connection) -> None:
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        assert "runner" not in {
            c["name"] for c in sa.inspect(connection).get_columns("investigations")
        }
        connection.execute(sa.insert(investigations), rows)

    try:
        async with engine.begin() as connection:
            await connection.run_sync(build_0001)
    finally:
        await engine.dispose()

    async with await Store.open(database_url, clock=clock) as store:
        kept = {r.id: r for r in await store.list_investigations()}
        assert set(kept) == {row["id"] for row in rows}
        assert [kept[row["id"]].status.value for row in rows] == ["queued", "running", "finished"]
        assert all(r.runner is None and r.lease_expires_at is None for r in kept.values())
        # The one left running by the old version has no lease: the start requeues it.
        requeued = await store.requeue_unfinished()
        assert [r.id for r in requeued] == [rows[0]["id"], rows[1]["id"]]
        # The unique index on active alerts came through: the same alert joins its row.
        again = await store.admit(make_alert("old-0"), window_s=WINDOW_S, origin=CLI)
        assert (again.created, again.record.id) == (False, rows[0]["id"])
        first = await store.claim_next()
        assert first is not None
        assert (first.id, first.runner) == (rows[0]["id"], store.runner_id)
