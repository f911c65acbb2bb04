"""The store's life cycle of an investigation: admission and deduplication, runs, resumption."""

from __future__ import annotations

import asyncio

import pytest

from agent.store import (
    DEFAULT_LEASE_S,
    InvalidTransition,
    InvestigationNotFound,
    InvestigationStatus,
    Origin,
    OriginKind,
    SlackThread,
    Store,
)
from tests.agent.conftest import Clock
from tests.agent.store_helpers import CLI, STATS, make_alert, make_report

WINDOW_S = 600.0


async def test_admitted_alert_is_stored_queued_with_its_alert_and_origin(store: Store) -> None:
    alert = make_alert()
    origin = Origin(kind=OriginKind.HTTP, user="alertmanager", reference="req-17")

    admission = await store.admit(alert, window_s=WINDOW_S, origin=origin)

    assert admission.created
    record = admission.record
    assert record.id.startswith("inv_")
    assert len(record.id) == 16
    assert record.status is InvestigationStatus.QUEUED
    assert record.alert == alert
    assert (record.dedup_key, record.source, record.title) == (
        alert.dedup_key,
        "alertmanager",
        alert.title,
    )
    assert record.severity == alert.severity
    assert record.origin == origin
    assert record.attempts == 0
    assert record.started_at is None
    assert record.finished_at is None
    assert record.created_at.tzinfo is not None
    assert await store.get(record.id) == record


async def test_duplicate_slack_retry_does_not_start_second_investigation(store: Store) -> None:
    slack = Origin(kind=OriginKind.SLACK, channel="C-ALERTS", user="U1")
    thread = SlackThread(channel="C-ALERTS", thread_ts="1700000000.000100")
    first = await store.admit(make_alert(), window_s=WINDOW_S, origin=slack, thread=thread)

    retry = await store.admit(make_alert(), window_s=WINDOW_S, origin=slack, thread=thread)

    assert first.created
    assert not retry.created
    assert retry.record.id == first.record.id
    assert await store.counts_by_status() == {
        InvestigationStatus.QUEUED: 1,
        InvestigationStatus.RUNNING: 0,
        InvestigationStatus.FINISHED: 0,
        InvestigationStatus.FAILED: 0,
    }


async def test_alertmanager_repeat_in_a_new_thread_routes_that_thread_to_the_same_one(
    store: Store,
) -> None:
    slack = Origin(kind=OriginKind.SLACK, channel="C-ALERTS")
    first_thread = SlackThread(channel="C-ALERTS", thread_ts="1.1", message_ts="1.1")
    repeat_thread = SlackThread(channel="C-ALERTS", thread_ts="2.2", message_ts="2.2")
    first = await store.admit(make_alert(), window_s=WINDOW_S, origin=slack, thread=first_thread)

    repeat = await store.admit(make_alert(), window_s=WINDOW_S, origin=slack, thread=repeat_thread)

    assert not repeat.created
    assert repeat.record.thread == first_thread  # the first thread stays its home
    found = await store.find_by_thread("C-ALERTS", "2.2")
    assert found is not None
    assert found.id == first.record.id


async def test_duplicate_of_a_running_investigation_joins_it(store: Store) -> None:
    first = await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)
    await store.mark_running(first.record.id)

    again = await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)

    assert not again.created
    assert again.record.id == first.record.id
    assert again.record.status is InvestigationStatus.RUNNING


async def test_alert_repeating_within_the_window_after_it_finished_is_a_duplicate(
    store: Store, clock: Clock
) -> None:
    first = await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)
    await store.mark_running(first.record.id)
    await store.finish(first.record.id, make_report(), STATS)
    clock.advance(WINDOW_S - 5)

    again = await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)

    assert not again.created
    assert again.record.id == first.record.id
    assert again.record.status is InvestigationStatus.FINISHED


async def test_alert_repeating_after_the_window_starts_a_new_investigation(
    store: Store, clock: Clock
) -> None:
    first = await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)
    await store.mark_running(first.record.id)
    await store.finish(first.record.id, make_report(), STATS)
    clock.advance(WINDOW_S + 1)

    again = await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)

    assert again.created
    assert again.record.id != first.record.id
    third = await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)
    assert not third.created
    assert third.record.id == again.record.id


async def test_failed_investigation_is_not_restarted_by_a_duplicate_within_the_window(
    store: Store, clock: Clock
) -> None:
    first = await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)
    await store.fail(first.record.id, "no tools configured")
    clock.advance(10)

    again = await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)

    assert not again.created
    assert again.record.status is InvestigationStatus.FAILED


async def test_zero_window_dedups_only_while_active(store: Store) -> None:
    first = await store.admit(make_alert(), window_s=0, origin=CLI)
    assert not (await store.admit(make_alert(), window_s=0, origin=CLI)).created
    await store.fail(first.record.id, "boom")

    assert (await store.admit(make_alert(), window_s=0, origin=CLI)).created


