"""What goes into the store comes back out: alerts, events, transcripts, reports, follow-ups,
feedback and Slack threads, exactly and in order."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import StructuredTool

from agent.events import (
    Answered,
    Event,
    Failed,
    Finished,
    IterationStarted,
    Note,
    Reasoning,
    Started,
    Stats,
    ToolCalled,
    ToolFinished,
)
from agent.investigation import Investigation
from agent.reasoner import SUBMIT_REPORT, ChatModelReasoner
from agent.report import Category
from agent.store import (
    FollowUpNotFound,
    InvestigationNotFound,
    InvestigationStatus,
    Origin,
    OriginKind,
    SlackThread,
    Store,
    ThreadAlreadyLinked,
)
from agent.store.engine import dumps_json
from agent.tooling import ToolOutcome, ToolStatus
from tests.agent.conftest import Clock
from tests.agent.store_helpers import CLI, STATS, make_alert, make_report
from tests.fakes.scripted_model import ScriptedChatModel, call, say

WINDOW_S = 600.0


async def admitted(store: Store, key: str = "fp-1") -> str:
    return (await store.admit(make_alert(key), window_s=WINDOW_S, origin=CLI)).record.id


def every_kind_of_event(investigation_id: str) -> list[Event]:
    return [
        Started(
            investigation_id=investigation_id,
            alert=make_alert(),
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
        ToolFinished(
            investigation_id=investigation_id,
            iteration=1,
            call_id="c1",
            tool="kubernetes_get_pod",
            status=ToolStatus.SUCCESS,
            output="OOMKilled",
            duration_ms=12.5,
            truncated=True,
        ),
        Note(investigation_id=investigation_id, text="resumed after a restart"),
        Finished(investigation_id=investigation_id, report=make_report(), stats=STATS),
        Answered(
            investigation_id=investigation_id,
            question="why?",
            answer="memory",
            reasoner="r",
            stats=STATS,
        ),
        Failed(investigation_id=investigation_id, error="boom"),
    ]


async def test_alert_round_trips_exactly(store: Store) -> None:
    alert = make_alert(
        labels={"alertname": "X", "pod": "p", "weird key": "ünïcode ✓", "empty": ""},
        annotations={"description": "line 1\nline 2 <!channel> `code`"},
        raw={"deep": {"list": [1, 2.5, True, None, "s"]}, "big": 2**62},
    )

    record = (await store.admit(alert, window_s=WINDOW_S, origin=CLI)).record

    assert (await store.get(record.id)).alert == alert


async def test_events_come_back_in_order_with_their_place_and_run(store: Store) -> None:
    investigation_id = await admitted(store)
    await store.mark_running(investigation_id)
    sent = every_kind_of_event(investigation_id)

    seqs = await store.append_events(investigation_id, sent[:4])
    seqs += await store.append_events(investigation_id, sent[4:])

    assert seqs == list(range(1, len(sent) + 1))
    stored = await store.events(investigation_id)
    assert [item.event for item in stored] == sent
    assert [item.seq for item in stored] == seqs
    assert {item.attempt for item in stored} == {1}
    assert (await store.get(investigation_id)).last_event_seq == len(sent)


async def test_events_after_a_seq_return_only_the_newer_ones(store: Store) -> None:
    investigation_id = await admitted(store)
    await store.append_events(investigation_id, every_kind_of_event(investigation_id))

    newer = await store.events(investigation_id, after_seq=6)
    page = await store.events(investigation_id, after_seq=2, limit=2)

    assert [item.seq for item in newer] == [7, 8, 9]
    assert [item.seq for item in page] == [3, 4]
    assert await store.events(investigation_id, after_seq=9) == []


async def test_events_of_a_resumed_run_carry_the_new_attempt(store: Store) -> None:
    investigation_id = await admitted(store)
    await store.mark_running(investigation_id)
    await store.append_events(investigation_id, [Note(investigation_id=investigation_id, text="a")])
    await store.mark_queued(investigation_id)
    await store.mark_running(investigation_id)

    await store.append_events(investigation_id, [Note(investigation_id=investigation_id, text="b")])

    stored = await store.events(investigation_id)
    assert [(item.seq, item.attempt) for item in stored] == [(1, 1), (2, 2)]


async def test_concurrent_appends_to_one_investigation_get_distinct_consecutive_seqs(
    store: Store,
) -> None:
    investigation_id = await admitted(store)

    async def append(n: int) -> list[int]:
        notes = [Note(investigation_id=investigation_id, text=f"{n}-{i}") for i in range(3)]
        return await store.append_events(investigation_id, notes)

    batches = await asyncio.gather(*(append(n) for n in range(30)))

    assert sorted(seq for batch in batches for seq in batch) == list(range(1, 91))
    assert all(batch == list(range(batch[0], batch[0] + 3)) for batch in batches)
    stored = await store.events(investigation_id)
    assert [item.seq for item in stored] == list(range(1, 91))


async def test_events_for_an_unknown_investigation_raise_and_write_nothing(store: Store) -> None:
    investigation_id = await admitted(store)
    await store.append_events(investigation_id, [Note(investigation_id=investigation_id, text="a")])

    with pytest.raises(InvestigationNotFound):
        await store.append_events("inv_missing", every_kind_of_event("inv_missing"))

    assert len(await store.events(investigation_id)) == 1
    with pytest.raises(InvestigationNotFound):
        await store.events("inv_missing")


async def test_a_batch_with_another_investigations_event_is_refused_whole(store: Store) -> None:
    investigation_id = await admitted(store)
    other = await admitted(store, "fp-2")
    batch = [
        Note(investigation_id=investigation_id, text="mine"),
        Note(investigation_id=other, text="not mine"),
    ]

    with pytest.raises(ValueError, match=f"belongs to investigation {other}"):
        await store.append_events(investigation_id, batch)

    assert await store.events(investigation_id) == []
    assert (await store.get(investigation_id)).last_event_seq == 0


async def test_a_started_event_records_the_runbook_and_reasoner(store: Store) -> None:
    investigation_id = await admitted(store)

    await store.append_events(investigation_id, every_kind_of_event(investigation_id)[:1])

    record = await store.get(investigation_id)
    assert (record.runbook, record.reasoner) == ("KubePodCrashLooping", "offline")


async def test_a_transcript_with_tool_artifacts_round_trips(store: Store) -> None:
    investigation_id = await admitted(store)
    outcome = ToolOutcome(
        call_id="c1",
        tool="prometheus_query",
        arguments={"query": "up"},
        status=ToolStatus.NO_DATA,
        text="no series",
        structured={"series": [{"labels": {"pod": "p"}, "points": [[1.5, 2.0]]}]},
        truncated=True,
        duration_ms=3.5,
        iteration=1,
    )
    messages = [
        SystemMessage("You investigate alerts."),
        HumanMessage("KubePodCrashLooping in shop"),
        AIMessage(
            content="",
            tool_calls=[{"name": "prometheus_query", "args": {"query": "up"}, "id": "c1"}],
            usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        ),
        outcome.to_message(),
        ToolMessage(content="raw", tool_call_id="c2", artifact={"k": [1, {"x": math.nan}]}),
    ]

    await store.save_transcript(investigation_id, messages)
    back = await store.transcript(investigation_id)

    assert back[:4] == messages[:4]
    assert isinstance(back[3], ToolMessage)
    assert ToolOutcome.from_message(back[3]) == outcome
    # PostgreSQL's JSON has no NaN: it comes back as the string "NaN", not lost.
    assert isinstance(back[4], ToolMessage)
    assert back[4].artifact == {"k": [1, {"x": "NaN"}]}


async def test_a_new_investigation_has_an_empty_transcript(store: Store) -> None:
    assert await store.transcript(await admitted(store)) == []


async def test_a_real_investigation_and_its_follow_up_are_kept_whole_across_a_restart(
    database_url: str, clock: Clock
) -> None:
    async def list_pods(namespace: str) -> tuple[str, dict[str, Any]]:
        return "checkout: OOMKilled", {
            "status": "success",
            "structured": {"pods": [{"name": "checkout", "reason": "OOMKilled"}]},
            "truncated": False,
        }

    tool = StructuredTool.from_function(
        coroutine=list_pods,
        name="kubernetes_list_pods",
        description="pods",
        response_format="content_and_artifact",
    )
    report_args = make_report().model_dump(
        mode="json", exclude={"runbook", "reasoner", "limit_hit", "notes"}
    )
    model = ScriptedChatModel(
        script=[
            say("Listing pods.", call("kubernetes_list_pods", {"namespace": "shop"}, id="c1")),
            say("OOMKilled.", call(SUBMIT_REPORT, report_args, id="c2")),
            say("Because the limit is 256Mi."),
        ]
    )
    reasoner = ChatModelReasoner(model, name="scripted")

    async with await Store.open(database_url, clock=clock) as store:
        record = (
            await store.claim_next()
            or (await store.admit(make_alert(), window_s=WINDOW_S, origin=CLI)).record
        )
        record = await store.mark_running(record.id)
        run = Investigation(
            investigation_id=record.id,
            alert=record.alert,
            messages=[SystemMessage("investigate"), HumanMessage("alert")],
            reasoners=[reasoner],
            tools=[tool],
        )
        emitted = []
        async for event in run.run():
            emitted.append(event)
            await store.append_events(record.id, [event])
            if isinstance(event, Finished):
                await store.finish(record.id, event.report, event.stats, transcript=run.messages)
        question = await store.add_followup(record.id, "why?", asker="U1", source_ref="9.9")
        follow = Investigation(
            investigation_id=record.id,
            alert=record.alert,
            messages=[*await store.transcript(record.id), HumanMessage("why?")],
            reasoners=[reasoner],
            tools=[tool],
            question="why?",
        )
        async for event in follow.run():
            emitted.append(event)
            await store.append_events(record.id, [event])
            if isinstance(event, Answered):
                await store.answer_followup(
                    question.followup.id,
                    event.answer,
                    reasoner=event.reasoner,
                    stats=event.stats,
                    transcript=follow.messages,
                )

    async with await Store.open(database_url, clock=clock) as reopened:
        stored = await reopened.get(record.id)
        assert stored.status is InvestigationStatus.FINISHED
        assert stored.report is not None
        assert stored.report.category is Category.OOM_KILLED
        assert [item.event for item in await reopened.events(record.id)] == emitted
        transcript = await reopened.transcript(record.id)
        assert transcript == follow.messages
        outcomes = [ToolOutcome.from_message(m) for m in transcript if isinstance(m, ToolMessage)]
        assert outcomes[0].structured == {"pods": [{"name": "checkout", "reason": "OOMKilled"}]}
        (answered,) = await reopened.followups(record.id)
        assert (answered.question, answered.answer) == ("why?", "Because the limit is 256Mi.")
        assert answered.asker == "U1"
        assert answered.stats is not None


async def test_follow_up_questions_are_kept_and_a_redelivery_is_not_a_second_question(
    store: Store, clock: Clock
) -> None:
    investigation_id = await admitted(store)

    first = await store.add_followup(investigation_id, "why OOM?", asker="U1", source_ref="5.1")
    redelivered = await store.add_followup(
        investigation_id, "why OOM?", asker="U1", source_ref="5.1"
    )
    second = await store.add_followup(investigation_id, "and the fix?", asker="U2")

    assert first.created
    assert not redelivered.created
    assert redelivered.followup == first.followup
    assert second.created
    assert second.followup.source_ref is None
    assert not first.followup.answered
    assert [f.id for f in await store.unanswered_followups()] == [
        first.followup.id,
        second.followup.id,
    ]

    answered = await store.answer_followup(
        first.followup.id, "The limit is 256Mi.", reasoner="offline", stats=STATS
    )

    assert answered.answered
    assert answered.answer == "The limit is 256Mi."
    assert answered.reasoner == "offline"
    assert answered.answered_at is not None
    assert [f.id for f in await store.unanswered_followups()] == [second.followup.id]
    assert [f.question for f in await store.followups(investigation_id)] == [
        "why OOM?",
        "and the fix?",
    ]


async def test_answering_a_follow_up_updates_the_transcript_in_the_same_commit(
    store: Store,
) -> None:
    investigation_id = await admitted(store)
    asked = await store.add_followup(investigation_id, "why?")
    transcript = [HumanMessage("why?"), AIMessage("because")]

    await store.answer_followup(asked.followup.id, "because", reasoner="r", transcript=transcript)

    assert await store.transcript(investigation_id) == transcript


async def test_bad_follow_ups_are_clear_errors(store: Store) -> None:
    investigation_id = await admitted(store)

    with pytest.raises(ValueError, match="cannot be empty"):
        await store.add_followup(investigation_id, "   ")
    with pytest.raises(FollowUpNotFound, match="fu_missing"):
        await store.answer_followup("fu_missing", "x", reasoner="r")
    assert await store.followups(investigation_id) == []


async def test_feedback_is_one_vote_per_person_and_the_last_one_counts(store: Store) -> None:
    investigation_id = await admitted(store)

    await store.record_feedback(investigation_id, "U1", 1)
    await store.record_feedback(investigation_id, "U2", 1)
    await store.record_feedback(investigation_id, "U3", -1)
    summary = await store.record_feedback(investigation_id, "U1", -1)

    assert (summary.up, summary.down, summary.score) == (1, 2, -1)
    assert summary.votes == {"U1": -1, "U2": 1, "U3": -1}
    assert await store.feedback_summary(investigation_id) == summary


async def test_feedback_on_another_investigation_is_counted_separately(store: Store) -> None:
    one, two = await admitted(store, "a"), await admitted(store, "b")
    await store.record_feedback(one, "U1", 1)

    assert (await store.feedback_summary(two)).votes == {}


@pytest.mark.parametrize(("user", "vote"), [("U1", 0), ("U1", 2), ("", 1), ("  ", -1)])
async def test_bad_votes_are_refused(store: Store, user: str, vote: Any) -> None:
    investigation_id = await admitted(store)

    with pytest.raises(ValueError, match="vote"):
        await store.record_feedback(investigation_id, user, vote)
    assert (await store.feedback_summary(investigation_id)).votes == {}


async def test_a_linked_thread_finds_its_investigation_after_a_restart(
    database_url: str, clock: Clock
) -> None:
    async with await Store.open(database_url, clock=clock) as store:
        investigation_id = await admitted(store)
        linked = await store.link_thread(investigation_id, "C-ALERTS", "1700.01", "1700.02")
        assert linked.thread == SlackThread(
            channel="C-ALERTS", thread_ts="1700.01", message_ts="1700.02"
        )

    async with await Store.open(database_url, clock=clock) as reopened:
        found = await reopened.find_by_thread("C-ALERTS", "1700.01")
        assert found is not None
        assert found.id == investigation_id
        assert await reopened.find_by_thread("C-ALERTS", "1700.99") is None
        assert await reopened.find_by_thread("C-OTHER", "1700.01") is None


async def test_the_first_thread_linked_is_home_and_relinking_updates_its_message(
    store: Store,
) -> None:
    investigation_id = await admitted(store)

    await store.link_thread(investigation_id, "C1", "1.0")
    await store.link_thread(investigation_id, "C2", "2.0", "2.5")
    record = await store.link_thread(investigation_id, "C1", "1.0", "1.5")

    assert record.thread == SlackThread(channel="C1", thread_ts="1.0", message_ts="1.5")
    found = await store.find_by_thread("C2", "2.0")
    assert found is not None
    assert found.id == investigation_id


async def test_a_thread_cannot_belong_to_two_investigations(store: Store) -> None:
    one, two = await admitted(store, "a"), await admitted(store, "b")
    await store.link_thread(one, "C1", "1.0")

    with pytest.raises(ThreadAlreadyLinked, match=f"already belongs to investigation {one}"):
        await store.link_thread(two, "C1", "1.0")

    found = await store.find_by_thread("C1", "1.0")
    assert found is not None
    assert found.id == one
    assert (await store.get(two)).thread is None


async def test_slash_command_origin_and_thread_round_trip(store: Store) -> None:
    origin = Origin(kind=OriginKind.SLACK, channel="C-OPS", user="U42", reference="/investigate")
    thread = SlackThread(channel="C-OPS", thread_ts="3.0", message_ts="3.0")

    record = (
        await store.admit(make_alert(), window_s=WINDOW_S, origin=origin, thread=thread)
    ).record

    assert record.origin == origin
    assert record.thread == thread
    found = await store.find_by_thread("C-OPS", "3.0")
    assert found == record


async def test_list_is_newest_first_pages_with_before_and_filters_by_status(
    store: Store,
) -> None:
    ids = [await admitted(store, f"k{i}") for i in range(7)]
    await store.mark_running(ids[1])
    await store.mark_running(ids[5])

    first_page = await store.list_investigations(limit=3)
    second_page = await store.list_investigations(limit=3, before=first_page[-1].id)
    last_page = await store.list_investigations(limit=3, before=second_page[-1].id)
    running = await store.list_investigations(status=InvestigationStatus.RUNNING)

    newest_first = list(reversed(ids))
    assert [r.id for r in first_page + second_page + last_page] == newest_first
    assert [r.id for r in running] == [ids[5], ids[1]]
    with pytest.raises(InvestigationNotFound):
        await store.list_investigations(before="inv_missing")
    with pytest.raises(ValueError, match="limit"):
        await store.list_investigations(limit=0)


async def test_list_pages_are_exact_even_when_investigations_share_a_timestamp(
    database_url: str,
) -> None:
    frozen = datetime(2025, 6, 1, tzinfo=UTC)
    async with await Store.open(database_url, clock=lambda: frozen) as store:
        ids = {await admitted(store, f"k{i}") for i in range(5)}

        pages: list[str] = []
        before = None
        while page := await store.list_investigations(limit=2, before=before):
            pages += [r.id for r in page]
            before = page[-1].id

    assert sorted(pages) == sorted(ids)
    assert len(pages) == 5


async def test_counts_by_status_and_category(store: Store) -> None:
    ids = [await admitted(store, f"k{i}") for i in range(5)]
    for investigation_id in ids[:3]:
        await store.mark_running(investigation_id)
    await store.finish(ids[0], make_report(), STATS)
    await store.finish(ids[1], make_report(category=Category.BAD_CONFIG), STATS)
    await store.fail(ids[3], "boom")

    assert await store.counts_by_status() == {
        InvestigationStatus.QUEUED: 1,
        InvestigationStatus.RUNNING: 1,
        InvestigationStatus.FINISHED: 2,
        InvestigationStatus.FAILED: 1,
    }
    assert await store.counts_by_category() == {Category.OOM_KILLED: 1, Category.BAD_CONFIG: 1}


UNTRUSTED_TEXT = [
    "nul \x00 inside",
    "emoji 🔥 and rtl \u202e override",
    "'); DROP TABLE investigations; --",
    "<!channel> @here *bold*",
    "x" * 100_000,
]


@pytest.mark.parametrize("text", UNTRUSTED_TEXT, ids=range(len(UNTRUSTED_TEXT)))
async def test_untrusted_text_is_stored_without_losing_the_alert(store: Store, text: str) -> None:
    alert = make_alert(
        key=text, title=text, labels={"alertname": text, text[:50]: text}, raw={"text": text}
    )

    admission = await store.admit(alert, window_s=WINDOW_S, origin=CLI)
    investigation_id = admission.record.id
    asked = await store.add_followup(investigation_id, text, asker=text, source_ref=text)
    await store.answer_followup(asked.followup.id, text, reasoner=text)
    await store.append_events(
        investigation_id, [Note(investigation_id=investigation_id, text=text)]
    )
    await store.fail(investigation_id, text)

    record = await store.get(investigation_id)
    assert record.alert == alert  # the alert's JSON keeps every character
    assert record.title.replace("\ufffd", "") == text.replace("\x00", "").replace("\ud800", "")
    (event,) = await store.events(investigation_id)
    assert isinstance(event.event, Note)
    assert event.event.text == text
    assert not (await store.admit(alert, window_s=WINDOW_S, origin=CLI)).created
    (followup,) = await store.followups(investigation_id)
    assert followup.answered


async def test_a_lone_surrogate_where_python_allows_one_is_stored(store: Store) -> None:
    # Pydantic refuses lone surrogates in model text, but a raw payload decoded from JSON with
    # "\ud800" escapes, a question or an error message can still carry one.
    text = "lone surrogate \ud800 here"
    alert = make_alert(raw={"text": text})

    investigation_id = (await store.admit(alert, window_s=WINDOW_S, origin=CLI)).record.id
    asked = await store.add_followup(investigation_id, text, asker=text, source_ref=text)
    await store.fail(investigation_id, text)

    record = await store.get(investigation_id)
    assert record.alert == alert
    assert record.error == "lone surrogate \ufffd here"
    assert (await store.add_followup(investigation_id, text, source_ref=text)).followup == (
        asked.followup
    )


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_stored_json_reads_back_as_the_same_value(value: Any) -> None:
    assert json.loads(dumps_json(value)) == value


def test_stored_json_spells_non_finite_numbers_as_strings_postgresql_accepts() -> None:
    text = dumps_json({"a": math.nan, "b": [math.inf, -math.inf], "c": "\ud800"})

    assert json.loads(text) == {"a": "NaN", "b": ["Infinity", "-Infinity"], "c": "\ud800"}


def test_stored_json_writes_unknown_objects_as_text() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque thing"

    assert json.loads(dumps_json({"x": Opaque()})) == {"x": "opaque thing"}


async def test_stats_and_reports_keep_their_numbers(store: Store) -> None:
    investigation_id = await admitted(store)
    await store.mark_running(investigation_id)
    stats = Stats(iterations=3, tool_calls=7, duration_s=12.000001)

    record = await store.finish(investigation_id, make_report(limit_hit="iterations"), stats)

    assert record.stats == stats
    assert record.report is not None
    assert record.report.limit_hit == "iterations"
