"""What a conversation already holds, re-read on every turn: the tool calls asked for, their
results (with the structured artifacts the analyzers read), the report if one was submitted, and
the follow-up question if there is one. Nothing is remembered between turns, so the offline
reasoner can take over from any other reasoner mid-investigation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import ValidationError

from agent.prompt import asked_question
from agent.reasoner import SUBMIT_REPORT
from agent.report import Diagnosis
from agent.tooling import ToolOutcome, call_key, content_text


@dataclass
class Transcript:
    outcomes: list[ToolOutcome] = field(default_factory=list)
    done: set[str] = field(default_factory=set)
    turns: int = 0
    report: Diagnosis | None = None
    question: str | None = None

    @classmethod
    def read(cls, messages: Sequence[BaseMessage]) -> Transcript:
        transcript = cls()
        asked: dict[str, tuple[str, dict[str, object]]] = {}
        for message in messages:
            if isinstance(message, AIMessage):
                transcript.turns += 1
                for call in message.tool_calls:
                    if call["name"] == SUBMIT_REPORT:
                        try:
                            transcript.report = Diagnosis.model_validate(call["args"])
                        except ValidationError:
                            continue
                        continue
                    asked[call.get("id") or ""] = (call["name"], dict(call["args"]))
                    transcript.done.add(call_key(call["name"], call["args"]))
            elif isinstance(message, ToolMessage):
                if message.tool_call_id not in asked:
                    continue  # the answer to a submitted report, not a tool result
                outcome = ToolOutcome.from_message(message)
                name, arguments = asked[message.tool_call_id]
                if not outcome.tool or not outcome.arguments:
                    outcome = outcome.model_copy(
                        update={
                            "tool": outcome.tool or name,
                            "arguments": outcome.arguments or arguments,
                        }
                    )
                transcript.outcomes.append(outcome)
            elif isinstance(message, HumanMessage):
                question = asked_question(content_text(message.content).strip())
                if question is not None:
                    transcript.question = question
        return transcript

    @property
    def investigated(self) -> bool:
        """Whether any tool has been asked for yet (turn 1 is the runbook's plan)."""
        return bool(self.done)
