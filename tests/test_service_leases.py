"""Two investigation services ("replicas"), each with its own store, on one SQLite file: leases
keep each one's runs its own, a dead replica's runs move to the live one after the lease, a
drained one gives its runs back at once, and a replica that lost a lease stops that run.

Short leases (well under a second) stand in for the minute of production."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.events import Finished, Note
from agent.service import InvestigationService
from agent.store import InvestigationRecord, InvestigationStatus, Store
from tests.test_service import CLI, Harness, alert, standard_script, wait_finished

LEASE = {"lease_s": 0.6, "lease_renew_s": 0.1}


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"


@pytest.fixture
async def stores(url: str) -> AsyncIterator[Callable[..., Awaitable[Store]]]:
    """Opens stores (runners) on the shared file and closes them all at the end."""
    opened: list[Store] = []

    async def open_store(clock: Callable[[], datetime] | None = None) -> Store:
        store = await (Store.open(url, clock=clock) if clock else Store.open(url))
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        await store.close()


async def until(
    store: Store, investigation_id: str, check: Callable[[InvestigationRecord], bool]
) -> InvestigationRecord:
    async with asyncio.timeout(10):
        while not check(record := await store.get(investigation_id)):  # noqa: ASYNC110 - the DB
            await asyncio.sleep(0.02)
    return record


def halt(service: InvestigationService) -> None:
    """Stop a service the way a killed process stops: no drain, no requeue, no more renewals."""
    tasks = [service._leases, *service._workers, *service._running.values()]
    for task in tasks:
        if task is not None:
            task.cancel()


async def test_two_replicas_run_different_investigations_each_once_past_the_lease(
    stores: Callable[..., Awaitable[Store]],
) -> None:
    a_store, b_store = await stores(), await stores()
    # Each run takes about 1.2 s, twice the lease: only renewals keep it.
    a, b = Harness(a_store, standard_script, 0.6), Harness(b_store, standard_script, 0.6)
    service_a, service_b = a.service(concurrency=1, **LEASE), b.service(concurrency=1, **LEASE)
    await service_a.start()
    await service_b.start()

    first = await service_a.submit(alert("one"), origin=CLI)
    second = await service_b.submit(alert("two"), origin=CLI)
    ids = {first.record.id, second.record.id}
    # Either replica may run either one (a follow() sees live events of its own runs only).
    for investigation_id in ids:
        await until(a_store, investigation_id, lambda r: r.status is InvestigationStatus.FINISHED)

    records = [await a_store.get(i) for i in ids]
    assert all(r.status is InvestigationStatus.FINISHED and r.attempts == 1 for r in records)
    assert {r.runner for r in records} == {a_store.runner_id, b_store.runner_id}
    assert sorted(a.started + b.started) == sorted(ids)  # each ran once, on one replica
    for investigation_id in ids:
        events = [s.event for s in await a_store.events(investigation_id)]
        assert not any(isinstance(e, Note) and "restarted" in e.text for e in events)
    await service_a.drain()
    await service_b.drain()


async def test_a_dead_replicas_investigation_runs_on_the_live_one_after_its_lease(
    stores: Callable[..., Awaitable[Store]],
) -> None:
    a_store, b_store = await stores(), await stores()
    a, b = Harness(a_store, standard_script, 30), Harness(b_store, standard_script, 0)
    service_a, service_b = a.service(**LEASE), b.service(**LEASE)
    await service_a.start()
    admission = await service_a.submit(alert(), origin=CLI)
    investigation_id = admission.record.id
    await until(a_store, investigation_id, lambda r: r.status is InvestigationStatus.RUNNING)
    await service_b.start()

    await asyncio.sleep(1.5)  # 2.5 leases: replica a is alive and renews; b leaves it alone
    alive = await b_store.get(investigation_id)
    assert (alive.status, alive.runner, alive.attempts) == ("running", a_store.runner_id, 1)
    halt(service_a)  # replica a dies

    await wait_finished(service_b, investigation_id)
    record = await b_store.get(investigation_id)
    assert (record.status, record.runner, record.attempts) == ("finished", b_store.runner_id, 2)
    events = [s.event for s in await b_store.events(investigation_id)]
    assert any(isinstance(e, Note) and "attempt 2" in e.text for e in events)
    assert sum(isinstance(e, Finished) for e in events) == 1
    await service_b.drain()


async def test_a_draining_replica_gives_its_runs_back_at_once(
    stores: Callable[..., Awaitable[Store]],
) -> None:
    a_store, b_store = await stores(), await stores()
    long_lease = {"lease_s": 60.0, "lease_renew_s": 15.0}
    a, b = Harness(a_store, standard_script, 30), Harness(b_store, standard_script, 0)
    service_a, service_b = a.service(**long_lease), b.service(**long_lease)
    await service_a.start()
    admission = await service_a.submit(alert(), origin=CLI)
    investigation_id = admission.record.id
    await until(a_store, investigation_id, lambda r: r.status is InvestigationStatus.RUNNING)
    await service_b.start()  # idle: it finds nothing to take (a's run is leased)

    assert await service_a.drain(grace_s=0.1) == [investigation_id]

    # Far sooner than the 60 s lease: b's next look at the queue finds it.
    await wait_finished(service_b, investigation_id, timeout_s=10)
    record = await b_store.get(investigation_id)
    assert (record.status, record.runner, record.attempts) == ("finished", b_store.runner_id, 2)
    await service_b.drain()


async def test_a_replica_that_lost_a_lease_stops_that_run_and_stores_nothing_of_its_end(
    stores: Callable[..., Awaitable[Store]],
) -> None:
    a_store = await stores()
    # Replica b's clock runs 10 s ahead: to it, a's leases have always expired (the harm a
    # clock off by more than a lease does; a stalled replica is seen the same way).
    b_store = await stores(lambda: datetime.now(UTC) + timedelta(seconds=10))
    a, b = Harness(a_store, standard_script, 30), Harness(b_store, standard_script, 0.3)
    service_a = a.service(**LEASE)
    await service_a.start()
    admission = await service_a.submit(alert(), origin=CLI)
    investigation_id = admission.record.id
    await until(a_store, investigation_id, lambda r: r.runner == a_store.runner_id)

    service_b = b.service(**LEASE)
    await service_b.start()  # requeues a's run as expired, and runs it
    await until(a_store, investigation_id, lambda r: r.runner == b_store.runner_id)
    async with asyncio.timeout(5):
        # a's next renewal finds the lease lost and stops its run
        while service_a.running:  # noqa: ASYNC110 - no event says so
            await asyncio.sleep(0.02)
    await wait_finished(service_b, investigation_id)

    record = await a_store.get(investigation_id)
    assert (record.status, record.attempts) == ("finished", 2)
    events = [s.event for s in await a_store.events(investigation_id)]
    assert sum(isinstance(e, Finished) for e in events) == 1
    assert await service_a.drain() == []  # nothing of b's to give back
    assert (await a_store.get(investigation_id)).status is InvestigationStatus.FINISHED
    await service_b.drain()


def test_a_renewal_interval_not_below_the_lease_is_refused() -> None:
    from agent.service import ServiceSettings

    with pytest.raises(ValueError, match="lease_renew_s"):
        ServiceSettings(lease_s=10, lease_renew_s=10)
