"""The offline reasoner: follows the matched runbook's steps, reads tool results with built-in
analyzers, follows the evidence, and writes the report itself. No LLM key needed; it is also the
last reasoner in every chain.

Public seam (used by the LLM reasoner for deterministic pre-triage as well):
- `offline_reasoner(case)`: the reasoner factory.
- `first_step(case)`: the runbook's planned calls as one turn.
- `analyze(case, outcomes)`: findings from tool results so far, strongest first.
"""

from agent.offline.analysis import analyze
from agent.offline.findings import Finding
from agent.offline.model import OfflineChatModel, first_step, offline_reasoner

__all__ = ["Finding", "OfflineChatModel", "analyze", "first_step", "offline_reasoner"]
