"""What a tool call gives back to the agent: compact, redacted, capped text plus an artifact
`{"status", "structured", "truncated"}` (the contract in `agent/tooling.py`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from mcp import types

from mcp_bridge.redaction import Redactor

Status = Literal["success", "error", "no_data"]

# Artifacts are stored with the investigation; a runaway server must not make one row megabytes.
MAX_STRUCTURED_CHARS = 1_000_000

NO_DATA_TEXT = "The tool returned no data."


@dataclass(frozen=True)
class ToolResult:
    """One tool call's result as the agent sees it. Errors are results too (status `error`)."""

    status: Status
    text: str
    structured: Any = None
    truncated: bool = False

    def artifact(self) -> dict[str, Any]:
        return {"status": self.status, "structured": self.structured, "truncated": self.truncated}

    def as_content_and_artifact(self) -> tuple[str, dict[str, Any]]:
        return self.text, self.artifact()


def error_result(message: str) -> ToolResult:
    return ToolResult(status="error", text=message)


def from_call_result(
    result: types.CallToolResult, *, max_chars: int, redactor: Redactor
) -> ToolResult:
    """Adapt an MCP result: `isError` -> error, nothing in it -> no_data, else success.

    The text is the compact JSON of `structuredContent` when there is one (FastMCP also sends it
    pretty-printed as text; compact costs fewer tokens), else the content parts joined.
    """
    structured = result.structuredContent
    truncated = False
    if structured is not None:
        structured = redactor.value(structured)
    if structured is not None and not result.isError:
        text = json.dumps(structured, ensure_ascii=False, separators=(",", ":"), default=str)
        empty = _is_empty(structured)
        if len(text) > MAX_STRUCTURED_CHARS:
            structured, truncated = None, True
    else:
        text = redactor.text("\n".join(_part_text(part) for part in result.content))
        empty = _is_empty_text(text)
    if result.isError:
        status: Status = "error"
        text = text.strip() or "The tool reported an error without a message."
    elif empty:
        status, text = "no_data", NO_DATA_TEXT
    else:
        status = "success"
    text, cut = cap_text(text, max_chars)
    return ToolResult(status=status, text=text, structured=structured, truncated=truncated or cut)


def cap_text(text: str, max_chars: int) -> tuple[str, bool]:
    """Cut `text` to `max_chars`, saying how much was cut and how to see less, never silently."""
    if len(text) <= max_chars:
        return text, False
    note = (
        "\n[output cut: {omitted} of {total} characters not shown. Narrow the query (one "
        "namespace, a label selector, fewer lines, a shorter time range) to see the rest.]"
    )
    keep = max(0, max_chars - len(note) - 24)
    return text[:keep] + note.format(omitted=len(text) - keep, total=len(text)), True


def _part_text(part: types.ContentBlock) -> str:
    if isinstance(part, types.TextContent):
        return part.text
    if isinstance(part, types.ImageContent | types.AudioContent):
        kind = "image" if isinstance(part, types.ImageContent) else "audio"
        return f"[{kind} {part.mimeType}, {len(part.data)} base64 characters not shown]"
    if isinstance(part, types.ResourceLink):
        return f"[resource link: {part.uri} ({part.name})]"
    resource = part.resource
    if isinstance(resource, types.TextResourceContents):
        return resource.text
    return f"[resource {resource.uri}: {len(resource.blob)} base64 characters not shown]"


def _is_empty(value: Any) -> bool:
    """None, blanks, empty containers, and FastMCP's `{"result": <empty>}` wrapper."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return not value
    if isinstance(value, dict):
        return not value or (len(value) == 1 and _is_empty(next(iter(value.values()))))
    return False


def _is_empty_text(text: str) -> bool:
    stripped = text.strip()
    return not stripped or stripped in ("[]", "{}", "null", '""')
