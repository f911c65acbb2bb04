"""Reasoners for the Slack tests: they look at the sandbox through the real tools, the way an
LLM would, and answer follow-up questions; a delay keeps an investigation running on demand."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool

from agent.casefile import CaseFile, ReasonerFactory
from agent.prompt import asked_question
from agent.reasoner import Reasoner

SANDBOX_POD = {"name": "checkout-6c9f7b8d4-x2k4q", "namespace": "shop"}


def call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "args": args, "id": None, "type": "tool_call"}


@dataclass
class Script:
    """What the test reasoner does; tests tune it before or during a run."""

    delay_s: float = 0.0
    gate: asyncio.Event | None = None  # when set, the first turn waits for it
    root_cause: str = "The app container exceeds its 512Mi memory limit and is OOMKilled."
    answer: str = "The container was OOMKilled 4 times in the last hour."
    use_tools: bool = True
    broken: str | None = None  # every turn raises RuntimeError(broken)
    turns: int = 0
    questions: list[str] = field(default_factory=list)

    def factory(self) -> ReasonerFactory:
        def build(case: CaseFile) -> Reasoner:
            return SandboxReasoner(self, case)

        return build


class SandboxReasoner:
    name = "scripted"

    def __init__(self, script: Script, case: CaseFile) -> None:
        self._script = script
        self._case = case

    async def decide(
        self, messages: Sequence[BaseMessage], tools: Sequence[BaseTool], *, conclude: bool
    ) -> AIMessage:
        script = self._script
        script.turns += 1
        if script.gate is not None and not script.gate.is_set():
            await script.gate.wait()
        if script.delay_s:
            await asyncio.sleep(script.delay_s)
        if script.broken is not None:
            raise RuntimeError(script.broken)
        labels = self._case.alert.labels
        pod = {
            "name": labels.get("pod", SANDBOX_POD["name"]),
            "namespace": labels.get("namespace", SANDBOX_POD["namespace"]),
        }
        asked = _question(messages)
        looked = sum(1 for m in messages if isinstance(m, ToolMessage))
        if asked is not None:
            since_question = _after_last_question(messages)
            if since_question == 0:
                script.questions.append(asked)
                return AIMessage(
                    content="Checking the deployment's rollout history.",
                    tool_calls=[
                        call(
                            "kubernetes_get_deployment",
                            {"name": "checkout", "namespace": pod["namespace"]},
                        )
                    ],
                )
            return AIMessage(content=script.answer)
        if looked == 0 and not conclude and not script.use_tools:
            return AIMessage(content="The pod restarts; the alert says enough to conclude.")
        if looked == 0 and not conclude:
            return AIMessage(
                content="The pod restarts; I'll look at its state and recent events.",
                tool_calls=[
                    call("kubernetes_get_pod", pod),
                    call("kubernetes_list_events", {"namespace": pod["namespace"], "limit": 5}),
                ],
            )
        return AIMessage(
            content="",
            tool_calls=[
                call(
                    "submit_report",
                    {
                        "summary": "checkout is OOMKilled at its memory limit",
                        "category": "oom_killed",
                        "root_cause": script.root_cause,
                        "confidence": "high",
                        "evidence": [
                            {
                                "statement": "last termination reason OOMKilled, exit code 137",
                                "tool": "kubernetes_get_pod",
                                "arguments": pod,
                            }
                        ],
                        "remediation": ["Raise the memory limit of the app container to 1Gi."],
                        "next_checks": ["Watch container_memory_working_set_bytes after."],
                    },
                )
            ],
        )


def _question(messages: Sequence[BaseMessage]) -> str | None:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return asked_question(str(message.content))
    return None


def _after_last_question(messages: Sequence[BaseMessage]) -> int:
    count = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return count
        if isinstance(message, AIMessage):
            count += 1
    return count
