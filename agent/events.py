"""What an investigation emits while it runs. Renderers (Slack, terminal, SSE, store) consume these
and nothing else, so the loop never knows who is watching."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from agent.alert import Alert
from agent.report import RootCauseReport
from agent.tooling import ToolStatus


def _now() -> datetime:
    return datetime.now(UTC)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    investigation_id: str
    at: datetime = Field(default_factory=_now)


class Queued(_Event):
    """Admitted, waiting for a free slot: `ahead` investigations are queued before this one."""

    type: Literal["queued"] = "queued"
    ahead: int
    running: int
    concurrency: int


class Started(_Event):
    type: Literal["started"] = "started"
    alert: Alert
    runbook: str | None
    reasoner: str
    max_iterations: int


class IterationStarted(_Event):
    type: Literal["iteration_started"] = "iteration_started"
    iteration: int
    max_iterations: int


class Reasoning(_Event):
    """What the reasoner said it is thinking, in its own words (a sentence or two)."""

    type: Literal["reasoning"] = "reasoning"
    iteration: int
    text: str
    reasoner: str


class ToolCalled(_Event):
    type: Literal["tool_called"] = "tool_called"
    iteration: int
    call_id: str
    tool: str
    arguments: dict[str, Any]


class ToolFinished(_Event):
    type: Literal["tool_finished"] = "tool_finished"
    iteration: int
    call_id: str
    tool: str
    status: ToolStatus
    output: str = Field(description="what the reasoner saw (redacted, possibly cut)")
    duration_ms: float
    truncated: bool = False


class Note(_Event):
    """Something a reader should know that is not reasoning: a fallback, a resume, a limit."""

    type: Literal["note"] = "note"
    text: str


class Usage(BaseModel):
    model_config = ConfigDict(frozen=True)

    reasoner: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = Field(
        default=None, description="estimated from the configured price table; None: no price"
    )


class Stats(BaseModel):
    model_config = ConfigDict(frozen=True)

    iterations: int
    tool_calls: int
    duration_s: float
    usage: list[Usage] = Field(default_factory=list)


class Finished(_Event):
    type: Literal["finished"] = "finished"
    report: RootCauseReport
    stats: Stats


class Answered(_Event):
    """The end of a follow-up question: the answer, and the question it answers."""

    type: Literal["answered"] = "answered"
    question: str
    answer: str
    reasoner: str
    stats: Stats


class Failed(_Event):
    type: Literal["failed"] = "failed"
    error: str


Event = Annotated[
    Queued
    | Started
    | IterationStarted
    | Reasoning
    | ToolCalled
    | ToolFinished
    | Note
    | Finished
    | Answered
    | Failed,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def event_from_json(data: str | bytes) -> Event:
    return EVENT_ADAPTER.validate_json(data)
