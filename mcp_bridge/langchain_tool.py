"""The LangChain tool class the toolbox hands out for each MCP tool.

No `from __future__ import annotations` in this module, on purpose: LangChain reads the type
hints of a tool's `_arun` on every call, and string annotations are compiled anew each time
(about half of a tool call's cost in LangChain, measured in bench/bench_loop.py).
"""

from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import StructuredTool


class McpTool(StructuredTool):
    """A LangChain tool that calls one MCP tool through the toolbox.

    `_arun` takes the arguments as they are: StructuredTool's own would inject `config` and
    `run_manager`, clobbering an MCP argument of that name. A result with status `error` also
    marks the ToolMessage as an error, as LangChain does for a raised ToolException.
    """

    async def _arun(self, *args: Any, **arguments: Any) -> Any:
        assert self.coroutine is not None
        return await self.coroutine(*args, **arguments)

    async def arun(self, *args: Any, **kwargs: Any) -> Any:
        output = await super().arun(*args, **kwargs)
        if (
            isinstance(output, ToolMessage)
            and isinstance(output.artifact, dict)
            and output.artifact.get("status") == "error"
        ):
            output.status = "error"
        return output
