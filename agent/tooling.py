"""What a tool call returned, as the loop, the analyzers and the renderers see it.

Tools are LangChain tools. A tool may return `(content, artifact)` where the artifact is a dict
`{"status": "success"|"error"|"no_data", "structured": <JSON or None>, "truncated": bool}`;
the MCP bridge does. Tools that return plain text count as `success`.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from langchain_core.messages import ToolMessage
from pydantic import BaseModel, ConfigDict


class ToolStatus(StrEnum):
    SUCCESS = "success"
    ERROR = "error"
    NO_DATA = "no_data"
    REFUSED = "refused"


class ToolOutcome(BaseModel):
    """One finished tool call: what was asked, what came back, how it went."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    tool: str
    arguments: dict[str, Any]
    status: ToolStatus
    text: str
    structured: Any = None
    truncated: bool = False
    duration_ms: float = 0.0
    iteration: int = 0

    def to_message(self) -> ToolMessage:
        """The message the reasoner sees; the artifact keeps the structured result for analyzers."""
        return ToolMessage(
            content=self.text,
            tool_call_id=self.call_id,
            name=self.tool,
            status="success"
            if self.status in (ToolStatus.SUCCESS, ToolStatus.NO_DATA)
            else "error",
            artifact=self.model_dump(mode="json", exclude={"text"}),
        )

    @classmethod
    def from_message(cls, message: ToolMessage) -> ToolOutcome:
        """Rebuild an outcome from a stored conversation (analyzers and follow-ups read these)."""
        artifact = message.artifact if isinstance(message.artifact, dict) else {}
        fields = {k: v for k, v in artifact.items() if k in cls.model_fields and k != "text"}
        fields.setdefault("call_id", message.tool_call_id)
        fields.setdefault("tool", message.name or "")
        fields.setdefault("arguments", {})
        fields.setdefault(
            "status", ToolStatus.ERROR if message.status == "error" else ToolStatus.SUCCESS
        )
        return cls(text=content_text(message.content), **fields)


def content_text(content: str | list[Any]) -> str:
    """Flatten LangChain/MCP content parts into one string."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(part["text"])
        else:
            parts.append(json.dumps(part, default=str))
    return "\n".join(parts)


def call_key(tool: str, arguments: dict[str, Any]) -> str:
    """Identity of a call, for refusing exact repeats (argument order does not matter)."""
    return tool + json.dumps(arguments, sort_keys=True, default=str, separators=(",", ":"))
