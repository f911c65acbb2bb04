"""The offline reasoner through the real investigation loop: it plans from the runbook, follows
the evidence one lead at a time without repeating a call, concludes with one category, takes
over from a failing LLM from the same conversation, and answers follow-up questions from the
stored evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from agent.alert import Alert
from agent.casefile import CaseFile, ReasonerFactory
from agent.events import Answered, Event, Finished, Reasoning, ToolCalled
from agent.investigation import Investigation
from agent.investigator import Investigator
from agent.limits import Limits
from agent.offline import OfflineChatModel, analyze, first_step, offline_reasoner
from agent.reasoner import SUBMIT_REPORT, SUBMIT_REPORT_TOOL, ChatModelReasoner, Reasoner
from agent.report import Category, Confidence
from agent.runbooks import RunbookLibrary
from agent.tooling import call_key
from tests.agent.offline_helpers import World, ago, alert, container, pod
from tests.fakes.scripted_model import ScriptedChatModel, call, say

TOOLS = [
    "kubernetes_get_pod",
    "kubernetes_pod_logs",
    "kubernetes_list_events",
    "kubernetes_get_deployment",
    "kubernetes_get_service",
    "kubernetes_list_pods",
    "kubernetes_list_deployments",
    "kubernetes_get_configmap",
    "kubernetes_list_services",
    "kubernetes_get_node",
    "prometheus_query",
    "prometheus_query_range",
    "prometheus_alerts",
]
API_POD = "api-7d4b9c6f5-m2x8p"


def crashing_api_world() -> World:
    """payments/api crash-loops with exit 1; its logs fail to reach postgres:5432, whose only
    pod crash-loops too."""
    world = World()
    api = pod(
        API_POD,
        "payments",
        deployment="api",
        status="CrashLoopBackOff",
        containers=[
            container(
                "api",
                state={"state": "waiting", "reason": "CrashLoopBackOff"},
                last={
                    "state": "terminated",
                    "reason": "Error",
                    "exit_code": 1,
                    "finished_at": ago(1),
                },
                restarts=6,
            )
        ],
    )
    world.on("kubernetes_get_pod", {"name": API_POD, "namespace": "payments"}, api)
    world.on(
        "kubernetes_pod_logs",
        {
            "name": API_POD,
            "namespace": "payments",
            "container": "api",
            "previous": True,
            "tail_lines": 150,
        },
        {
            "pod": API_POD,
            "namespace": "payments",
            "container": "api",
            "previous": True,
            "line_count": 2,
            "text": "INFO connecting to postgres:5432\n"
            "ERROR could not connect to server: Connection refused (postgres:5432)\n",
        },
    )
    world.on(
        "kubernetes_list_events",
        {"namespace": "payments", "involved_object": API_POD},
        {"events": [], "total": 0},
    )
    world.on(
        "kubernetes_get_service",
        {"name": "postgres", "namespace": "payments"},
        {
            "name": "postgres",
            "namespace": "payments",
            "type": "ClusterIP",
            "selector": {"app": "pg"},
            "matching_pods": 1,
            "ready_endpoints": [],
            "not_ready_endpoints": ["10.1.0.5:5432 (postgres-0)"],
            "ports": [{"port": 5432, "target_port": "5432"}],
            "age": "300d",
            "events": [],
        },
    )
    world.on(
        "kubernetes_list_pods",
        {"namespace": "payments", "limit": 50},
        {
            "pods": [
                {
                    "name": "postgres-0",
                    "namespace": "payments",
                    "phase": "Running",
                    "status": "CrashLoopBackOff",
                    "ready": "0/1",
                    "restarts": 7,
                    "last_restart_ago": "3m",
                    "last_termination_reason": "Error",
                    "last_exit_code": 1,
                    "age": "40d",
                }
            ],
            "total": 1,
        },
    )
    return world


def crash_alert(**extra: str) -> Alert:
    return alert(
        alertname="KubePodCrashLooping", namespace="payments", pod=API_POD, container="api", **extra
    )


async def investigate(
    world: World,
    the_alert: Alert,
    reasoners: Sequence[ReasonerFactory] = (offline_reasoner,),
    *,
    limits: Limits | None = None,
) -> tuple[Investigation, list[Event], CaseFile]:
    investigator = Investigator(
        runbooks=RunbookLibrary.load(),
        tools=world.tools(TOOLS),
        reasoners=list(reasoners),
        limits=limits,
    )
    case = await investigator.open_case(the_alert, "inv-1", read_runbook_url=False)
    investigation = investigator.investigation(case)
    events = [event async for event in investigation.run()]
    return investigation, events, case


def report_of(events: list[Event]) -> Finished:
    finished = events[-1]
    assert isinstance(finished, Finished), events[-1]
    return finished


async def test_first_turn_runs_the_runbooks_planned_calls_together() -> None:
    world = crashing_api_world()
    _, events, case = await investigate(world, crash_alert())
    planned = [c for c in first_step(case).tool_calls]
    first_turn = [e for e in events if isinstance(e, ToolCalled) and e.iteration == 1]
    assert [(e.tool, e.arguments) for e in first_turn] == [(c["name"], c["args"]) for c in planned]
    assert first_turn[0].tool == "kubernetes_get_pod"


async def test_it_follows_the_dependency_the_logs_name_and_blames_it() -> None:
    world = crashing_api_world()
    _, events, _ = await investigate(world, crash_alert())
    report = report_of(events).report
    assert report.category is Category.DEPENDENCY_FAILURE
    assert report.confidence is Confidence.HIGH
    assert "postgres" in report.root_cause
    assert ("kubernetes_get_service", {"name": "postgres", "namespace": "payments"}) in world.calls
    assert report.reasoner == "offline"
    assert any(e.tool == "kubernetes_get_service" for e in report.evidence)


async def test_every_turn_says_why_and_no_call_is_repeated_or_unoffered() -> None:
    world = crashing_api_world()
    _, events, _ = await investigate(world, crash_alert())
    iterations = {e.iteration for e in events if isinstance(e, ToolCalled)}
    said = {e.iteration for e in events if isinstance(e, Reasoning) and e.text}
    assert iterations <= said
    keys = [call_key(name, args) for name, args in world.calls]
    assert len(keys) == len(set(keys))
    assert {name for name, _ in world.calls} <= set(TOOLS)


async def test_it_takes_over_from_a_failing_llm_with_that_llms_evidence() -> None:
    world = crashing_api_world()

    def failing_llm(case: CaseFile) -> Reasoner:
        script: list[Any] = [
            say(
                "Looking at the pod.",
                call("kubernetes_get_pod", {"name": API_POD, "namespace": "payments"}),
            ),
            RuntimeError("the provider is down"),
        ]
        return ChatModelReasoner(ScriptedChatModel(script=script), "llm")

    _investigation, events, _ = await investigate(
        world, crash_alert(), [failing_llm, offline_reasoner]
    )
    report = report_of(events).report
    assert report.reasoner == "offline"
    assert report.category is Category.DEPENDENCY_FAILURE
    get_pod = [c for c in world.calls if c[0] == "kubernetes_get_pod"]
    assert len(get_pod) == 1  # the LLM's call is reused, not repeated


async def test_asked_to_conclude_it_writes_the_report_from_what_was_found() -> None:
    world = crashing_api_world()
    _, events, _ = await investigate(world, crash_alert(), limits=Limits(max_iterations=1))
    finished = report_of(events)
    assert finished.report.limit_hit == "iterations"
    assert finished.report.category is not None


async def test_conclude_now_means_a_report_even_on_the_first_turn() -> None:
    world = crashing_api_world()
    investigator = Investigator(
        runbooks=RunbookLibrary.load(), tools=world.tools(TOOLS), reasoners=[offline_reasoner]
    )
    case = await investigator.open_case(crash_alert(), "inv-1", read_runbook_url=False)
    model = OfflineChatModel(case=case)
    offered = [*world.tools(TOOLS), SUBMIT_REPORT_TOOL]
    message = await model.bind_tools(offered, tool_choice=SUBMIT_REPORT).ainvoke(
        [SystemMessage("rules"), HumanMessage("investigate")]
    )
    assert isinstance(message, AIMessage)
    (submitted,) = message.tool_calls
    assert submitted["name"] == SUBMIT_REPORT
    assert submitted["args"]["category"] == Category.UNKNOWN.value


async def test_an_unreachable_api_ends_in_unknown_with_the_errors_as_evidence() -> None:
    world = World(default=ConnectionError("cannot reach the Kubernetes API at https://127.0.0.1:1"))
    _, events, _ = await investigate(world, crash_alert())
    report = report_of(events).report
    assert report.category is Category.UNKNOWN
    assert report.confidence is Confidence.LOW
    assert any("could not run" in e.statement for e in report.evidence)
    assert "could not reach" in report.root_cause


async def test_an_alert_without_labels_runs_and_says_what_it_lacked() -> None:
    world = World()
    world.on("prometheus_alerts", {}, {"alerts": [], "firing": 0, "pending": 0})
    bare = Alert(source="test", dedup_key="k", title="something is wrong", labels={})
    _, events, _ = await investigate(world, bare)
    report = report_of(events).report
    assert report.category is Category.UNKNOWN
    assert "no labels" in report.root_cause


async def test_follow_up_answers_from_the_stored_evidence_and_cites_the_tool() -> None:
    world = crashing_api_world()
    investigation, events, case = await investigate(world, crash_alert())
    report_of(events)
    investigator = Investigator(
        runbooks=RunbookLibrary.load(), tools=world.tools(TOOLS), reasoners=[offline_reasoner]
    )
    follow_up = investigator.follow_up(case, investigation.messages, "why does it restart?")
    answered = [e async for e in follow_up.run()][-1]
    assert isinstance(answered, Answered)
    assert "exit code 1" in answered.answer
    assert "kubernetes_get_pod" in answered.answer


async def test_follow_up_says_plainly_when_a_question_needs_an_llm() -> None:
    world = crashing_api_world()
    investigation, _events, case = await investigate(world, crash_alert())
    investigator = Investigator(
        runbooks=RunbookLibrary.load(), tools=world.tools(TOOLS), reasoners=[offline_reasoner]
    )
    follow_up = investigator.follow_up(
        case, investigation.messages, "Write a haiku about this incident for the postmortem"
    )
    answered = [e async for e in follow_up.run()][-1]
    assert isinstance(answered, Answered)
    assert "needs an LLM" in answered.answer
    assert "OPENAI_API_KEY" in answered.answer
    assert "dependency_failure" in answered.answer  # the short summary comes with it


async def test_follow_up_lists_what_was_checked_and_what_was_ruled_out() -> None:
    world = crashing_api_world()
    investigation, _, case = await investigate(world, crash_alert())
    investigator = Investigator(
        runbooks=RunbookLibrary.load(), tools=world.tools(TOOLS), reasoners=[offline_reasoner]
    )
    checked = [
        e
        async for e in investigator.follow_up(
            case, investigation.messages, "What did you check?"
        ).run()
    ][-1]
    assert isinstance(checked, Answered)
    assert "kubernetes_pod_logs" in checked.answer
    fix = [
        e
        async for e in investigator.follow_up(
            case, investigation.messages, "How do we fix it?"
        ).run()
    ][-1]
    assert isinstance(fix, Answered)
    assert "kubectl" in fix.answer


async def test_analyze_is_the_seam_for_pre_triage() -> None:
    world = crashing_api_world()
    investigation, _, case = await investigate(world, crash_alert())
    findings = analyze(case, investigation.outcomes)
    assert findings[0].category is Category.DEPENDENCY_FAILURE
    assert all(
        findings[i].strength >= findings[i + 1].strength
        for i in range(len(findings) - 1)
        if findings[i + 1].category
    )
