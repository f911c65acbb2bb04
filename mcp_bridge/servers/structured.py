"""How the bundled servers hand back a tool's result: the model's JSON as structured content,
and the same JSON, compact and without nulls, as text."""

from __future__ import annotations

import json

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel


def structured_result(model: BaseModel) -> CallToolResult:
    """A finished `CallToolResult` for `model`.

    Tools declare `-> Annotated[CallToolResult, Model]`: the client still gets `Model`'s output
    schema, and FastMCP checks the result against `Model` with pydantic. Returning a plain model
    instead makes the SDK's low-level server re-check it with `jsonschema.validate`, which
    compiles the schema anew on every call (~10-40 ms per call for these models, on the bot's
    event loop when the server runs in-process).
    """
    structured = model.model_dump(mode="json", exclude_none=True)
    text = json.dumps(structured, separators=(",", ":"), ensure_ascii=False)
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structuredContent=structured
    )
