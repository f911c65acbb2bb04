"""The investigation loop, driven by scripted reasoners and in-process LangChain tools."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool

from agent.alert import Alert
from agent.events import (
    Answered,
    Event,
    Failed,
    Finished,
    IterationStarted,
    Note,
    Reasoning,
    Started,
    ToolCalled,
    ToolFinished,
)
from agent.investigation import Investigation
from agent.limits import Limits
from agent.reasoner import SUBMIT_REPORT, ChatModelReasoner
from agent.tooling import ToolStatus
from tests.fakes.scripted_model import ScriptedChatModel, call, say

ALERT = Alert(
    source="test",
    dedup_key="k1",
    title="KubePodCrashLooping",
    labels={"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-1"},
)

REPORT = {
    "summary": "checkout is OOMKilled",
    "category": "oom_killed",
    "root_cause": "The app container exceeds its 256Mi memory limit and is OOMKilled.",
    "confidence": "high",
    "evidence": [{"statement": "last state OOMKilled, exit 137", "tool": "k8s_get_pod"}],
    "remediation": ["raise the memory limit"],
}


def report_call(**overrides: Any) -> dict[str, Any]:
    return call(SUBMIT_REPORT, {**REPORT, **overrides})


class ToolLog:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []


def make_tools(log: ToolLog, sleep_s: float = 0.0) -> list[BaseTool]:
    async def get_pod(name: str, namespace: str = "default") -> str:
        log.calls.append(("get_pod", {"name": name, "namespace": namespace}))
        await asyncio.sleep(sleep_s)
        return f"pod {namespace}/{name}: last state OOMKilled (exit 137)"

    async def pod_logs(name: str) -> str:
        log.calls.append(("pod_logs", {"name": name}))
        await asyncio.sleep(sleep_s)
        return "line\n" * 10_000

    async def broken(name: str) -> str:
        raise ConnectionError("kubernetes API unreachable at https://127.0.0.1:1")

    async def slow(name: str) -> str:
        await asyncio.sleep(30)
        return "never"

    async def structured(name: str) -> tuple[str, dict[str, Any]]:
        return "no pods matched", {"status": "no_data", "structured": {"items": []}}

    return [
        StructuredTool.from_function(coroutine=get_pod, name="k8s_get_pod", description="pod"),
        StructuredTool.from_function(coroutine=pod_logs, name="k8s_pod_logs", description="logs"),
        StructuredTool.from_function(coroutine=broken, name="k8s_broken", description="fails"),
        StructuredTool.from_function(coroutine=slow, name="k8s_slow", description="slow"),
        StructuredTool.from_function(
            coroutine=structured,
            name="k8s_list_pods",
            description="artifact",
            response_format="content_and_artifact",
        ),
    ]


def investigation(
    *scripts: list[Any],
    limits: Limits | None = None,
    log: ToolLog | None = None,
    question: str | None = None,
    delay_s: float = 0.0,
    sleep_s: float = 0.0,
) -> tuple[Investigation, list[ScriptedChatModel]]:
    models = [ScriptedChatModel(script=list(s), delay_s=delay_s) for s in scripts]
    reasoners = [ChatModelReasoner(m, name=f"r{i}") for i, m in enumerate(models)]
    inv = Investigation(
        investigation_id="inv-1",
        alert=ALERT,
        messages=[SystemMessage("investigate"), HumanMessage("alert")],
        reasoners=reasoners,
        tools=make_tools(log or ToolLog(), sleep_s=sleep_s),
        limits=limits,
        runbook="KubePodCrashLooping",
        question=question,
    )
    return inv, models


async def collect(inv: Investigation) -> list[Event]:
    return [event async for event in inv.run()]


def assert_transcript_well_formed(inv: Investigation) -> None:
    """Every tool call in the transcript is answered by exactly one tool message."""
    asked = [c["id"] for m in inv.messages if isinstance(m, AIMessage) for c in m.tool_calls]
    asked += [
        c["id"] for m in inv.messages if isinstance(m, AIMessage) for c in m.invalid_tool_calls
    ]
    answered = [m.tool_call_id for m in inv.messages if isinstance(m, ToolMessage)]
    assert sorted(asked) == sorted(answered)  # type: ignore[type-var]


async def test_tool_calls_then_report_emits_events_in_order() -> None:
    inv, _ = investigation(
        [
            say("Checking the pod first.", call("k8s_get_pod", {"name": "checkout-1"})),
            say("The pod was OOMKilled.", report_call()),
        ]
    )
    events = await collect(inv)
    kinds = [type(e) for e in events]
    assert kinds == [
        Started,
        IterationStarted,
        Reasoning,
        ToolCalled,
        ToolFinished,
        IterationStarted,
        Reasoning,
        Finished,
    ]
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.report.category == "oom_killed"
    assert finished.report.runbook == "KubePodCrashLooping"
    assert finished.report.reasoner == "r0"
    assert finished.report.limit_hit is None
    assert finished.stats.iterations == 2
    assert finished.stats.tool_calls == 1
    tool_finished = events[4]
    assert isinstance(tool_finished, ToolFinished)
    assert tool_finished.status == ToolStatus.SUCCESS
    assert "OOMKilled" in tool_finished.output
    assert_transcript_well_formed(inv)


async def test_calls_in_one_turn_run_concurrently_and_answer_in_asked_order() -> None:
    log = ToolLog()
    inv, _ = investigation(
        [
            say(
                "",
                call("k8s_get_pod", {"name": "a"}, id="c1"),
                call("k8s_get_pod", {"name": "b"}, id="c2"),
                call("k8s_get_pod", {"name": "c"}, id="c3"),
            ),
            say("", report_call()),
        ],
        log=log,
        sleep_s=0.2,
    )
    started = time.monotonic()
    await collect(inv)
    assert time.monotonic() - started < 0.5  # three 0.2 s calls, not 0.6 s in a row
    replies = [m for m in inv.messages if isinstance(m, ToolMessage)]
    assert [m.tool_call_id for m in replies[:3]] == ["c1", "c2", "c3"]
    assert len(log.calls) == 3


async def test_identical_repeat_call_is_refused_with_a_message_to_the_reasoner() -> None:
    log = ToolLog()
    inv, models = investigation(
        [
            say("", call("k8s_get_pod", {"name": "a", "namespace": "shop"})),
            say("", call("k8s_get_pod", {"namespace": "shop", "name": "a"})),
            say("", report_call()),
        ],
        log=log,
    )
    events = await collect(inv)
    assert len(log.calls) == 1
    statuses = [e.status for e in events if isinstance(e, ToolFinished)]
    assert statuses == [ToolStatus.SUCCESS, ToolStatus.REFUSED]
    last_tool_message = [m for m in models[0].seen[2] if isinstance(m, ToolMessage)][-1]
    assert "already called" in str(last_tool_message.content)
    # The reasoner may have been shown a cut or summarized copy: the refusal repeats the result.
    assert "pod shop/a: last state OOMKilled (exit 137)" in str(last_tool_message.content)
    refused = [e for e in events if isinstance(e, ToolFinished)][-1]
    assert refused.output.startswith("Refused: k8s_get_pod was already called")
    assert "OOMKilled" not in refused.output  # the events show the refusal, not the result again


async def test_an_identical_call_twice_in_one_turn_runs_once() -> None:
    log = ToolLog()
    inv, models = investigation(
        [
            say(
                "",
                call("k8s_get_pod", {"name": "a", "namespace": "shop"}, "one"),
                call("k8s_get_pod", {"name": "a", "namespace": "shop"}, "two"),
            ),
            say("", report_call()),
        ],
        log=log,
    )
    events = await collect(inv)
    assert len(log.calls) == 1
    statuses = {e.call_id: e.status for e in events if isinstance(e, ToolFinished)}
    assert statuses == {"one": ToolStatus.SUCCESS, "two": ToolStatus.REFUSED}
    second = [m for m in models[0].seen[1] if isinstance(m, ToolMessage)][-1]
    assert "its result is in this turn" in str(second.content)


async def test_unknown_tool_is_refused_and_lists_the_tools_offered() -> None:
    inv, _ = investigation([say("", call("k8s_delete_pod", {"name": "a"})), say("", report_call())])
    events = await collect(inv)
    refused = next(e for e in events if isinstance(e, ToolFinished))
    assert refused.status == ToolStatus.REFUSED
    assert "k8s_get_pod" in refused.output
    assert isinstance(events[-1], Finished)


async def test_evidence_naming_a_tool_gets_the_arguments_of_its_only_call() -> None:
    inv, _ = investigation(
        [
            say(
                "",
                call("k8s_get_pod", {"name": "a", "namespace": "shop"}),
                call("k8s_pod_logs", {"name": "a"}),
                call("k8s_pod_logs", {"name": "b"}),
            ),
            say(
                "",
                report_call(
                    evidence=[
                        {"statement": "OOMKilled", "tool": "k8s_get_pod"},
                        {"statement": "a log line", "tool": "k8s_pod_logs"},
                        {"statement": "cited", "tool": "k8s_get_pod", "arguments": {"name": "x"}},
                        {"statement": "never called", "tool": "k8s_slow"},
                    ]
                ),
            ),
        ]
    )
    events = await collect(inv)
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert [e.arguments for e in finished.report.evidence] == [
        {"name": "a", "namespace": "shop"},
        {},  # two calls answered: which one is not guessed
        {"name": "x"},
        {},
    ]


async def test_a_failing_tool_becomes_evidence_not_a_crash() -> None:
    inv, _ = investigation(
        [say("", call("k8s_broken", {"name": "a"})), say("", report_call(category="unknown"))]
    )
    events = await collect(inv)
    failed = next(e for e in events if isinstance(e, ToolFinished))
    assert failed.status == ToolStatus.ERROR
    assert "ConnectionError" in failed.output
    assert "unreachable" in failed.output
    assert isinstance(events[-1], Finished)


async def test_a_slow_tool_times_out_with_advice_to_narrow() -> None:
    inv, _ = investigation(
        [say("", call("k8s_slow", {"name": "a"})), say("", report_call())],
        limits=Limits(tool_timeout_s=0.1),
    )
    started = time.monotonic()
    events = await collect(inv)
    assert time.monotonic() - started < 2
    timed_out = next(e for e in events if isinstance(e, ToolFinished))
    assert timed_out.status == ToolStatus.ERROR
    assert "Timed out" in timed_out.output


async def test_oversized_output_is_cut_with_instructions_to_narrow() -> None:
    inv, models = investigation(
        [say("", call("k8s_pod_logs", {"name": "a"})), say("", report_call())],
        limits=Limits(max_tool_output_chars=1000),
    )
    events = await collect(inv)
    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.truncated
    assert len(finished.output) < 1400
    assert "Narrow the query" in finished.output
    seen = next(m for m in models[0].seen[1] if isinstance(m, ToolMessage))
    assert len(str(seen.content)) < 1400


async def test_structured_artifact_and_no_data_status_reach_the_transcript() -> None:
    inv, _ = investigation([say("", call("k8s_list_pods", {"name": "a"})), say("", report_call())])
    events = await collect(inv)
    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.status == ToolStatus.NO_DATA
    assert inv.outcomes[0].structured == {"items": []}
    message = next(m for m in inv.messages if isinstance(m, ToolMessage))
    assert message.artifact["structured"] == {"items": []}


async def test_invalid_report_gets_one_repair_then_is_accepted() -> None:
    inv, models = investigation(
        [
            say("", report_call(category="cosmic_rays")),
            say("", report_call()),
        ]
    )
    events = await collect(inv)
    assert isinstance(events[-1], Finished)
    assert events[-1].report.category == "oom_killed"
    assert models[0].bound[1]["tool_choice"] == SUBMIT_REPORT
    repair = [m for m in models[0].seen[1] if isinstance(m, ToolMessage)][-1]
    assert "category" in str(repair.content)
    assert_transcript_well_formed(inv)


async def test_invalid_report_twice_falls_back_to_the_last_reasoner() -> None:
    inv, _ = investigation(
        [say("", report_call(category="nope")), say("", report_call(confidence="sure"))],
        [say("", report_call(category="unknown", confidence="low"))],
    )
    events = await collect(inv)
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.report.reasoner == "r1"
    assert finished.report.category == "unknown"
    assert any("invalid twice" in n for n in finished.report.notes)
    assert_transcript_well_formed(inv)


async def test_failing_reasoner_hands_over_to_the_next_and_says_so() -> None:
    inv, models = investigation(
        [say("", call("k8s_get_pod", {"name": "a"})), ConnectionError("provider down")],
        [say("", report_call())],
    )
    events = await collect(inv)
    notes = [e for e in events if isinstance(e, Note)]
    assert any("r0 failed" in n.text and "r1 continues" in n.text for n in notes)
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.report.reasoner == "r1"
    # The next reasoner continues from the same conversation, tool results included.
    assert any(isinstance(m, ToolMessage) for m in models[1].seen[0])


async def test_every_reasoner_failing_ends_with_failed_not_an_exception() -> None:
    inv, _ = investigation([RuntimeError("a")], [RuntimeError("b")])
    events = await collect(inv)
    assert isinstance(events[-1], Failed)
    assert "r1" in events[-1].error


async def test_iteration_limit_ends_with_a_report_that_names_the_limit() -> None:
    turns = [say("", call("k8s_get_pod", {"name": f"p{i}"})) for i in range(2)]
    inv, models = investigation([*turns, say("", report_call())], limits=Limits(max_iterations=2))
    events = await collect(inv)
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.report.limit_hit == "iterations"
    assert any("iterations limit" in e.text for e in events if isinstance(e, Note))
    assert models[0].bound[-1]["tool_choice"] == SUBMIT_REPORT


async def test_tool_call_limit_refuses_extra_calls_and_concludes() -> None:
    log = ToolLog()
    inv, _ = investigation(
        [
            say("", *[call("k8s_get_pod", {"name": f"p{i}"}) for i in range(5)]),
            say("", report_call()),
        ],
        limits=Limits(max_tool_calls=3),
        log=log,
    )
    events = await collect(inv)
    assert len(log.calls) == 3
    refused = [e for e in events if isinstance(e, ToolFinished) and e.status == "refused"]
    assert len(refused) == 2
    assert isinstance(events[-1], Finished)
    assert events[-1].report.limit_hit == "tool calls"
    assert_transcript_well_formed(inv)


async def test_wall_time_limit_lets_the_last_resort_conclude_quickly() -> None:
    slow = ScriptedChatModel(script=[say("", call("k8s_get_pod", {"name": "a"}))] * 5, delay_s=0.3)
    last = ScriptedChatModel(script=[say("", report_call(category="unknown", confidence="low"))])
    inv = Investigation(
        investigation_id="inv-1",
        alert=ALERT,
        messages=[HumanMessage("alert")],
        reasoners=[ChatModelReasoner(slow, "llm"), ChatModelReasoner(last, "offline")],
        tools=make_tools(ToolLog()),
        limits=Limits(wall_time_s=0.5),
    )
    started = time.monotonic()
    events = await collect(inv)
    assert time.monotonic() - started < 1.5
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.report.limit_hit == "wall time"
    assert finished.report.reasoner == "offline"


async def test_prose_without_a_report_is_asked_once_to_submit() -> None:
    inv, models = investigation([say("I think it is memory."), say("", report_call())])
    events = await collect(inv)
    assert isinstance(events[-1], Finished)
    assert models[0].bound[1]["tool_choice"] == SUBMIT_REPORT


async def test_malformed_tool_arguments_get_an_error_result_the_reasoner_can_read() -> None:
    broken = AIMessage(
        content="",
        invalid_tool_calls=[
            {
                "name": "k8s_get_pod",
                "args": '{"name": ',
                "id": "bad1",
                "error": "Expecting value",
                "type": "invalid_tool_call",
            }
        ],
    )
    inv, _models = investigation([broken, say("", report_call())])
    events = await collect(inv)
    errored = [e for e in events if isinstance(e, ToolFinished)]
    assert errored[0].status == ToolStatus.ERROR
    assert "not valid JSON" in errored[0].output
    assert isinstance(events[-1], Finished)
    assert_transcript_well_formed(inv)


async def test_follow_up_question_ends_with_an_answer_after_tool_calls() -> None:
    inv, models = investigation(
        [say("", call("k8s_get_pod", {"name": "a"})), say("It restarted 5 times.")],
        question="How many restarts?",
    )
    events = await collect(inv)
    assert not any(isinstance(e, Started) for e in events)
    answered = events[-1]
    assert isinstance(answered, Answered)
    assert answered.answer == "It restarted 5 times."
    assert answered.question == "How many restarts?"
    assert SUBMIT_REPORT not in models[0].bound[0]["tool_names"]


@pytest.mark.parametrize("field", ["summary", "root_cause"])
async def test_empty_required_report_text_is_invalid(field: str) -> None:
    inv, _ = investigation(
        [say("", report_call(**{field: ""})), say("", report_call())],
    )
    events = await collect(inv)
    assert any(isinstance(e, Note) and "invalid report" in e.text for e in events)
    assert isinstance(events[-1], Finished)


async def test_follow_up_refuses_submit_report_and_still_ends_with_an_answer() -> None:
    inv, _ = investigation(
        [say("", report_call()), say("It is memory.")],
        question="Is it memory?",
    )
    events = await collect(inv)
    refused = next(e for e in events if isinstance(e, ToolFinished))
    assert refused.status == ToolStatus.REFUSED
    assert not any(isinstance(e, Finished) for e in events)
    assert isinstance(events[-1], Answered)
    assert_transcript_well_formed(inv)