async def test_different_alerts_get_different_investigations(store: Store) -> None:
    one = await store.admit(make_alert("a"), window_s=WINDOW_S, origin=CLI)
    two = await store.admit(make_alert("b"), window_s=WINDOW_S, origin=CLI)

    assert one.created
    assert two.created
    assert one.record.id != two.record.id


async def test_hundred_concurrent_admits_of_one_alert_create_exactly_one(store: Store) -> None:
    admissions = await asyncio.gather(
        *(store.admit(make_alert(), window_s=WINDOW_S, origin=CLI) for _ in range(100))
    )

    assert sum(admission.created for admission in admissions) == 1
    assert len({admission.record.id for admission in admissions}) == 1
    assert (await store.counts_by_status())[InvestigationStatus.QUEUED] == 1


async def test_concurrent_admits_from_two_processes_create_exactly_one(
    database_url: str, clock: Clock
) -> None:
    # Two Store objects have separate connection pools, as two processes would: only the
    # database can keep them from both inserting.
    async with (
        await Store.open(database_url, clock=clock) as one,
        await Store.open(database_url, clock=clock) as two,
    ):
        admissions = await asyncio.gather(
            *(
                (one if i % 2 else two).admit(make_alert(), window_s=WINDOW_S, origin=CLI)
                for i in range(60)
            )
        )

    assert sum(admission.created for admission in admissions) == 1
    assert len({admission.record.id for admission in admissions}) == 1


async def test_concurrent_admits_of_many_alerts_create_one_each(store: Store) -> None:
    keys = [f"alert-{i % 20}" for i in range(100)]

    admissions = await asyncio.gather(
        *(store.admit(make_alert(key), window_s=WINDOW_S, origin=CLI) for key in keys)
    )

    assert sum(admission.created for admission in admissions) == 20
    by_key: dict[str, set[str]] = {}
    for key, admission in zip(keys, admissions, strict=True):
        by_key.setdefault(key, set()).add(admission.record.id)
    assert all(len(ids) == 1 for ids in by_key.values())


async def test_an_over_long_dedup_key_is_stored_hashed_and_still_deduplicates(
    store: Store,
) -> None:
    key = "slack:" + "x" * 10_000
    first = await store.admit(make_alert(key), window_s=WINDOW_S, origin=CLI)
    again = await store.admit(make_alert(key), window_s=WINDOW_S, origin=CLI)
    other = await store.admit(make_alert(key + "y"), window_s=WINDOW_S, origin=CLI)

    assert first.record.dedup_key.startswith("sha256:")
    assert first.record.alert.dedup_key == key  # the alert keeps the original
    assert not again.created
    assert again.record.id == first.record.id
    assert other.created


async def test_negative_window_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="window_s"):
        await store.admit(make_alert(), window_s=-1, origin=CLI)


async def test_mark_running_counts_the_attempt_and_sets_started_at(
    store: Store, clock: Clock
) -> None:
    admitted = (await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)).record
    clock.advance(3)

    running = await store.mark_running(admitted.id)

    assert running.status is InvestigationStatus.RUNNING
    assert running.attempts == 1
    assert running.started_at is not None
    assert running.started_at > admitted.created_at
    assert running.updated_at >= running.started_at


async def test_an_investigation_cannot_be_started_twice(store: Store) -> None:
    admitted = (await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)).record
    await store.mark_running(admitted.id)

    with pytest.raises(InvalidTransition, match="running; it can only be started when queued"):
        await store.mark_running(admitted.id)
    assert (await store.get(admitted.id)).attempts == 1


async def test_concurrent_starts_of_one_investigation_let_exactly_one_through(
    store: Store,
) -> None:
    admitted = (await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)).record

    results = await asyncio.gather(
        *(store.mark_running(admitted.id) for _ in range(20)), return_exceptions=True
    )

    started = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, InvalidTransition)]
    assert len(started) == 1
    assert len(refused) == 19
    assert (await store.get(admitted.id)).attempts == 1


async def test_workers_claiming_concurrently_get_each_queued_investigation_once(
    store: Store,
) -> None:
    ids = [
        (await store.admit(make_alert(f"k{i}"), window_s=WINDOW_S, origin=CLI)).record.id
        for i in range(10)
    ]

    async def worker() -> list[str]:
        mine = []
        while (record := await store.claim_next()) is not None:
            mine.append(record.id)
            await asyncio.sleep(0)
        return mine

    claimed = [i for found in await asyncio.gather(*(worker() for _ in range(8))) for i in found]

    assert sorted(claimed) == sorted(ids)
    assert await store.claim_next() is None


async def test_claim_next_takes_the_oldest_queued_first(store: Store) -> None:
    older = (await store.admit(make_alert("old"), window_s=WINDOW_S, origin=CLI)).record
    await store.admit(make_alert("new"), window_s=WINDOW_S, origin=CLI)

    claimed = await store.claim_next()

    assert claimed is not None
    assert claimed.id == older.id
    assert claimed.status is InvestigationStatus.RUNNING
    assert claimed.attempts == 1


