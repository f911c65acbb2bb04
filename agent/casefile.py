"""Everything known about a case before the first tool call: the alert, the runbook chosen for
it and its planned steps, the tools it may use, the alert's own runbook text, and notes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.messages import BaseMessage
from langchain_core.tools import BaseTool

from agent.alert import Alert
from agent.limits import Limits
from agent.reasoner import Reasoner
from agent.runbooks import FetchedRunbook, PlannedStep, Runbook


@dataclass(frozen=True)
class CaseFile:
    investigation_id: str
    alert: Alert
    runbook: Runbook
    steps: tuple[PlannedStep, ...]
    tools: tuple[BaseTool, ...]
    limits: Limits
    guidance: FetchedRunbook | None = None
    notes: tuple[str, ...] = ()

    @property
    def tool_names(self) -> list[str]:
        return [tool.name for tool in self.tools]


# A reasoner is built per case (the offline reasoner plans from the case's runbook steps).
ReasonerFactory = Callable[[CaseFile], Reasoner]
# The conversation an investigation starts from.
PromptBuilder = Callable[[CaseFile], list[BaseMessage]]
