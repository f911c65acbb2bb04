"""Tool schemas as sent to the model, made compact: every turn pays for them, so descriptions lose
their indentation and are kept to their first sentences, optional-or-null parameters become plain
optional ones, and titles, length bounds (checked on our side) and null defaults go. What a tool
does and how to call it stays."""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.reasoner import SUBMIT_REPORT

_SPACES = re.compile(r"\s+")
# Tool descriptions are kept to their first sentences up to this length: what a tool does and
# how to call it comes first; the rest lists output fields, which the result shows anyway.
_MAX_DESCRIPTION = 240

# submit_report's fields whose schema descriptions say nothing the prompt does not.
_REPORT_DESCRIPTIONS = {
    "category": "one of the categories in the instructions",
}


def tool_spec(tool: BaseTool) -> dict[str, Any]:
    """The OpenAI function-tool dict for `tool`, compacted."""
    spec = convert_to_openai_tool(tool)
    function = spec["function"]
    description = _SPACES.sub(" ", function.get("description", "")).strip()
    description = _shorten(description)
    parameters = _compact(function.get("parameters", {"type": "object", "properties": {}}))
    if tool.name == SUBMIT_REPORT:
        properties = parameters.get("properties", {})
        for field, text in _REPORT_DESCRIPTIONS.items():
            properties.get(field, {})["description"] = text
        # Evidence names its tool; the call's arguments are found from the transcript.
        properties.get("evidence", {}).get("items", {}).get("properties", {}).pop("arguments", None)
    return {
        "type": "function",
        "function": {
            "name": function["name"],
            "description": description,
            "parameters": parameters,
        },
    }


def _shorten(text: str) -> str:
    if len(text) <= _MAX_DESCRIPTION:
        return text
    head = text[:_MAX_DESCRIPTION]
    end = head.rfind(". ")
    if end >= _MAX_DESCRIPTION // 3:
        return head[: end + 1]
    return head[: head.rfind(" ")] + "…"


def spec_tokens(spec: dict[str, Any]) -> int:
    return len(json.dumps(spec, separators=(",", ":"), ensure_ascii=False)) // 4 + 1


def _compact(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_compact(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        # Titles repeat names; length bounds are checked when the answer is validated.
        if key in ("title", "minLength"):
            continue
        if key == "default" and value is None:
            continue
        if key == "description" and isinstance(value, str):
            out[key] = _SPACES.sub(" ", value).strip()
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _compact(prop) for name, prop in value.items()}
            continue
        out[key] = _compact(value)
    # {"anyOf": [X, {"type": "null"}]} is how pydantic says "optional"; not being in `required`
    # already says it.
    variants = out.get("anyOf")
    if isinstance(variants, list) and len(variants) == 2:
        kept = [v for v in variants if v != {"type": "null"}]
        if len(kept) == 1 and isinstance(kept[0], dict):
            del out["anyOf"]
            out = {**kept[0], **out}
    return out
