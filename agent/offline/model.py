"""The offline reasoner as a LangChain chat model, so it runs through the same loop as any LLM.

Each turn it re-reads the conversation (what was called, what came back), analyses the results,
and either follows the next leads, or submits the report when a finding establishes the
mechanism, when there are no leads left, or when asked to conclude. It keeps no state between
turns: its knowledge of the case (alert, runbook, planned steps) comes from the CaseFile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import ConfigDict

from agent.casefile import CaseFile
from agent.offline.analysis import Analysis, analyze_outcomes
from agent.offline.followup import answer
from agent.offline.leads import next_calls
from agent.offline.scene import Scene
from agent.offline.transcript import Transcript
from agent.offline.verdict import Verdict, decide
from agent.offline.writing import write
from agent.reasoner import SUBMIT_REPORT, ChatModelReasoner, Reasoner
from agent.report import Category, Diagnosis

REASONER_NAME = "offline"
# A mechanism this strong ends the search (after details that sharpen the report).
ESTABLISHED_FROM = 0.9


def first_step(case: CaseFile) -> AIMessage:
    """The runbook's planned calls (those not skipped) as one turn, run in parallel."""
    offered = set(case.tool_names)
    calls = [
        {"name": step.tool, "args": step.args, "id": f"plan_{n}", "type": "tool_call"}
        for n, step in enumerate(case.steps)
        if not step.skipped and step.tool in offered
    ]
    text = f"Following the {case.runbook.name} runbook: {len(calls)} planned checks."
    return AIMessage(content=text, tool_calls=calls)


class OfflineChatModel(BaseChatModel):
    """Deterministic, no network: plans from the runbook, follows leads, writes the report."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    case: CaseFile

    @property
    def _llm_type(self) -> str:
        return "sre-agent-offline"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        names = [
            tool.name if isinstance(tool, BaseTool) else str(getattr(tool, "name", tool))
            for tool in tools
        ]
        return self.bind(tool_names=names, tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return _result(self.respond(messages, kwargs.get("tool_names"), kwargs.get("tool_choice")))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return _result(self.respond(messages, kwargs.get("tool_names"), kwargs.get("tool_choice")))

    def respond(
        self,
        messages: Sequence[BaseMessage],
        tool_names: Sequence[str] | None,
        tool_choice: str | None,
    ) -> AIMessage:
        offered = [name for name in tool_names or [] if name != SUBMIT_REPORT]
        transcript = Transcript.read(messages)
        scene = Scene(self.case.alert)
        analysis = analyze_outcomes(scene, transcript.outcomes)
        if SUBMIT_REPORT not in (tool_names or []):
            question = transcript.question or "What is the root cause?"
            return AIMessage(content=answer(question, transcript.report, analysis.findings))
        verdict = decide(scene, analysis.findings)
        if tool_choice == SUBMIT_REPORT:
            return self._report(analysis, verdict, transcript, offered)
        if not transcript.investigated and not scene.resolved:
            planned = first_step(self.case)
            allowed = set(offered)
            calls = [c for c in planned.tool_calls if c["name"] in allowed]
            if calls:
                return planned.model_copy(update={"tool_calls": calls})
        if scene.resolved:
            return self._report(analysis, verdict, transcript, offered)
        established = (
            verdict.category not in (Category.UNKNOWN, Category.NO_ISSUE)
            and verdict.score >= ESTABLISHED_FROM
        )
        plan = next_calls(
            self.case,
            analysis,
            transcript.outcomes,
            set(transcript.done),
            offered,
            turn=transcript.turns + 1,
            established=established,
        )
        if not plan.calls:
            return self._report(analysis, verdict, transcript, offered)
        return AIMessage(content=plan.reasoning, tool_calls=plan.calls)

    def _report(
        self, analysis: Analysis, verdict: Verdict, transcript: Transcript, offered: list[str]
    ) -> AIMessage:
        remaining = next_calls(
            self.case,
            analysis,
            transcript.outcomes,
            set(transcript.done),
            offered,
            turn=transcript.turns + 1,
            established=False,
        )
        not_checked = [f"{c['name']}({_args(c['args'])})" for c in remaining.calls]
        diagnosis = diagnose(analysis, verdict, not_checked=not_checked)
        text = (
            f"Concluding: {diagnosis.category.value} ({diagnosis.confidence.value} "
            f"confidence). {diagnosis.summary}."
        )
        return AIMessage(
            content=text,
            tool_calls=[
                {
                    "name": SUBMIT_REPORT,
                    "args": diagnosis.model_dump(mode="json"),
                    "id": f"report_{transcript.turns + 1}",
                    "type": "tool_call",
                }
            ],
        )


def diagnose(
    analysis: Analysis, verdict: Verdict | None = None, *, not_checked: list[str] | None = None
) -> Diagnosis:
    """The report for what the analysis shows."""
    verdict = verdict or decide(analysis.scene, analysis.findings)
    return write(analysis.scene, verdict, analysis.findings, not_checked=not_checked or [])


def offline_reasoner(case: CaseFile) -> Reasoner:
    """The reasoner factory: the last reasoner of every chain, and the only one without a key."""
    return ChatModelReasoner(OfflineChatModel(case=case), REASONER_NAME)


def _result(message: AIMessage) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=message)])


def _args(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in list(arguments.items())[:3])[:120]
