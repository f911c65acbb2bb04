"""The investigation service on a real SQLite store: admission, queueing, fan-out, follow-ups,
restart and drain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool, StructuredTool

from agent.alert import Alert
from agent.casefile import CaseFile
from agent.events import Answered, Failed, Finished, Note, Queued, Started
from agent.investigator import Investigator
from agent.reasoner import ChatModelReasoner, Reasoner
from agent.runbooks import RunbookLibrary
from agent.service import InvestigationService, ServiceSettings, ServiceStopping
from agent.store import DEFAULT_LEASE_S, InvestigationStatus, Origin, OriginKind, Store
from tests.fakes.scripted_model import ScriptedChatModel, call, say

REPORT = {
    "summary": "checkout is OOMKilled",
    "category": "oom_killed",
    "root_cause": "The container exceeds its memory limit.",
    "confidence": "high",
}
CLI = Origin(kind=OriginKind.CLI)
ANSWER = [say("It was OOMKilled 5 times.")]


def alert(key: str = "k1") -> Alert:
    return Alert(
        source="test",
        dedup_key=key,
        title="KubePodCrashLooping",
        labels={"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": f"p-{key}"},
    )


def get_pod_tool() -> BaseTool:
    async def get_pod(name: str, namespace: str = "") -> str:
        return f"{name}: OOMKilled"

    return StructuredTool.from_function(
        coroutine=get_pod, name="kubernetes_get_pod", description="pod"
    )


Script = Callable[[CaseFile], list[AIMessage]]


def standard_script(case: CaseFile) -> list[AIMessage]:
    return [
        say("Looking at the pod.", call("kubernetes_get_pod", {"name": case.alert.labels["pod"]})),
        say("", call("submit_report", REPORT)),
    ]


class Harness:
    def __init__(self, store: Store, script: Script, delay_s: float) -> None:
        self.store = store
        self.script = script
        self.delay_s = delay_s
        self.started: list[str] = []
        self.concurrent = 0
        self.max_concurrent = 0

    def reasoner(self, case: CaseFile) -> Reasoner:
        # The first reasoner for a case investigates; later ones answer follow-up questions.
        script = ANSWER if case.investigation_id in self.started else self.script(case)
        self.started.append(case.investigation_id)
        model = ScriptedChatModel(script=list(script), delay_s=self.delay_s)
        return ChatModelReasoner(model, "scripted")

    def service(self, **settings: Any) -> InvestigationService:
        investigator = Investigator(
            runbooks=RunbookLibrary.load(), tools=[get_pod_tool()], reasoners=[self.reasoner]
        )
        return InvestigationService(
            store=self.store, investigator=investigator, settings=ServiceSettings(**settings)
        )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'sre.db'}")
    yield opened
    await opened.close()


async def wait_finished(
    service: InvestigationService, investigation_id: str, timeout_s: float = 10
) -> None:
    async with asyncio.timeout(timeout_s):
        async for _ in service.follow(investigation_id):
            pass


async def test_submitted_alert_is_stored_investigated_and_followed_to_the_end(
    store: Store,
) -> None:
    service = Harness(store, standard_script, 0).service()
    await service.start()
    admission = await service.submit(alert(), origin=CLI)
    assert admission.created
    events = [stored.event async for stored in service.follow(admission.record.id)]
    assert isinstance(events[0], Started)
    assert isinstance(events[-1], Finished)
    record = await store.get(admission.record.id)
    assert record.status == InvestigationStatus.FINISHED
    assert record.report is not None
    assert record.report.category == "oom_killed"
    assert len(await store.transcript(record.id)) >= 4
    await service.drain()


async def test_the_same_alert_again_joins_the_running_investigation(store: Store) -> None:
    harness = Harness(store, standard_script, 0.2)
    service = harness.service()
    await service.start()
    first = await service.submit(alert("same"), origin=CLI)
    second = await service.submit(alert("same"), origin=CLI)
    assert not second.created
    assert second.record.id == first.record.id
    await wait_finished(service, first.record.id)
    assert harness.started == [first.record.id]
    await service.drain()


async def test_concurrency_limit_queues_the_rest_and_says_so(store: Store) -> None:
    harness = Harness(store, standard_script, 0.1)
    service = harness.service(concurrency=1)
    await service.start()
    watcher = service.subscribe()
    first = await service.submit(alert("a"), origin=CLI)
    await asyncio.sleep(0.05)  # let the only worker claim it
    second = await service.submit(alert("b"), origin=CLI)
    third = await service.submit(alert("c"), origin=CLI)
    await wait_finished(service, third.record.id)
    watcher.close()
    seen = [stored.event async for stored in watcher]
    queued = [e for e in seen if isinstance(e, Queued)]
    assert {e.investigation_id for e in queued} == {second.record.id, third.record.id}
    assert next(e for e in queued if e.investigation_id == third.record.id).ahead == 1
    starts = [e.investigation_id for e in seen if isinstance(e, Started)]
    assert starts == [first.record.id, second.record.id, third.record.id]
    await service.drain()


async def test_investigation_left_running_by_a_crash_runs_again_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sre.db'}"
    async with await Store.open(url) as previous:  # a previous process started it, then died
        admission = await previous.admit(alert(), window_s=600, origin=CLI)
        await previous.claim_next()

    def later() -> datetime:  # the next start comes after its lease expired
        return datetime.now(UTC) + timedelta(seconds=DEFAULT_LEASE_S + 1)

    async with await Store.open(url, clock=later) as store:
        harness = Harness(store, standard_script, 0)
        service = harness.service()
        requeued = await service.start()
        assert [r.id for r in requeued] == [admission.record.id]
        await wait_finished(service, admission.record.id)
        events = [s.event for s in await store.events(admission.record.id)]
        assert any(isinstance(e, Note) and "restarted" in e.text for e in events)
        assert sum(isinstance(e, Finished) for e in events) == 1
        assert harness.started == [admission.record.id]
        await service.drain()


async def test_drain_requeues_what_does_not_finish_in_the_grace_period(store: Store) -> None:
    service = Harness(store, standard_script, 2.0).service()
    await service.start()
    admission = await service.submit(alert(), origin=CLI)
    await asyncio.sleep(0.1)
    requeued = await service.drain(grace_s=0.1)
    assert requeued == [admission.record.id]
    assert (await store.get(admission.record.id)).status == InvestigationStatus.QUEUED
    with pytest.raises(ServiceStopping):
        await service.submit(alert("later"), origin=CLI)
    restarted = Harness(store, standard_script, 0).service()
    await restarted.start()
    await wait_finished(restarted, admission.record.id)
    assert (await store.get(admission.record.id)).status == InvestigationStatus.FINISHED
    await restarted.drain()


async def test_follow_up_is_answered_from_the_stored_transcript_once(store: Store) -> None:
    service = Harness(store, standard_script, 0).service()
    await service.start()
    admission = await service.submit(alert(), origin=CLI)
    await wait_finished(service, admission.record.id)
    events = [
        e async for e in service.ask(admission.record.id, "How often?", asker="U1", source_ref="m1")
    ]
    assert isinstance(events[-1], Answered)
    assert events[-1].answer == "It was OOMKilled 5 times."
    again = [
        e async for e in service.ask(admission.record.id, "How often?", asker="U1", source_ref="m1")
    ]
    assert again == []
    (followup,) = await store.followups(admission.record.id)
    assert followup.answer == "It was OOMKilled 5 times."
    await service.drain()


async def test_follow_up_during_a_running_investigation_waits_for_it(store: Store) -> None:
    service = Harness(store, standard_script, 0.2).service()
    await service.start()
    admission = await service.submit(alert(), origin=CLI)
    events = [e async for e in service.ask(admission.record.id, "Is it memory?")]
    assert isinstance(events[-1], Answered)
    assert (await store.get(admission.record.id)).status == InvestigationStatus.FINISHED
    await service.drain()


async def test_an_investigation_that_cannot_start_fails_in_its_record(store: Store) -> None:
    def broken(case: CaseFile) -> list[AIMessage]:
        raise RuntimeError("no reasoner today")

    service = Harness(store, broken, 0).service()
    await service.start()
    admission = await service.submit(alert(), origin=CLI)
    await wait_finished(service, admission.record.id)
    record = await store.get(admission.record.id)
    assert record.status == InvestigationStatus.FAILED
    assert record.error is not None
    assert "no reasoner today" in record.error
    events = [s.event for s in await store.events(record.id)]
    assert isinstance(events[-1], Failed)
    # The service goes on with the next alert.
    ok = Harness(store, standard_script, 0).service()
    await service.drain()
    await ok.start()
    nxt = await ok.submit(alert("next"), origin=CLI)
    await wait_finished(ok, nxt.record.id)
    await ok.drain()
