"""Findings: facts the analyzers read out of tool results, each with the category it points
to and the tool call that showed it. (Skeleton: the analyzers and the reasoner come next.)"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage
from pydantic import BaseModel, ConfigDict, Field

from agent.casefile import CaseFile
from agent.reasoner import Reasoner
from agent.report import Category, Evidence
from agent.tooling import ToolOutcome


class Finding(BaseModel):
    """One thing the evidence shows. `strength` says how directly it establishes `category`
    (1.0: the mechanism itself, e.g. a termination reason OOMKilled; 0.3: a hint)."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="stable identifier of the analyzer rule, e.g. oom_killed")
    statement: str
    category: Category | None = None
    strength: float = Field(default=0.5, ge=0.0, le=1.0)
    evidence: Evidence

    def describe(self) -> str:
        tool = f" ({self.evidence.tool})" if self.evidence.tool else ""
        return f"- {self.statement}{tool}"


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


def analyze(case: CaseFile, outcomes: Sequence[ToolOutcome]) -> list[Finding]:
    """Findings from the tool results so far, strongest first."""
    del case, outcomes
    return []


def offline_reasoner(case: CaseFile) -> Reasoner:
    raise NotImplementedError("the offline reasoner is being built")
