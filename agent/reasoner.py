"""The reasoner seam: anything that looks at the conversation so far and decides the next step.

Every reasoner, offline or LLM, is a LangChain chat model with tool calling wrapped in
`ChatModelReasoner`, so one loop drives them all. A reasoner ends an investigation by calling the
`submit_report` tool with a `Diagnosis`, and a follow-up by answering without tool calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import BaseTool, StructuredTool

from agent.report import Diagnosis

SUBMIT_REPORT = "submit_report"


async def _never_run(**_: Any) -> str:
    # The loop intercepts submit_report calls; running it would be a bug in the loop.
    raise RuntimeError("submit_report is handled by the investigation loop")


SUBMIT_REPORT_TOOL: BaseTool = StructuredTool.from_function(
    coroutine=_never_run,
    name=SUBMIT_REPORT,
    description=(
        "Finish the investigation with your root-cause report. Call it once, when the evidence "
        "supports a conclusion or when you have checked what you can."
    ),
    args_schema=Diagnosis,
)


class Reasoner(Protocol):
    """Decides the next step. `conclude=True` means: no more tools, answer now."""

    @property
    def name(self) -> str: ...

    async def decide(
        self, messages: Sequence[BaseMessage], tools: Sequence[BaseTool], *, conclude: bool
    ) -> AIMessage: ...


class ChatModelReasoner:
    """A chat model with tool calling, used as a reasoner.

    `tools` passed to `decide` already include `submit_report` when a report is wanted; when
    concluding, the model is told to call it (or, for a follow-up, to answer without tools).
    """

    def __init__(self, model: BaseChatModel, name: str) -> None:
        self._model = model
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def decide(
        self, messages: Sequence[BaseMessage], tools: Sequence[BaseTool], *, conclude: bool
    ) -> AIMessage:
        wants_report = any(tool.name == SUBMIT_REPORT for tool in tools)
        runnable: Any
        if not tools:
            runnable = self._model
        elif conclude and not wants_report:
            runnable = self._model.bind_tools(list(tools), tool_choice="none")
        elif conclude:
            runnable = self._model.bind_tools(list(tools), tool_choice=SUBMIT_REPORT)
        else:
            runnable = self._model.bind_tools(list(tools))
        message = await runnable.ainvoke(list(messages))
        if not isinstance(message, AIMessage):
            raise TypeError(f"{self._name} answered with {type(message).__name__}, not AIMessage")
        return message
