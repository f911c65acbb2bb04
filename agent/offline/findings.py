"""Findings: facts the analyzers read out of tool results, each with the category it points
to, how directly it shows it, the names it is about, and the tool call that showed it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.report import Category, Evidence


class Finding(BaseModel):
    """One thing the evidence shows. `strength` says how directly it establishes `category`
    (1.0: the mechanism itself, e.g. a termination reason OOMKilled; 0.3: a hint).

    `category` None is context (an owner, a rollout long ago, a dependency named in logs);
    `symptom` marks something that is wrong now without saying why (a crash loop, 5xx rising),
    which keeps an investigation from calling a failing target healthy. `facts` holds the names
    and values the finding is about (namespace, pod, container, deployment, node, pvc, host,
    limit, exit_code, ...): leads and remediation commands are built from them."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="stable identifier of the analyzer rule, e.g. oom_killed")
    statement: str
    category: Category | None = None
    strength: float = Field(default=0.5, ge=0.0, le=1.0)
    evidence: Evidence
    symptom: bool = False
    facts: dict[str, Any] = Field(default_factory=dict)

    def describe(self) -> str:
        tool = f" ({self.evidence.tool})" if self.evidence.tool else ""
        return f"- {self.statement}{tool}"

    def about(self, key: str) -> str | None:
        """A name this finding is about (`pod`, `namespace`, ...), as text, or None."""
        value = self.facts.get(key)
        return str(value) if value not in (None, "") else None
