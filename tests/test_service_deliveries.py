"""The service's side of HTTP intake: a delivery's alerts stored all or none, intake without
running, and following an investigation from a given event on (SSE resume)."""

from __future__ import annotations

import asyncio

import pytest

from agent.events import Finished, Queued, Started
from agent.service import ServiceStopping
from agent.store import InvestigationStatus, Store
from tests.test_service import CLI, Harness, alert, standard_script, store, wait_finished

__all__ = ["store"]  # the fixture, shared with tests/test_service.py


async def test_submit_all_stores_every_alert_before_it_returns(store: Store) -> None:
    service = Harness(store, standard_script, 0).service()
    await service.start(workers=False)
    admissions = await service.submit_all([alert("a"), alert("b"), alert("a")], origin=CLI)
    assert [a.created for a in admissions] == [True, True, False]
    for admission in admissions:
        assert (await store.get(admission.record.id)).status is InvestigationStatus.QUEUED
    await service.drain(0)


async def test_without_workers_nothing_runs_and_nothing_is_requeued(store: Store) -> None:
    service = Harness(store, standard_script, 0).service()
    await service.start(workers=False)
    admission = await service.submit(alert("idle"), origin=CLI)
    assert service.running == 0
    assert (await store.get(admission.record.id)).attempts == 0
    await service.drain(0)


async def test_submit_all_while_draining_stores_nothing(store: Store) -> None:
    service = Harness(store, standard_script, 0).service()
    await service.start(workers=False)
    await service.drain(0)
    with pytest.raises(ServiceStopping):
        await service.submit_all([alert("late")], origin=CLI)
    assert sum((await store.counts_by_status()).values()) == 0


async def test_a_busy_service_says_where_each_new_alert_waits(store: Store) -> None:
    harness = Harness(store, standard_script, 0.3)
    service = harness.service(concurrency=1)
    await service.start()
    watcher = service.subscribe()
    await service.submit(alert("first"), origin=CLI)
    async with asyncio.timeout(10):
        async for stored in watcher:  # the only slot is taken
            if isinstance(stored.event, Started):
                break
        admissions = await service.submit_all([alert("x"), alert("y")], origin=CLI)
        queued = []
        async for stored in watcher:
            if isinstance(stored.event, Queued):
                queued.append((stored.event.investigation_id, stored.event.ahead))
            if len(queued) == 2:
                break
    watcher.close()
    assert queued == [(admissions[0].record.id, 0), (admissions[1].record.id, 1)]
    await service.drain(0)


async def test_follow_after_a_sequence_number_skips_what_the_reader_has(store: Store) -> None:
    service = Harness(store, standard_script, 0).service()
    await service.start()
    admission = await service.submit(alert("f"), origin=CLI)
    await wait_finished(service, admission.record.id)
    everything = [s async for s in service.follow(admission.record.id)]
    rest = [s async for s in service.follow(admission.record.id, after_seq=2)]
    assert [s.seq for s in rest] == [s.seq for s in everything if s.seq > 2]
    assert isinstance(rest[-1].event, Finished)
    # A reader that has seen the end gets nothing more, and is not left waiting.
    assert [
        s async for s in service.follow(admission.record.id, after_seq=everything[-1].seq)
    ] == []
    await service.drain(0)
