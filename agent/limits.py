"""Bounds on one investigation. Hitting any of them ends it with what was found, said plainly."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_iterations: int = Field(default=8, ge=1, le=100, description="reasoner turns")
    max_tool_calls: int = Field(default=30, ge=1, le=1000, description="tool calls in total")
    tool_timeout_s: float = Field(default=20.0, gt=0, le=600, description="per tool call")
    wall_time_s: float = Field(default=300.0, gt=0, le=7200, description="whole investigation")
    max_tool_output_chars: int = Field(
        default=6000, ge=200, le=1_000_000, description="per tool result, as the reasoner sees it"
    )
    max_tokens: int = Field(
        default=120_000, ge=1000, description="LLM tokens (prompt + completion) per investigation"
    )
