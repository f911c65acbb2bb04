"""The one investigation loop: reasoner -> tool calls (concurrent) -> results -> reasoner, bounded.

`Investigation.run()` is an async generator of events; it never raises for a tool or a reasoner
failing. Reasoners are tried in order: when one fails, the next takes over from the same
conversation, so the last one (the offline reasoner, in the real wiring) always answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.messages.tool import ToolCall
from langchain_core.tools import BaseTool
from pydantic import ValidationError

from agent.alert import Alert
from agent.events import (
    Answered,
    Event,
    Failed,
    Finished,
    IterationStarted,
    Note,
    Reasoning,
    Started,
    Stats,
    ToolCalled,
    ToolFinished,
    Usage,
)
from agent.limits import Limits
from agent.reasoner import SUBMIT_REPORT, SUBMIT_REPORT_TOOL, Reasoner
from agent.report import Diagnosis, Evidence, RootCauseReport
from agent.tooling import ToolOutcome, ToolStatus, call_key, content_text

# Time the last-resort reasoner gets to write a report after the wall-time limit.
_CONCLUDE_GRACE_S = 10.0


class ReasonersExhausted(RuntimeError):
    """Every reasoner in the chain failed; only a bug in the last one gets here."""


@dataclass
class _Budget:
    limits: Limits
    started: float = field(default_factory=time.monotonic)
    tool_calls: int = 0
    tokens: int = 0

    def remaining_s(self) -> float:
        return self.limits.wall_time_s - (time.monotonic() - self.started)

    def elapsed_s(self) -> float:
        return time.monotonic() - self.started


class Investigation:
    """One bounded investigation of one alert, or one follow-up question about it.

    `messages` is the conversation to start from: the prompt for a new investigation, or the
    stored transcript plus the question for a follow-up (`question` set). After `run()`,
    `messages` holds the whole transcript, ready to be stored and asked about later.
    """

    def __init__(
        self,
        *,
        investigation_id: str,
        alert: Alert,
        messages: Sequence[BaseMessage],
        reasoners: Sequence[Reasoner],
        tools: Sequence[BaseTool],
        limits: Limits | None = None,
        runbook: str | None = None,
        notes: Sequence[str] = (),
        question: str | None = None,
    ) -> None:
        if not reasoners:
            raise ValueError("an investigation needs at least one reasoner")
        self.id = investigation_id
        self.alert = alert
        self.messages: list[BaseMessage] = list(messages)
        self.limits = limits or Limits()
        self.runbook = runbook
        self.question = question
        self.outcomes: list[ToolOutcome] = []
        self._reasoners = list(reasoners)
        self._current = 0
        self._notes = list(notes)
        self._tools = {tool.name: tool for tool in tools if tool.name != SUBMIT_REPORT}
        self._offered: list[BaseTool] = list(self._tools.values())
        if question is None:
            self._offered.append(SUBMIT_REPORT_TOOL)
        # Each call's identity -> the iteration and call id that ran it, for refusing repeats.
        self._seen_calls: dict[str, tuple[int, str]] = {}
        self._usage: dict[str, Usage] = {}
        self._budget = _Budget(self.limits)
        self._pending: list[Event] = []
        self._iteration = 0

    @property
    def reasoner(self) -> Reasoner:
        return self._reasoners[self._current]

    async def run(self) -> AsyncIterator[Event]:
        """Run to the end, yielding events; the last one is Finished, Answered or Failed."""
        if self.question is None:
            yield Started(
                investigation_id=self.id,
                alert=self.alert,
                runbook=self.runbook,
                reasoner=self.reasoner.name,
                max_iterations=self.limits.max_iterations,
            )
        for text in self._notes:
            yield Note(investigation_id=self.id, text=text)
        try:
            async for event in self._loop():
                yield event
        except ReasonersExhausted as exc:
            for event in self._drain():
                yield event
            yield Failed(investigation_id=self.id, error=str(exc))

    async def _loop(self) -> AsyncIterator[Event]:
        limit_hit: str | None = None
        repaired = False
        conclude = False
        while True:
            if not conclude:
                limit_hit = self._limit_reached()
                if limit_hit:
                    break
                self._iteration += 1
                yield IterationStarted(
                    investigation_id=self.id,
                    iteration=self._iteration,
                    max_iterations=self.limits.max_iterations,
                )
            message = await self._decide(conclude=conclude)
            for event in self._drain():
                yield event
            if message is None:  # wall time ran out while the reasoner was thinking
                limit_hit = "wall time"
                break
            message = _with_call_ids(message, self._iteration)
            self.messages.append(message)
            if text := content_text(message.content).strip():
                yield Reasoning(
                    investigation_id=self.id,
                    iteration=self._iteration,
                    text=text,
                    reasoner=self.reasoner.name,
                )

            # A follow-up is answered in words; submit_report is not offered there and is
            # refused like any other unknown tool.
            reporting = self.question is None
            submitted = [c for c in message.tool_calls if reporting and c["name"] == SUBMIT_REPORT]
            if self.question is not None and not message.tool_calls:
                yield self._answered(text)
                return
            if submitted:
                report = self._accept_report(message, submitted[0])
                if report is not None:
                    yield self._finished(report, limit_hit=None)
                    return
                if repaired:
                    async for event in self._conclude_with_last_resort(
                        "the report was invalid twice"
                    ):
                        yield event
                    return
                repaired, conclude = True, True
                continue

            calls = [c for c in message.tool_calls if c not in submitted]
            if not calls and not message.invalid_tool_calls:
                if conclude:  # asked to conclude and still did not: the last resort writes it
                    async for event in self._conclude_with_last_resort("no report was submitted"):
                        yield event
                    return
                conclude = True
                self.messages.append(
                    HumanMessage(
                        "Call submit_report now with your conclusion from the evidence above."
                    )
                )
                continue
            conclude = False
            async for event in self._run_tools(calls, message):
                yield event

        # A limit ended the loop: ask for the report built from what was found.
        async for event in self._conclude_after_limit(limit_hit):
            yield event

    # --- reasoning -------------------------------------------------------------------------

    async def _decide(self, *, conclude: bool, grace_s: float = 0.0) -> AIMessage | None:
        """Ask the current reasoner; on failure hand over to the next. None when time is up.

        `grace_s` extends the wall-time budget for writing the conclusion itself."""
        while True:
            remaining = self._budget.remaining_s() + grace_s
            if remaining <= 0:
                return None
            reasoner = self.reasoner
            try:
                async with asyncio.timeout(remaining):
                    message = await reasoner.decide(self.messages, self._offered, conclude=conclude)
            except TimeoutError:
                return None
            except Exception as exc:  # noqa: BLE001 - any reasoner failure hands over to the next
                self._hand_over(reasoner.name, exc)
                continue
            self._count_usage(reasoner.name, message)
            return message

    def _hand_over(self, failed: str, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}".strip()[:300]
        if self._current + 1 >= len(self._reasoners):
            raise ReasonersExhausted(f"every reasoner failed; the last, {failed}, said {reason}")
        self._current += 1
        self._note(f"Reasoner {failed} failed ({reason}); {self.reasoner.name} continues.")

    def _count_usage(self, name: str, message: AIMessage) -> None:
        meta = message.usage_metadata
        if not meta:
            return
        before = self._usage.get(name, Usage(reasoner=name))
        cost = message.response_metadata.get("cost_usd")  # set by reasoners that know a price
        if isinstance(cost, int | float):
            cost = round((before.cost_usd or 0.0) + cost, 6)
        else:
            cost = before.cost_usd
        self._usage[name] = Usage(
            reasoner=name,
            input_tokens=before.input_tokens + meta.get("input_tokens", 0),
            output_tokens=before.output_tokens + meta.get("output_tokens", 0),
            cost_usd=cost,
        )
        self._budget.tokens += meta.get("total_tokens", 0)

    def _limit_reached(self) -> str | None:
        if self._iteration >= self.limits.max_iterations:
            return "iterations"
        if self._budget.tool_calls >= self.limits.max_tool_calls:
            return "tool calls"
        if self._budget.remaining_s() <= 0:
            return "wall time"
        if self._budget.tokens >= self.limits.max_tokens:
            return "tokens"
        return None

    # --- ending ----------------------------------------------------------------------------

    def _accept_report(self, message: AIMessage, call: ToolCall) -> RootCauseReport | None:
        """Validate a submitted report; answer every call in the message so the transcript
        stays well-formed for follow-ups. None (and a repair request) when invalid."""
        try:
            diagnosis = Diagnosis.model_validate(call["args"])
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'report'}: {err['msg']}"
                for err in exc.errors()
            )
            self._answer_calls(
                message,
                call,
                f"The report was not valid: {problems}. "
                "Call submit_report again with a corrected report.",
            )
            self._note(f"{self.reasoner.name} submitted an invalid report ({problems[:200]}).")
            return None
        self._answer_calls(message, call, "Report received.")
        return self._report(diagnosis)

    def _answer_calls(self, message: AIMessage, submit: ToolCall, text: str) -> None:
        for call in message.tool_calls:
            reply = text if call["id"] == submit["id"] else "Not run: a report was submitted."
            self.messages.append(ToolMessage(content=reply, tool_call_id=call["id"] or ""))

    async def _conclude_after_limit(self, limit_hit: str | None) -> AsyncIterator[Event]:
        if limit_hit is not None:
            self._note(f"Stopped at the {limit_hit} limit; concluding from what was found.")
            for event in self._drain():
                yield event
        wants = "your report" if self.question is None else "your answer"
        self.messages.append(
            HumanMessage(
                f"The {limit_hit} limit was reached. Give {wants} now from the evidence above, "
                "and say plainly what could not be checked."
            )
        )
        grace_s = 0.0
        if self._budget.remaining_s() <= 0:
            # No time left for a slow reasoner: the last resort is fast and deterministic.
            self._current = len(self._reasoners) - 1
            grace_s = _CONCLUDE_GRACE_S - self._budget.remaining_s()
        message = await self._decide(conclude=True, grace_s=grace_s)
        for event in self._drain():
            yield event
        if message is None:
            raise ReasonersExhausted("no time left to conclude")
        message = _with_call_ids(message, self._iteration)
        self.messages.append(message)
        if self.question is not None:
            yield self._answered(content_text(message.content).strip())
            return
        submitted = [c for c in message.tool_calls if c["name"] == SUBMIT_REPORT]
        report = self._accept_report(message, submitted[0]) if submitted else None
        if report is None:
            async for event in self._conclude_with_last_resort("no valid report at the limit"):
                yield event
            return
        yield self._finished(report, limit_hit=limit_hit)

    async def _conclude_with_last_resort(self, why: str) -> AsyncIterator[Event]:
        last = len(self._reasoners) - 1
        if self._current == last:
            raise ReasonersExhausted(f"{self.reasoner.name} gave {why}")
        failed = self.reasoner.name
        self._current = last
        self._note(
            f"{failed} gave {why}; {self.reasoner.name} wrote the report from the same evidence."
        )
        message = await self._decide(conclude=True, grace_s=_CONCLUDE_GRACE_S)
        for event in self._drain():
            yield event
        if message is None:
            raise ReasonersExhausted("no time left to conclude")
        message = _with_call_ids(message, self._iteration)
        self.messages.append(message)
        submitted = [c for c in message.tool_calls if c["name"] == SUBMIT_REPORT]
        report = self._accept_report(message, submitted[0]) if submitted else None
        if report is None:
            raise ReasonersExhausted(f"{self.reasoner.name} gave no valid report")
        report = report.model_copy(update={"notes": [*report.notes, f"{failed} gave {why}."]})
        yield self._finished(report, limit_hit=None)

    def _report(self, diagnosis: Diagnosis) -> RootCauseReport:
        report = RootCauseReport(
            **diagnosis.model_dump(),
            runbook=self.runbook,
            reasoner=self.reasoner.name,
        )
        return report.model_copy(update={"evidence": self._cited_calls(report.evidence)})

    def _cited_calls(self, evidence: list[Evidence]) -> list[Evidence]:
        """Evidence naming a tool but not its arguments (what an LLM is asked for) gets the
        arguments of the call that tool answered, when it answered exactly one."""
        calls: dict[str, list[dict[str, Any]]] = {}
        for outcome in self.outcomes:
            if outcome.status is not ToolStatus.REFUSED:
                calls.setdefault(outcome.tool, []).append(outcome.arguments)
        return [
            item.model_copy(update={"arguments": calls[item.tool][0]})
            if item.tool and not item.arguments and len(calls.get(item.tool, ())) == 1
            else item
            for item in evidence
        ]

    def _finished(self, report: RootCauseReport, *, limit_hit: str | None) -> Finished:
        notes = [*self._notes_for_report(), *report.notes]
        report = report.model_copy(update={"limit_hit": limit_hit, "notes": notes})
        return Finished(investigation_id=self.id, report=report, stats=self._stats())

    def _answered(self, text: str) -> Answered:
        return Answered(
            investigation_id=self.id,
            question=self.question or "",
            answer=text or "(no answer)",
            reasoner=self.reasoner.name,
            stats=self._stats(),
        )

    def _notes_for_report(self) -> list[str]:
        return list(dict.fromkeys(self._notes))

    def _stats(self) -> Stats:
        return Stats(
            iterations=self._iteration,
            tool_calls=self._budget.tool_calls,
            duration_s=round(self._budget.elapsed_s(), 3),
            usage=list(self._usage.values()),
        )

    def _note(self, text: str) -> None:
        self._notes.append(text)
        self._pending.append(Note(investigation_id=self.id, text=text))

    def _drain(self) -> list[Event]:
        events, self._pending = self._pending, []
        return events

    # --- tools -----------------------------------------------------------------------------

    async def _run_tools(self, calls: list[ToolCall], message: AIMessage) -> AsyncIterator[Event]:
        """Run one turn's calls concurrently; results go back in the order they were asked."""
        iteration = self._iteration
        results: dict[str, ToolOutcome] = {}
        runnable: list[ToolCall] = []
        for call in calls:
            refusal = self._refusal(call)
            yield ToolCalled(
                investigation_id=self.id,
                iteration=iteration,
                call_id=call["id"] or "",
                tool=call["name"],
                arguments=call["args"],
            )
            if refusal is None:
                self._budget.tool_calls += 1
                self._seen_calls[call_key(call["name"], call["args"])] = (
                    iteration,
                    call["id"] or "",
                )
                runnable.append(call)
            else:
                results[call["id"] or ""] = self._outcome(call, ToolStatus.REFUSED, refusal)
        for bad in message.invalid_tool_calls:
            if bad.get("id"):
                results[bad["id"] or ""] = ToolOutcome(
                    call_id=bad["id"] or "",
                    tool=bad.get("name") or "?",
                    arguments={},
                    status=ToolStatus.ERROR,
                    text=f"The arguments were not valid JSON ({bad.get('error') or 'unparseable'})."
                    " Call the tool again with a JSON object matching its schema.",
                    iteration=iteration,
                )
        for outcome in results.values():
            yield self._finished_event(outcome)

        tasks = [asyncio.create_task(self._call(call, iteration)) for call in runnable]
        try:
            for next_done in asyncio.as_completed(tasks):
                outcome = await next_done
                results[outcome.call_id] = outcome
                yield self._finished_event(outcome)
        finally:
            for task in tasks:
                task.cancel()

        order = [c["id"] or "" for c in calls] + [b["id"] or "" for b in message.invalid_tool_calls]
        for call_id in order:
            if call_id in results:
                outcome = results[call_id]
                self.outcomes.append(outcome)
                self.messages.append(outcome.to_message())

    def _refusal(self, call: ToolCall) -> str | None:
        name = call["name"]
        if name not in self._tools:
            offered = ", ".join(sorted(self._tools)) or "none"
            return f"There is no tool named {name!r} here. Tools you can call: {offered}."
        earlier = self._seen_calls.get(call_key(name, call["args"]))
        if earlier is not None:
            iteration, call_id = earlier
            refusal = (
                f"Refused: {name} was already called with these exact arguments in iteration "
                f"{iteration}, so it is not run again"
            )
            # What the reasoner was shown of that result may have been cut or summarized to fit
            # its context: the refusal carries the result again, at no tool call's cost.
            result = next((o for o in self.outcomes if o.call_id == call_id), None)
            if result is None or result.status is ToolStatus.REFUSED:
                return f"{refusal}; its result is in this turn. Call with different arguments."
            return (
                f"{refusal}. Its result from then follows; call with different arguments for "
                f"anything else.\n{result.text}"
            )
        if self._budget.tool_calls >= self.limits.max_tool_calls:
            return f"Refused: the limit of {self.limits.max_tool_calls} tool calls is reached."
        return None

    async def _call(self, call: ToolCall, iteration: int) -> ToolOutcome:
        tool = self._tools[call["name"]]
        timeout = max(0.001, min(self.limits.tool_timeout_s, self._budget.remaining_s()))
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                result = await tool.ainvoke({**call, "type": "tool_call"})
        except TimeoutError:
            text = (
                f"Timed out after {timeout:.1f}s. Try a narrower query "
                "(one namespace, a label selector, fewer lines, a shorter time range)."
            )
            return self._outcome(call, ToolStatus.ERROR, text, started=started)
        except Exception as exc:  # noqa: BLE001 - a failing tool is evidence, not a crash
            text = f"The tool failed: {type(exc).__name__}: {_first_line(exc)}"
            return self._outcome(call, ToolStatus.ERROR, text, started=started)
        return self._outcome_from_result(call, result, started)

    def _outcome_from_result(self, call: ToolCall, result: Any, started: float) -> ToolOutcome:
        artifact: dict[str, Any] = {}
        status = ToolStatus.SUCCESS
        if isinstance(result, ToolMessage):
            text = content_text(result.content)
            if isinstance(result.artifact, dict):
                artifact = result.artifact
            if result.status == "error":
                status = ToolStatus.ERROR
        else:
            text = result if isinstance(result, str) else json.dumps(result, default=str)
        with contextlib.suppress(ValueError):
            status = ToolStatus(artifact.get("status", status))
        return self._outcome(
            call,
            status,
            text,
            started=started,
            structured=artifact.get("structured"),
            truncated=bool(artifact.get("truncated", False)),
        )

    def _outcome(
        self,
        call: ToolCall,
        status: ToolStatus,
        text: str,
        *,
        started: float | None = None,
        structured: Any = None,
        truncated: bool = False,
    ) -> ToolOutcome:
        cap = self.limits.max_tool_output_chars
        if len(text) > cap:
            text = (
                f"{text[:cap]}\n[cut: the result had {len(text)} characters; the first {cap} "
                "are shown. Narrow the query (a filter, a label selector, fewer lines, a shorter "
                "time range) to see the rest.]"
            )
            truncated = True
        duration = (time.monotonic() - started) * 1000 if started is not None else 0.0
        return ToolOutcome(
            call_id=call["id"] or "",
            tool=call["name"],
            arguments=call["args"],
            status=status,
            text=text,
            structured=structured,
            truncated=truncated,
            duration_ms=round(duration, 3),
            iteration=self._iteration,
        )

    def _finished_event(self, outcome: ToolOutcome) -> ToolFinished:
        output = outcome.text
        if outcome.status is ToolStatus.REFUSED:
            # A refused repeat carries the earlier result for the reasoner; people watching the
            # thread have seen it already and get the refusal alone.
            output = output.split("\n", 1)[0]
        return ToolFinished(
            investigation_id=self.id,
            iteration=outcome.iteration,
            call_id=outcome.call_id,
            tool=outcome.tool,
            status=outcome.status,
            output=output,
            duration_ms=outcome.duration_ms,
            truncated=outcome.truncated,
        )


def _with_call_ids(message: AIMessage, iteration: int) -> AIMessage:
    """Give every tool call an id (some models omit them) so each result can answer its call."""
    if all(call.get("id") for call in message.tool_calls):
        return message
    calls = [
        {**call, "id": call.get("id") or f"call_{iteration}_{index}"}
        for index, call in enumerate(message.tool_calls)
    ]
    return message.model_copy(update={"tool_calls": calls})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else "(no message)"
