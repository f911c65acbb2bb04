"""Opening a case: runbook choice, the tools it allows, skipped steps, the alert's runbook link."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.tools import BaseTool, StructuredTool

from agent.alert import Alert, AlertLinks
from agent.casefile import CaseFile
from agent.events import Answered, Finished, Note
from agent.investigator import Investigator
from agent.reasoner import ChatModelReasoner, Reasoner
from agent.runbooks import RunbookFetcher, RunbookLibrary
from tests.fakes.scripted_model import ScriptedChatModel, call, say

REPORT = {"summary": "s", "category": "unknown", "root_cause": "r", "confidence": "low"}


def tool(name: str) -> BaseTool:
    async def run(name: str = "") -> str:
        return f"{name} ok"

    return StructuredTool.from_function(coroutine=run, name=name, description=name)


TOOLS = [tool("kubernetes_get_pod"), tool("prometheus_query"), tool("datadog_search")]


def crashloop(**links: str) -> Alert:
    return Alert(
        source="test",
        dedup_key="k",
        title="KubePodCrashLooping",
        labels={"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-1"},
        links=AlertLinks(**links),
    )


def investigator(script: list[AIMessage], seen: list[CaseFile]) -> Investigator:
    def factory(case: CaseFile) -> Reasoner:
        seen.append(case)
        return ChatModelReasoner(ScriptedChatModel(script=list(script)), "scripted")

    return Investigator(
        runbooks=RunbookLibrary.load(),
        tools=TOOLS,
        reasoners=[factory],
        fetcher=RunbookFetcher(allowed_hosts=[]),
    )


async def test_case_uses_the_matching_runbook_and_only_the_tools_it_allows() -> None:
    case = await investigator([], []).open_case(crashloop(), "inv-1")
    assert case.runbook.name == "KubePodCrashLooping"
    assert case.tool_names == ["kubernetes_get_pod", "prometheus_query"]
    assert case.steps[0].tool == "kubernetes_get_pod"
    assert case.steps[0].args == {"name": "checkout-1", "namespace": "shop"}


async def test_steps_missing_a_label_are_skipped_and_noted() -> None:
    case = await investigator([], []).open_case(crashloop(), "inv-1")
    skipped = [s for s in case.steps if s.skipped]
    assert skipped, "the crash-loop runbook has steps that need a container or deployment label"
    assert any("skipped" in note for note in case.notes)


async def test_unreadable_runbook_url_is_noted_and_the_case_goes_on() -> None:
    alert = crashloop(runbook="https://wiki.internal.example/runbooks/crashloop")
    case = await investigator([], []).open_case(alert, "inv-1")
    assert case.guidance is None
    assert any("could not be read" in note for note in case.notes)
    assert case.runbook.name == "KubePodCrashLooping"


async def test_investigation_starts_from_the_prompt_and_reports_the_runbook() -> None:
    seen: list[CaseFile] = []
    inv_factory = investigator([say("", call("submit_report", REPORT))], seen)
    case = await inv_factory.open_case(crashloop(), "inv-1")
    inv = inv_factory.investigation(case)
    assert isinstance(inv.messages[0], SystemMessage)
    assert "untrusted" in str(inv.messages[1].content)
    events = [e async for e in inv.run()]
    assert isinstance(events[-1], Finished)
    assert events[-1].report.runbook == "KubePodCrashLooping"
    assert seen == [case]
    assert any(isinstance(e, Note) and "skipped" in e.text for e in events)


async def test_follow_up_continues_the_stored_transcript_with_the_question() -> None:
    script = [say("", call("kubernetes_get_pod", {"name": "a"})), say("Yes.")]
    inv_factory = investigator(script, [])
    case = await inv_factory.open_case(crashloop(), "inv-1")
    transcript = [SystemMessage("s"), HumanMessage("alert")]
    inv = inv_factory.follow_up(case, transcript, "Is it still crashing?")
    events = [e async for e in inv.run()]
    assert isinstance(events[-1], Answered)
    assert events[-1].answer == "Yes."
    assert "Is it still crashing?" in str(inv.messages[2].content)
