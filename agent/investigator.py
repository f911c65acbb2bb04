"""Opens cases: picks the runbook, reads the alert's own runbook link, selects the tools the
runbook allows, and builds the investigation with its reasoner chain (LLMs first, the offline
reasoner last, so an investigation never dies because an LLM did)."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage
from langchain_core.tools import BaseTool

from agent.alert import Alert
from agent.casefile import CaseFile, PromptBuilder, ReasonerFactory
from agent.investigation import Investigation
from agent.limits import Limits
from agent.prompt import build_messages, follow_up_message
from agent.runbooks import FetchedRunbook, RunbookFetcher, RunbookLibrary


class Investigator:
    def __init__(
        self,
        *,
        runbooks: RunbookLibrary,
        tools: Sequence[BaseTool],
        reasoners: Sequence[ReasonerFactory],
        limits: Limits | None = None,
        fetcher: RunbookFetcher | None = None,
        prompt: PromptBuilder = build_messages,
    ) -> None:
        if not reasoners:
            raise ValueError("an investigator needs at least one reasoner (the offline one last)")
        self.runbooks = runbooks
        self.tools = list(tools)
        self.limits = limits or Limits()
        self._reasoners = list(reasoners)
        self._fetcher = fetcher
        self._prompt = prompt

    async def open_case(
        self, alert: Alert, investigation_id: str, *, read_runbook_url: bool = True
    ) -> CaseFile:
        runbook = self.runbooks.match(alert)
        steps = runbook.steps_for(alert)
        notes = [f"Step {s.tool} skipped: {s.skip_reason}." for s in steps if s.skipped]
        guidance: FetchedRunbook | None = None
        url = alert.links.runbook or alert.annotations.get("runbook_url")
        if url and read_runbook_url and self._fetcher is not None:
            fetched = await self._fetcher.fetch(url)
            if isinstance(fetched, FetchedRunbook):
                guidance = fetched
            else:
                notes.append(fetched.describe())
        allowed = set(runbook.allowed(tool.name for tool in self.tools))
        return CaseFile(
            investigation_id=investigation_id,
            alert=alert,
            runbook=runbook,
            steps=tuple(steps),
            tools=tuple(tool for tool in self.tools if tool.name in allowed),
            limits=self.limits,
            guidance=guidance,
            notes=tuple(notes),
        )

    def investigation(self, case: CaseFile) -> Investigation:
        return Investigation(
            investigation_id=case.investigation_id,
            alert=case.alert,
            messages=self._prompt(case),
            reasoners=[factory(case) for factory in self._reasoners],
            tools=case.tools,
            limits=case.limits,
            runbook=case.runbook.name,
            notes=case.notes,
        )

    def follow_up(
        self, case: CaseFile, transcript: Sequence[BaseMessage], question: str
    ) -> Investigation:
        """A question about a finished investigation: the stored conversation plus the question,
        with the same tools, so the reasoner may look again."""
        return Investigation(
            investigation_id=case.investigation_id,
            alert=case.alert,
            messages=[*transcript, follow_up_message(question)],
            reasoners=[factory(case) for factory in self._reasoners],
            tools=case.tools,
            limits=case.limits,
            runbook=case.runbook.name,
            question=question,
        )
