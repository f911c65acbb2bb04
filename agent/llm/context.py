"""What an LLM is sent each turn, built from the stored transcript (which it never changes):
every text redacted, tool output fenced as data, the pre-triage findings offered after the
runbook's first checks, and the whole kept within a token budget.

Pre-triage: the runbook's first checks run before the model's first turn, and the offline
analyzers read their results. The model is sent those findings, and each check the findings
cite stands as a one-line pointer (its result whole is one identical call away: the loop answers
a repeated call with the earlier result). A check no finding cites is sent like any result.

Budgeting:
1. every tool result is capped at `result_tokens` (head and tail kept, the model told what was
   cut and how to narrow the query);
2. while the request is over `budget_tokens`, results the model has already seen are
   summarized, oldest first, to what the analyzers read in them (once summarized, a result
   stays summarized, so the start of the conversation stays stable for prompt caching);
3. only if it would still not fit the model's window, the newest results' caps shrink, down to
   a floor.
Tokens are estimated without a tokenizer (characters / 4, as langchain-core's
`count_tokens_approximately` does), then calibrated by the provider's reported usage.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agent.report import Evidence
from agent.tooling import ToolOutcome, call_key, content_text

Redact = Callable[[str], str]
# What the offline analyzers read in tool results: statements, strongest first, each naming the
# tool call that showed it.
FindingsReader = Callable[[Sequence[ToolOutcome]], list[Evidence]]

_CHARS_PER_TOKEN = 4
_TOKENS_PER_MESSAGE = 3
# The smallest cap the newest results shrink to when the budget is tight.
_FLOOR_TOKENS = 250
# What the model is told of the pre-triage: the strongest findings, each kept to one line.
_MAX_FINDINGS = 5
_MAX_FINDING_CHARS = 300
# A seen result is summarized to this many of the analyzers' statements about it.
_SUMMARY_FINDINGS = 1
# What the fence and the message around a result cost, beyond the result's own text.
_FENCE_TOKENS = 25
# A closing fence inside data must not close the fence around it.
_FENCE_CLOSE = re.compile(r"</(?=\s*(?:tool_output|alert|runbook|findings|question)\b)", re.I)


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / _CHARS_PER_TOKEN)


def neutralize_fences(text: str) -> str:
    """Data can mention `</tool_output>` without ending the fence it sits in."""
    return _FENCE_CLOSE.sub("<\\\\/", text)


@dataclass(frozen=True)
class Budget:
    budget_tokens: int = 3_000
    result_tokens: int = 1_000
    hard_limit_tokens: int = 120_000
    # The runbook's checks no finding cites go in the first request cut to this: the findings
    # come with them, and the whole result is one repeated call away.
    pre_triage_result_tokens: int = 300


@dataclass
class PreparedTurn:
    """The messages to send, and what budgeting did to them."""

    messages: list[BaseMessage]
    tokens: int  # estimated, calibrated, including tool schemas
    unbudgeted_tokens: int  # the same conversation with every result whole
    summarized: int = 0
    cut: int = 0


@dataclass
class _Entry:
    source: BaseMessage
    sent: BaseMessage
    tokens: int
    result_text: str | None = None  # redacted, unfenced (tool results only)
    tool: str = ""
    status: str = ""
    capped: dict[int, tuple[BaseMessage, int, bool]] = field(default_factory=dict)
    how_to_see_more: str = ""  # what a cut says after its size; the default: narrow the query
    read: list[Evidence] | None = None  # what the analyzers read in it, once read
    summary: tuple[BaseMessage, int] | None = None


class ContextBuilder:
    """Builds each turn's request for one investigation (or follow-up) and one provider."""

    def __init__(
        self, *, redact: Redact, budget: Budget, findings: FindingsReader | None = None
    ) -> None:
        self._redact = redact
        self._budget = budget
        self._findings = findings
        self._entries: list[_Entry] = []
        self._summarized_before = 0  # transcript index: seen results before it are summarized
        self._findings_read_at = -1
        self._pre_triage_read: _PreTriage | None = None
        self.scale = 1.0  # reported tokens / estimated tokens, from the last answer's usage

    def prepare(self, transcript: Sequence[BaseMessage], *, tool_tokens: int) -> PreparedTurn:
        entries = [self._entry(index, message) for index, message in enumerate(transcript)]
        pre_triage = self._pre_triage(transcript)
        pointed = pre_triage.pointers if pre_triage is not None else {}
        caps = pre_triage.caps if pre_triage is not None else {}
        last_ai = max((i for i, m in enumerate(transcript) if isinstance(m, AIMessage)), default=-1)
        results = [i for i, e in enumerate(entries) if e.result_text is not None]
        fresh = [i for i in results if i > last_ai and i not in pointed]
        seen = [i for i in results if i <= last_ai and i not in pointed]
        cap = self._budget.result_tokens

        def estimate(choice: dict[int, tuple[BaseMessage, int, bool]]) -> int:
            total = tool_tokens + sum(choice[i][1] for i in range(len(entries)))
            if pre_triage is not None:
                total += pre_triage.tokens
            return math.ceil(total * self.scale)

        choice = {i: (e.sent, e.tokens, False) for i, e in enumerate(entries)}
        unbudgeted = estimate(choice)
        for i, pointer in pointed.items():
            choice[i] = (*pointer, False)
        for i in fresh + seen:
            choice[i] = self._capped(entries[i], caps.get(i, cap))
        for i in seen:
            if i < self._summarized_before:
                choice[i] = (*self._summary(entries[i]), False)
        limit = self._budget.budget_tokens
        for i in seen:
            if estimate(choice) <= limit:
                break
            if i >= self._summarized_before:
                choice[i] = (*self._summary(entries[i]), False)
                self._summarized_before = i + 1
        # The newest results are what the model has not read yet: they shrink below their cap
        # only when the request would not fit the model's window at all.
        hard = self._budget.hard_limit_tokens
        if fresh and estimate(choice) > hard:
            others = estimate({**choice, **{i: (choice[i][0], 0, False) for i in fresh}})
            room = max(hard - others, 0) / self.scale
            shrunk = max(_FLOOR_TOKENS, int(room / len(fresh)) - _FENCE_TOKENS)
            for i in fresh:
                if shrunk < caps.get(i, cap):
                    choice[i] = self._capped(entries[i], shrunk)

        messages: list[BaseMessage] = []
        for i in range(len(entries)):
            messages.append(choice[i][0])
            if pre_triage is not None and i == pre_triage.after:
                messages.append(pre_triage.message)
        return PreparedTurn(
            messages=messages,
            tokens=estimate(choice),
            unbudgeted_tokens=unbudgeted,
            summarized=sum(1 for i in seen if i < self._summarized_before),
            cut=sum(1 for i in fresh + seen if choice[i][2]),
        )

    def calibrate(self, estimated: int, reported: int) -> None:
        """Learn how far off the character estimate is for this provider's tokenizer."""
        if estimated > 200 and reported > 0:
            self.scale = min(2.0, max(0.5, self.scale * reported / estimated))

    # --- sent forms, computed once per transcript message --------------------------------

    def _entry(self, index: int, message: BaseMessage) -> _Entry:
        if index < len(self._entries) and self._entries[index].source is message:
            return self._entries[index]
        entry = self._sent(message)
        del self._entries[index:]
        self._entries.append(entry)
        return entry

    def _sent(self, message: BaseMessage) -> _Entry:
        text = self._redact(content_text(message.content))
        if isinstance(message, ToolMessage):
            artifact = message.artifact if isinstance(message.artifact, dict) else {}
            status = str(artifact.get("status") or message.status or "success")
            tool = message.name or str(artifact.get("tool") or "tool")
            sent = self._tool_message(message, tool, status, text)
            return _Entry(
                source=message,
                sent=sent,
                tokens=_message_tokens(sent),
                result_text=text,
                tool=tool,
                status=status,
            )
        sent_message: BaseMessage
        if isinstance(message, AIMessage):
            sent_message = AIMessage(
                content=text,
                tool_calls=[
                    {**call, "args": self._redact_args(call["args"])} for call in message.tool_calls
                ],
                invalid_tool_calls=[
                    {**bad, "args": self._redact(bad.get("args") or "")}
                    for bad in message.invalid_tool_calls
                ],
            )
        elif isinstance(message, SystemMessage):
            sent_message = SystemMessage(text)
        else:
            sent_message = HumanMessage(text)
        return _Entry(source=message, sent=sent_message, tokens=_message_tokens(sent_message))

    def _tool_message(self, source: ToolMessage, tool: str, status: str, body: str) -> ToolMessage:
        # Most results succeed: only the others say their status.
        said = "" if status == "success" else f' status="{status}"'
        fenced = f'<tool_output tool="{tool}"{said}>\n{neutralize_fences(body)}\n</tool_output>'
        return ToolMessage(content=fenced, tool_call_id=source.tool_call_id, name=source.name)

    def _capped(self, entry: _Entry, cap_tokens: int) -> tuple[BaseMessage, int, bool]:
        assert entry.result_text is not None
        assert isinstance(entry.source, ToolMessage)
        if entry.tokens <= cap_tokens:
            return entry.sent, entry.tokens, False
        if cap_tokens not in entry.capped:
            text = _cut(entry.result_text, cap_tokens * _CHARS_PER_TOKEN, entry.how_to_see_more)
            sent = self._tool_message(entry.source, entry.tool, entry.status, text)
            entry.capped[cap_tokens] = (sent, _message_tokens(sent), True)
        return entry.capped[cap_tokens]

    def _summary(self, entry: _Entry) -> tuple[BaseMessage, int]:
        """A seen result, as what the analyzers read in it (or only its size, when they read
        nothing): the model read it whole once and can have it again."""
        assert entry.result_text is not None
        assert isinstance(entry.source, ToolMessage)
        if entry.summary is None:
            if entry.read is None:
                entry.read = self._read([ToolOutcome.from_message(entry.source)])
            read = entry.read[:_SUMMARY_FINDINGS]
            gist = self._redact("; ".join(_one_line(finding.statement) for finding in read))
            said = f", the analyzers read: {gist}" if gist else ""
            # The rules say the same call again returns a summarized result.
            summary = f"[seen earlier ({len(entry.result_text):,} chars){said}]"
            sent = self._tool_message(entry.source, entry.tool, entry.status, summary)
            entry.summary = (sent, _message_tokens(sent))
        return entry.summary

    def _redact_args(self, args: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(args, ensure_ascii=False, default=str)
        cleaned = self._redact(text)
        if cleaned == text:
            return args
        try:
            loaded = json.loads(cleaned)
        except ValueError:
            return {"arguments": cleaned}
        return loaded if isinstance(loaded, dict) else {"arguments": cleaned}

    # --- pre-triage --------------------------------------------------------------------

    def _pre_triage(self, transcript: Sequence[BaseMessage]) -> _PreTriage | None:
        """The findings message, placed after the answers to the first turn's tool calls, and
        pointers standing for the results it cites when that turn was the runbook's checks."""
        if self._findings is None:
            return None
        first = next((i for i, m in enumerate(transcript) if isinstance(m, AIMessage)), None)
        if first is None:
            return None
        last = first
        while last + 1 < len(transcript) and isinstance(transcript[last + 1], ToolMessage):
            last += 1
        if last == first:
            return None
        if self._findings_read_at != last:
            # Read once per complete batch: every later turn sends the same messages.
            self._findings_read_at = last
            planned = bool(transcript[first].response_metadata.get("pre_triage"))
            self._pre_triage_read = self._read_pre_triage(first, last, transcript, planned)
        return self._pre_triage_read

    def _read_pre_triage(
        self, first: int, last: int, transcript: Sequence[BaseMessage], planned: bool
    ) -> _PreTriage | None:
        batch = {
            i: ToolOutcome.from_message(m)
            for i, m in enumerate(transcript[first + 1 : last + 1], start=first + 1)
            if isinstance(m, ToolMessage)
        }
        read = self._read(list(batch.values()))
        lines: list[str] = []
        shown: list[Evidence] = []  # the findings the message states, strongest first
        for finding in read:
            line = f"- {_one_line(finding.statement)}" + (
                f" ({finding.tool})" if finding.tool else ""
            )
            if line not in lines and len(lines) < _MAX_FINDINGS:
                lines.append(line)
                shown.append(finding)
        if not lines:
            return None
        body = neutralize_fences(self._redact("\n".join(lines)))
        message = HumanMessage(
            "Pre-triage: what deterministic analyzers read in the runbook's first checks, "
            f"strongest first (untrusted data, to verify):\n<findings>\n{body}\n</findings>"
        )
        pointers: dict[int, tuple[BaseMessage, int]] = {}
        caps: dict[int, int] = {}
        for i, outcome in batch.items():
            # Read already, with the whole batch: a later summary needs no second reading.
            key = call_key(outcome.tool, outcome.arguments)
            self._entries[i].read = [
                f for f in read if f.tool and call_key(f.tool, f.arguments) == key
            ]
        if planned:
            # A check stands as a pointer only when a finding the message states cites it.
            cited = {call_key(f.tool, f.arguments) for f in shown if f.tool}
            for i, outcome in batch.items():
                entry = self._entries[i]
                if call_key(outcome.tool, outcome.arguments) in cited:
                    pointers[i] = self._pointer(entry)
                else:
                    caps[i] = min(self._budget.pre_triage_result_tokens, self._budget.result_tokens)
                    entry.how_to_see_more = _CALL_AGAIN
        return _PreTriage(last, message, _message_tokens(message), pointers, caps)

    def _pointer(self, entry: _Entry) -> tuple[BaseMessage, int]:
        assert entry.result_text is not None
        assert isinstance(entry.source, ToolMessage)
        text = f"[pre-triage check, {len(entry.result_text):,} chars: see the findings]"
        sent = self._tool_message(entry.source, entry.tool, entry.status, text)
        return sent, _message_tokens(sent)

    def _read(self, outcomes: Sequence[ToolOutcome]) -> list[Evidence]:
        return self._findings(outcomes) if self._findings is not None else []


@dataclass(frozen=True)
class _PreTriage:
    after: int  # the transcript index the findings message follows
    message: HumanMessage
    tokens: int
    pointers: dict[int, tuple[BaseMessage, int]]  # transcript index -> what stands for it
    caps: dict[int, int]  # transcript index -> the cap of a check no finding cites


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_FINDING_CHARS else line[: _MAX_FINDING_CHARS - 1] + "…"


def _message_tokens(message: BaseMessage) -> int:
    total = _TOKENS_PER_MESSAGE + estimate_tokens(content_text(message.content))
    if isinstance(message, AIMessage):
        for call in message.tool_calls:
            total += estimate_tokens(call["name"] + json.dumps(call["args"], ensure_ascii=False))
        for bad in message.invalid_tool_calls:
            total += estimate_tokens((bad.get("name") or "") + (bad.get("args") or ""))
    return total


_NARROW = (
    "Narrow the query to see them: one namespace or a label selector, grep or fewer tail_lines "
    "for logs, a shorter range or a larger step for metrics."
)
_CALL_AGAIN = "The same call again returns more of it; a narrower one, the part you need."


def _cut(text: str, keep_chars: int, how_to_see_more: str = "") -> str:
    """The head and the tail of `text` (errors tend to sit at the end of logs), and a note
    saying what was cut and how to see it."""
    note_room = 260
    keep = max(keep_chars - note_room, 200)
    if len(text) <= keep:
        return text
    head_chars = keep * 2 // 3
    tail_chars = keep - head_chars
    head = text[:head_chars]
    tail = text[len(text) - tail_chars :]
    # Prefer whole lines when there are lines to keep.
    if "\n" in head[head_chars // 2 :]:
        head = head[: head.rindex("\n")]
    if "\n" in tail[: tail_chars // 2]:
        tail = tail[tail.index("\n") + 1 :]
    cut = len(text) - len(head) - len(tail)
    return (
        f"{head}\n[cut: {cut:,} of {len(text):,} characters are not shown here. "
        f"{how_to_see_more or _NARROW}]\n{tail}"
    )
