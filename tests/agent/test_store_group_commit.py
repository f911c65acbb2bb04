"""Group commit: concurrent writes share one transaction (on SQLite one fsync, on PostgreSQL one
BEGIN/COMMIT), and still behave as if each ran alone: race-free admission, all-or-nothing per
call, errors to their own caller."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import agent.store.store as store_module
from agent.alert import Alert
from agent.store import Admission, InvalidTransition, InvestigationNotFound, Store, StoreClosed
from tests.agent.store_helpers import CLI, make_alert


async def test_concurrent_admissions_share_commits(database_url: str) -> None:
    async with await Store.open(database_url) as store:
        admissions = await asyncio.gather(
            *(store.admit(make_alert(f"k{n}"), window_s=60, origin=CLI) for n in range(60))
        )
        assert all(admission.created for admission in admissions)
        assert len({admission.record.id for admission in admissions}) == 60
        # Sixty writers arrived together; they needed far fewer than sixty commits.
        assert 1 <= store.commits < 30
        counts = await store.counts_by_status()
    async with await Store.open(database_url) as reopened:  # and they are really stored
        assert sum((await reopened.counts_by_status()).values()) == sum(counts.values()) == 60


@pytest.mark.parametrize("group_commit", [True, False])
async def test_the_same_alert_admitted_at_once_opens_one_investigation(
    sqlite_url: str, group_commit: bool
) -> None:
    async with await Store.open(sqlite_url, group_commit=group_commit) as store:
        admissions = await asyncio.gather(
            *(store.admit(make_alert("same"), window_s=60, origin=CLI) for _ in range(25))
        )
    assert sum(admission.created for admission in admissions) == 1
    assert len({admission.record.id for admission in admissions}) == 1


async def test_a_failing_write_fails_alone_and_leaves_no_trace(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store_module._new_investigation

    def refuse_boom(investigation_id: str, key: str, *args: Any) -> dict[str, Any]:
        if key == "boom":
            raise ValueError("this alert cannot be stored")
        return real(investigation_id, key, *args)

    monkeypatch.setattr(store_module, "_new_investigation", refuse_boom)
    async with await Store.open(sqlite_url) as store:
        batch: list[Alert] = [make_alert("a1"), make_alert("boom"), make_alert("a2")]
        results = await asyncio.gather(
            store.admit(make_alert("b1"), window_s=60, origin=CLI),
            store.admit_all(batch, window_s=60, origin=CLI),
            store.mark_running("inv_does_not_exist"),
            store.admit(make_alert("b2"), window_s=60, origin=CLI),
            return_exceptions=True,
        )
        assert isinstance(results[1], ValueError)
        assert isinstance(results[2], InvestigationNotFound)
        admitted = [r for r in results if isinstance(r, Admission)]
        assert [admission.record.dedup_key for admission in admitted] == ["b1", "b2"]
        keys = {record.dedup_key for record in await store.list_investigations()}
    # a1 was inserted before boom failed, in the same call: it went with it.
    assert keys == {"b1", "b2"}


async def test_admit_all_keeps_the_order_given_and_joins_repeats(sqlite_url: str) -> None:
    async with await Store.open(sqlite_url) as store:
        existing = await store.admit(make_alert("old"), window_s=60, origin=CLI)
        admissions = await store.admit_all(
            [make_alert("z"), make_alert("old"), make_alert("a"), make_alert("z")],
            window_s=60,
            origin=CLI,
        )
        assert await store.admit_all([], window_s=60, origin=CLI) == []
    assert [a.record.dedup_key for a in admissions] == ["z", "old", "a", "z"]
    assert [a.created for a in admissions] == [True, False, True, False]
    assert admissions[1].record.id == existing.record.id
    assert admissions[3].record.id == admissions[0].record.id


async def test_errors_reach_the_caller_whose_write_failed(sqlite_url: str) -> None:
    async with await Store.open(sqlite_url) as store:
        admission = await store.admit(make_alert("k"), window_s=60, origin=CLI)
        await store.mark_running(admission.record.id)
        again, other = await asyncio.gather(
            store.mark_running(admission.record.id),
            store.admit(make_alert("other"), window_s=60, origin=CLI),
            return_exceptions=True,
        )
    assert isinstance(again, InvalidTransition)
    assert not isinstance(other, BaseException)
    assert other.created


async def test_close_commits_what_was_accepted_and_refuses_the_rest(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    pending = [
        asyncio.create_task(store.admit(make_alert(f"c{n}"), window_s=60, origin=CLI))
        for n in range(20)
    ]
    await asyncio.sleep(0)  # every admission is queued before the store closes
    await store.close()
    results = await asyncio.gather(*pending, return_exceptions=True)
    assert all(not isinstance(result, BaseException) for result in results)
    with pytest.raises(StoreClosed):
        await store.admit(make_alert("late"), window_s=60, origin=CLI)
    async with await Store.open(sqlite_url) as reopened:
        assert len(await reopened.list_investigations(limit=100)) == 20


async def test_a_caller_that_gives_up_early_does_not_leave_the_writer_stuck(
    sqlite_url: str,
) -> None:
    async with await Store.open(sqlite_url) as store:
        tasks = [
            asyncio.create_task(store.admit(make_alert(f"g{n}"), window_s=60, origin=CLI))
            for n in range(10)
        ]
        await asyncio.sleep(0)
        for task in tasks[5:]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        after = await store.admit(make_alert("after"), window_s=60, origin=CLI)
        assert after.created
        keys = {record.dedup_key for record in await store.list_investigations(limit=100)}
    assert {f"g{n}" for n in range(5)} <= keys
    assert "after" in keys


async def test_an_in_memory_store_gives_each_write_its_own_transaction() -> None:
    async with await Store.open("sqlite+aiosqlite://") as memory:
        admissions = await asyncio.gather(
            *(memory.admit(make_alert(f"m{n}"), window_s=60, origin=CLI) for n in range(10))
        )
        assert all(admission.created for admission in admissions)
        assert memory.commits == 0  # no writer thread: a thread would open another database


async def test_deliveries_sharing_alerts_in_opposite_orders_each_open_one_investigation(
    store: Store,
) -> None:
    keys = [f"shared-{n}" for n in range(8)]

    def delivery(n: int) -> list[Alert]:
        order = keys if n % 2 else list(reversed(keys))
        return [make_alert(key) for key in order]

    results = await asyncio.gather(
        *(store.admit_all(delivery(n), window_s=60, origin=CLI) for n in range(6))
    )
    created = [a.record.dedup_key for admissions in results for a in admissions if a.created]
    assert sorted(created) == sorted(keys)
    ids = {a.record.dedup_key: a.record.id for admissions in results for a in admissions}
    assert len(set(ids.values())) == len(keys)