async def test_finish_stores_the_report_stats_and_what_it_says(store: Store, clock: Clock) -> None:
    admitted = (await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)).record
    await store.mark_running(admitted.id)
    report = make_report()

    finished = await store.finish(admitted.id, report, STATS)

    assert finished.status is InvestigationStatus.FINISHED
    assert finished.report == report
    assert finished.stats == STATS
    assert (finished.category, finished.confidence) == (report.category, report.confidence)
    assert (finished.runbook, finished.reasoner) == ("KubePodCrashLooping", "offline")
    assert finished.finished_at is not None
    assert finished.error is None


async def test_finish_requires_a_running_investigation(store: Store) -> None:
    admitted = (await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)).record

    with pytest.raises(InvalidTransition, match="queued; it can only be finished when running"):
        await store.finish(admitted.id, make_report(), STATS)
    assert (await store.get(admitted.id)).report is None


async def test_fail_records_the_error_whether_queued_or_running(store: Store) -> None:
    queued = (await store.admit(make_alert("q"), window_s=WINDOW_S, origin=CLI)).record
    running = (await store.admit(make_alert("r"), window_s=WINDOW_S, origin=CLI)).record
    await store.mark_running(running.id)

    failed_queued = await store.fail(queued.id, "no tools configured")
    failed_running = await store.fail(running.id, "every reasoner failed")

    assert failed_queued.status is InvestigationStatus.FAILED
    assert failed_queued.error == "no tools configured"
    assert failed_running.error == "every reasoner failed"
    assert failed_running.finished_at is not None
    with pytest.raises(InvalidTransition):
        await store.fail(queued.id, "again")


async def test_mark_queued_puts_a_running_investigation_back_for_later(store: Store) -> None:
    admitted = (await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)).record
    await store.mark_running(admitted.id)

    drained = await store.mark_queued(admitted.id)

    assert drained.status is InvestigationStatus.QUEUED
    assert drained.attempts == 1
    resumed = await store.mark_running(admitted.id)
    assert resumed.attempts == 2


async def test_requeue_unfinished_returns_the_queued_and_the_expired_runs_oldest_first(
    store: Store, clock: Clock
) -> None:
    ids = [
        (await store.admit(make_alert(f"k{i}"), window_s=WINDOW_S, origin=CLI)).record.id
        for i in range(6)
    ]
    await store.mark_running(ids[0])
    await store.mark_running(ids[2])
    await store.finish(ids[2], make_report(), STATS)
    await store.fail(ids[3], "boom")
    clock.advance(DEFAULT_LEASE_S + 1)  # the lease on ids[0] expired
    await store.mark_running(ids[5])  # a live lease: its runner is running it

    requeued = await store.requeue_unfinished()

    assert [record.id for record in requeued] == [ids[0], ids[1], ids[4]]
    assert all(record.status is InvestigationStatus.QUEUED for record in requeued)
    assert all(record.lease_expires_at is None for record in requeued)
    assert [record.attempts for record in requeued] == [1, 0, 0]
    assert (await store.get(ids[2])).status is InvestigationStatus.FINISHED
    assert (await store.get(ids[3])).status is InvestigationStatus.FAILED
    assert (await store.get(ids[5])).status is InvestigationStatus.RUNNING


@pytest.mark.parametrize(
    "call",
    [
        "get",
        "mark_running",
        "mark_queued",
        "finish",
        "fail",
        "append_events",
        "events",
        "save_transcript",
        "transcript",
        "link_thread",
        "add_followup",
        "followups",
        "record_feedback",
        "feedback_summary",
    ],
)
async def test_unknown_investigation_id_is_a_clear_error(store: Store, call: str) -> None:
    calls = {
        "get": lambda: store.get("inv_missing"),
        "mark_running": lambda: store.mark_running("inv_missing"),
        "mark_queued": lambda: store.mark_queued("inv_missing"),
        "finish": lambda: store.finish("inv_missing", make_report(), STATS),
        "fail": lambda: store.fail("inv_missing", "x"),
        "append_events": lambda: store.append_events("inv_missing", []),
        "events": lambda: store.events("inv_missing"),
        "save_transcript": lambda: store.save_transcript("inv_missing", []),
        "transcript": lambda: store.transcript("inv_missing"),
        "link_thread": lambda: store.link_thread("inv_missing", "C1", "1.1"),
        "add_followup": lambda: store.add_followup("inv_missing", "why?"),
        "followups": lambda: store.followups("inv_missing"),
        "record_feedback": lambda: store.record_feedback("inv_missing", "U1", 1),
        "feedback_summary": lambda: store.feedback_summary("inv_missing"),
    }

    with pytest.raises(InvestigationNotFound, match="no investigation with id 'inv_missing'"):
        await calls[call]()
