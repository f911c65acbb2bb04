"""The LLM reasoner: one provider's chat model in the investigation loop.

Its first turn is not an LLM call: it returns the runbook's planned checks (`agent.offline.
first_step`), and the offline analyzers' findings on their results are offered to the model
before its first real call, so even a small model starts from facts. Every later turn sends the
redacted, fenced, budgeted conversation (`agent.llm.context`) with only the tools the runbook
allows (just `submit_report` when concluding), records token usage and a cost estimate on the
answer, and turns any provider failure into `LLMUnavailable` so the loop hands over to the next
reasoner.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.tools import BaseTool

from agent.casefile import CaseFile
from agent.llm.config import LLMProvider, ModelPrice
from agent.llm.context import Budget, ContextBuilder, PreparedTurn, Redact, estimate_tokens
from agent.llm.models import build_chat_model, describe_failure
from agent.llm.schemas import spec_tokens, tool_spec
from agent.offline import analyze, first_step
from agent.reasoner import SUBMIT_REPORT
from agent.report import Evidence
from agent.tooling import ToolOutcome, content_text

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger("sre_agent.llm")

# What the logs keep of a request or an answer at DEBUG level.
_LOG_CHARS = 2000


class LLMUnavailable(RuntimeError):
    """The provider did not give an answer (after the client's retries); the next reasoner
    takes over. The message is one redacted line: status and the provider's reason."""


class LLMReasonerFactory:
    """Builds an `LLMReasoner` per case for one provider (a `ReasonerFactory`). All cases share
    one chat model, built on first need in a worker thread (its imports take seconds)."""

    def __init__(
        self,
        provider: LLMProvider,
        *,
        redact: Redact,
        price: ModelPrice | None = None,
        model: BaseChatModel | None = None,
    ) -> None:
        self.provider = provider
        self.redact = redact
        self.price = price
        self._model = model
        self._building: asyncio.Future[BaseChatModel] | None = None
        self._specs: dict[str, tuple[dict[str, Any], int]] = {}

    @property
    def name(self) -> str:
        return self.provider.name

    def __call__(self, case: CaseFile) -> LLMReasoner:
        return LLMReasoner(self, case)

    def warm_up(self) -> None:
        """Start building the model in a worker thread (imports included), so it overlaps with
        whatever the process waits for meanwhile. Outside an event loop it does nothing: the
        model is then built on first need."""
        if self._model is None and self._building is None:
            with contextlib.suppress(RuntimeError):  # no running loop
                self._start_building(asyncio.get_running_loop())

    async def model(self) -> BaseChatModel:
        if self._model is not None:
            return self._model
        building = self._building or self._start_building(asyncio.get_running_loop())
        try:
            self._model = await asyncio.shield(building)
        finally:
            if building.done():
                self._building = None
        return self._model

    def _start_building(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[BaseChatModel]:
        # Handed to the executor now, not when the loop next runs: a caller that warms up and
        # then goes on with blocking work (imports) gets the overlap it asked for.
        context = contextvars.copy_context()
        task = loop.run_in_executor(None, context.run, build_chat_model, self.provider)
        # A failure is raised to whoever awaits the model; this only keeps asyncio from
        # logging it as never retrieved when no turn needed the model.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._building = task
        return task

    def spec(self, tool: BaseTool) -> tuple[dict[str, Any], int]:
        """The compact schema of `tool` and its token estimate, computed once."""
        if tool.name not in self._specs:
            spec = tool_spec(tool)
            self._specs[tool.name] = (spec, spec_tokens(spec))
        return self._specs[tool.name]


class LLMReasoner:
    """One provider reasoning about one case. Its name says provider and model."""

    def __init__(self, factory: LLMReasonerFactory, case: CaseFile) -> None:
        self._factory = factory
        self._case = case
        config = factory.provider.config
        self._context = ContextBuilder(
            redact=factory.redact,
            budget=Budget(
                budget_tokens=min(config.budget_tokens, config.context_window // 2),
                result_tokens=config.result_tokens,
                hard_limit_tokens=config.context_window - (config.max_output_tokens or 4096),
            ),
            findings=self._findings,
        )
        self._turn = 0
        # What the latest request sent and how long the model call took, for benches.
        self.last_turn: PreparedTurn | None = None
        self.last_model_s = 0.0
        self._bound: dict[tuple[tuple[str, ...], str | None], Any] = {}

    @property
    def name(self) -> str:
        return self._factory.name

    async def decide(
        self, messages: Sequence[BaseMessage], tools: Sequence[BaseTool], *, conclude: bool
    ) -> AIMessage:
        if not conclude and not any(isinstance(m, AIMessage) for m in messages):
            plan = first_step(self._case)
            if plan.tool_calls:
                # The checks take a moment: build the model (and import its client) meanwhile.
                self._factory.warm_up()
                return plan.model_copy(update={"response_metadata": {"pre_triage": True}})
        self._turn += 1
        wants_report = any(tool.name == SUBMIT_REPORT for tool in tools)
        if conclude:
            offered = [tool for tool in tools if tool.name == SUBMIT_REPORT]
        else:
            offered = list(tools)
        specs = [self._factory.spec(tool) for tool in offered]
        turn = self._context.prepare(messages, tool_tokens=sum(tokens for _, tokens in specs))
        self.last_turn = turn
        choice = SUBMIT_REPORT if conclude and wants_report else None
        try:
            runnable = await self._runnable([spec for spec, _ in specs], choice)
            started = time.monotonic()
            answer = await runnable.ainvoke(turn.messages)
        except Exception as exc:  # noqa: BLE001 - any provider failure hands over to the next reasoner
            failure = self._factory.redact(describe_failure(exc))
            log.warning("%s turn %d failed: %s", self.name, self._turn, failure)
            raise LLMUnavailable(f"{self.name}: {failure}") from None
        if not isinstance(answer, AIMessage):
            raise LLMUnavailable(f"{self.name} answered with {type(answer).__name__}")
        elapsed = self.last_model_s = time.monotonic() - started
        answer = self._account(answer, turn.tokens)
        self._log_turn(turn, answer, elapsed, offered)
        return answer

    # --- internals -----------------------------------------------------------------------

    def _findings(self, outcomes: Sequence[ToolOutcome]) -> list[Evidence]:
        try:
            return [
                finding.evidence.model_copy(update={"statement": finding.statement})
                for finding in analyze(self._case, outcomes)
            ]
        except Exception:  # a bug in an analyzer must not cost the investigation its LLM
            log.exception("the offline analyzers failed on the pre-triage results")
            return []

    async def _runnable(self, specs: list[dict[str, Any]], choice: str | None) -> Any:
        key = (tuple(spec["function"]["name"] for spec in specs), choice)
        if key not in self._bound:
            model = await self._factory.model()
            self._bound[key] = model.bind_tools(specs, tool_choice=choice) if specs else model
        return self._bound[key]

    def _account(self, answer: AIMessage, estimated: int) -> AIMessage:
        """Usage (estimated when the provider sends none) and cost on the answer's metadata,
        where the loop counts them against the investigation's limits and stats."""
        usage: UsageMetadata | None = answer.usage_metadata
        metadata = dict(answer.response_metadata)
        if usage:
            self._context.calibrate(estimated, usage.get("input_tokens", 0))
        else:
            produced = content_text(answer.content) + json.dumps(
                [call["args"] for call in answer.tool_calls], default=str
            )
            output = estimate_tokens(produced)
            usage = {
                "input_tokens": estimated,
                "output_tokens": output,
                "total_tokens": estimated + output,
            }
            metadata["usage_estimated"] = True
        price = self._factory.price
        if price is not None:
            cached = (usage.get("input_token_details") or {}).get("cache_read", 0) or 0
            metadata["cost_usd"] = price.cost(
                usage.get("input_tokens", 0), usage.get("output_tokens", 0), cached
            )
        metadata["sent_tokens_estimate"] = estimated
        return answer.model_copy(update={"usage_metadata": usage, "response_metadata": metadata})

    def _log_turn(
        self, turn: PreparedTurn, answer: AIMessage, elapsed: float, offered: Sequence[BaseTool]
    ) -> None:
        usage: UsageMetadata | dict[str, int] = answer.usage_metadata or {}
        log.info(
            "%s turn %d: sent ~%d tokens (%d messages, %d tools; %d results summarized, %d cut), "
            "answered in %.2fs with %d tool calls; usage %d in / %d out",
            self.name,
            self._turn,
            turn.tokens,
            len(turn.messages),
            len(offered),
            turn.summarized,
            turn.cut,
            elapsed,
            len(answer.tool_calls) + len(answer.invalid_tool_calls),
            usage.get("input_tokens", 0),
            usage.get("output_tokens", 0),
        )
        if log.isEnabledFor(logging.DEBUG):
            # Already redacted: the context builder redacts everything it sends.
            last = turn.messages[-1] if turn.messages else None
            sent = content_text(last.content)[:_LOG_CHARS] if last is not None else ""
            said = self._factory.redact(content_text(answer.content))[:_LOG_CHARS]
            calls = self._factory.redact(
                json.dumps([[c["name"], c["args"]] for c in answer.tool_calls], default=str)
            )[:_LOG_CHARS]
            log.debug("%s turn %d last message sent: %s", self.name, self._turn, sent)
            log.debug("%s turn %d answer: %s tool calls: %s", self.name, self._turn, said, calls)
