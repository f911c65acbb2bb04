"""Block Kit for one investigation's thread: the status line updated in place, one reply per
iteration (reasoning, tool calls with arguments, short results; long ones as files), the
root-cause report with feedback buttons, follow-up answers, and a failure notice.

Everything that came from outside the bot (alert text, tool output, what a model wrote) goes
through `bot.slack.text` (redacted, escaped) here, and only here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.alert import Alert, Severity
from agent.events import Stats
from agent.report import Category, Evidence, RootCauseReport
from agent.tooling import ToolStatus
from bot.slack.render.kit import (
    Attachment,
    Block,
    Post,
    actions,
    button,
    context,
    header,
    sections,
)
from bot.slack.text import clip, code_block, first_lines, inline_code, link, untrusted
from mcp_bridge.redaction import redact

FEEDBACK_UP = "rca_feedback_up"
FEEDBACK_DOWN = "rca_feedback_down"

INLINE_RESULT_LINES = 6
INLINE_RESULT_CHARS = 500
REASONING_CHARS = 400

SEVERITY_EMOJI = {
    Severity.CRITICAL: ":red_circle:",
    Severity.WARNING: ":large_orange_circle:",
    Severity.INFO: ":large_blue_circle:",
}
STATUS_EMOJI = {
    ToolStatus.SUCCESS: ":white_check_mark:",
    ToolStatus.NO_DATA: ":white_circle:",
    ToolStatus.ERROR: ":x:",
    ToolStatus.REFUSED: ":no_entry:",
}
_ACRONYMS = {"oom": "OOM", "dns": "DNS", "pvc": "PVC", "cpu": "CPU"}


def category_label(category: Category) -> str:
    words = [_ACRONYMS.get(word, word) for word in category.value.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# --- the status line ---------------------------------------------------------------------------


@dataclass
class StatusView:
    """What the status message says; the thread renderer keeps it current."""

    title: str
    severity: Severity = Severity.WARNING
    phase: str = "starting"  # starting | queued | running | finished | failed
    iteration: int = 0
    max_iterations: int = 0
    tool_calls: int = 0
    elapsed_s: float = 0.0
    runbook: str | None = None
    reasoner: str | None = None
    ahead: int = 0
    running: int = 0
    concurrency: int = 0
    error: str | None = None
    category: Category | None = None
    attempt: int = 1


def status_post(view: StatusView) -> Post:
    title = untrusted(clip(view.title, 150))
    counts = f"{_plural(view.tool_calls, 'tool call')} · {duration(view.elapsed_s)}"
    if view.phase == "starting":
        line = ":mag: *Starting* the investigation…"
    elif view.phase == "queued":
        line = (
            f":hourglass_flowing_sand: *Queued* — {_plural(view.ahead, 'investigation')} ahead; "
            f"{view.running} of {view.concurrency} slots busy. I start as soon as one frees up."
        )
    elif view.phase == "running":
        step = f"iteration {view.iteration}/{view.max_iterations}" if view.iteration else "starting"
        line = f":mag: *Investigating* — {step} · {counts}"
    elif view.phase == "finished":
        category = f" — {category_label(view.category)}" if view.category else ""
        line = (
            f":white_check_mark: *Done*{category} · {_plural(view.iteration, 'iteration')} · "
            f"{counts}. The report is the last message in this thread."
        )
    else:
        reason = untrusted(clip(view.error or "unknown error", 300))
        line = f":warning: *Investigation failed* · {counts}\n{reason}"
    details = [f"{SEVERITY_EMOJI[view.severity]} {title}"]
    if view.runbook:
        details.append(f"runbook `{untrusted(view.runbook)}`")
    if view.reasoner:
        details.append(f"reasoner `{untrusted(view.reasoner)}`")
    if view.attempt > 1:
        details.append(f"attempt {view.attempt}")
    blocks = [*sections(line), context(" · ".join(details))]
    return Post(text=_plain(line), blocks=blocks)


# --- one iteration -----------------------------------------------------------------------------


@dataclass
class CallView:
    call_id: str
    tool: str
    arguments: dict[str, Any]
    status: ToolStatus | None = None
    output: str = ""
    duration_ms: float = 0.0
    truncated: bool = False


@dataclass
class IterationView:
    number: int
    max_iterations: int
    reasoning: list[str] = field(default_factory=list)
    calls: list[CallView] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(call.status is not None for call in self.calls)

    @property
    def empty(self) -> bool:
        return not self.calls and not any(t.strip() for t in self.reasoning) and not self.notes


def arguments_text(arguments: dict[str, Any], *, limit: int = 300) -> str:
    """`key=value` pairs, each value as inline code; long values cut."""
    parts = []
    for key, value in arguments.items():
        shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        parts.append(f"{untrusted(str(key))}={inline_code(clip(shown, 120))}")
    return clip(" ".join(parts), limit) if parts else ""


def iteration_post(view: IterationView, *, follow_up: bool = False) -> Post:
    label = "Follow-up, step" if follow_up else "Iteration"
    of = "" if follow_up else f"/{view.max_iterations}"
    blocks: list[Block] = [context(f"*{label} {view.number}{of}*")]
    text_lines = [f"{label} {view.number}{of}"]
    for note in view.notes:
        blocks.append(context(f":information_source: {untrusted(clip(note, 500))}"))
    reasoning = " ".join(t.strip() for t in view.reasoning if t.strip())
    if reasoning:
        shown = untrusted(clip(reasoning, REASONING_CHARS))
        blocks.extend(sections(f":thought_balloon: {shown}"))
        text_lines.append(shown)
    long_outputs: list[CallView] = []
    for call in view.calls:
        blocks.extend(sections(_call_text(call)))
        text_lines.append(f"{call.tool} {_status_word(call.status)}")
        if _is_long(call.output):
            long_outputs.append(call)
    files: tuple[Attachment, ...] = ()
    if long_outputs:
        files = (_full_outputs(view, long_outputs, follow_up=follow_up),)
    return Post(text=_plain(" · ".join(text_lines)), blocks=blocks, files=files)


def _call_text(call: CallView) -> str:
    emoji = STATUS_EMOJI.get(call.status, ":hourglass:") if call.status else ":hourglass:"
    args = arguments_text(call.arguments)
    line = f"{emoji} `{untrusted(call.tool)}` {args}".rstrip()
    if call.status is not None:
        line += f" · {_status_word(call.status)} · {call.duration_ms:.0f} ms"
    output = readable_output(call.output)
    if not output:
        return line
    head, cut = first_lines(output, lines=INLINE_RESULT_LINES, chars=INLINE_RESULT_CHARS)
    shown = code_block(head)
    if cut or call.truncated:
        shown += "\n_…full output in the attached file_" if cut else "\n_…cut by the tool limit_"
    return f"{line}\n{shown}"


def _status_word(status: ToolStatus | None) -> str:
    return {
        ToolStatus.SUCCESS: "ok",
        ToolStatus.NO_DATA: "no data",
        ToolStatus.ERROR: "error",
        ToolStatus.REFUSED: "refused",
        None: "running",
    }[status]


def readable_output(output: str) -> str:
    """Tool output for people: JSON (what MCP tools return) indented, one field per line, so
    the first lines say something; anything else as it came."""
    text = output.strip()
    if text[:1] in ("{", "[") and len(text) < 2_000_000:
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return text
    return text


def _is_long(output: str) -> bool:
    shown = readable_output(output)
    _, cut = first_lines(shown, lines=INLINE_RESULT_LINES, chars=INLINE_RESULT_CHARS)
    return cut


def _full_outputs(view: IterationView, calls: list[CallView], *, follow_up: bool) -> Attachment:
    parts = []
    for call in calls:
        args = json.dumps(call.arguments, sort_keys=True)
        parts.append(f"### {call.tool} {args}\n\n{redact(readable_output(call.output))}\n")
    stem = "followup-step" if follow_up else "iteration"
    return Attachment(
        filename=f"{stem}-{view.number}-results.txt",
        title=f"{'Follow-up step' if follow_up else 'Iteration'} {view.number}: full tool output",
        content="\n".join(parts),
    )


# --- the report --------------------------------------------------------------------------------


def report_post(
    report: RootCauseReport,
    *,
    alert: Alert | None,
    stats: Stats | None,
    investigation_id: str,
    shown_notes: Iterable[str] = (),
) -> Post:
    """The root-cause report. Notes already shown in the thread (`shown_notes`) are not
    repeated."""
    severity = alert.severity if alert is not None else Severity.WARNING
    title = f"{SEVERITY_EMOJI[severity]} {severity.value.capitalize()} · "
    title += category_label(report.category)
    blocks: list[Block] = [header(title)]
    summary = untrusted(report.summary)
    blocks.extend(sections(f"*{summary}*"))
    blocks.extend(sections(f"*Root cause*\n{untrusted(report.root_cause)}"))
    facts = [
        f"*Confidence:* {report.confidence.value}",
        f"*Category:* `{report.category.value}`",
    ]
    if report.runbook:
        facts.append(f"*Runbook:* `{untrusted(report.runbook)}`")
    facts.append(f"*Reasoner:* {untrusted(report.reasoner)}")
    blocks.append(context(*facts))
    if report.evidence:
        lines = [_evidence_line(item) for item in report.evidence]
        blocks.extend(sections("*Evidence*\n" + "\n".join(lines)))
    if report.remediation:
        steps = [f"{n}. {untrusted(step)}" for n, step in enumerate(report.remediation, 1)]
        blocks.extend(sections("*Remediation*\n" + "\n".join(steps)))
    if report.next_checks:
        checks = [f"• {untrusted(check)}" for check in report.next_checks]
        blocks.extend(sections("*Next checks*\n" + "\n".join(checks)))
    links = _alert_links(alert)
    if links:
        blocks.append(context(" · ".join(links)))
    remarks = []
    if report.limit_hit:
        remarks.append(f":stopwatch: Ended early: the {untrusted(report.limit_hit)} limit was hit.")
    already = set(shown_notes)
    remarks.extend(
        f":information_source: {untrusted(clip(note, 300))}"
        for note in report.notes
        if note not in already
    )
    if remarks:
        blocks.append(context(*remarks))
    if stats is not None:
        blocks.append(
            context(
                f"{_plural(stats.iterations, 'iteration')} · "
                f"{_plural(stats.tool_calls, 'tool call')} · {duration(stats.duration_s)} · "
                f"`{investigation_id}`"
            )
        )
    blocks.append(
        actions(
            "rca_feedback",
            button(":thumbsup: Helpful", FEEDBACK_UP, investigation_id),
            button(":thumbsdown: Not helpful", FEEDBACK_DOWN, investigation_id),
        )
    )
    text = f"{category_label(report.category)}: {summary}"
    return Post(text=_plain(text), blocks=blocks)


def _evidence_line(item: Evidence) -> str:
    line = f"• {untrusted(item.statement)}"
    if item.tool:
        via = f"`{untrusted(item.tool)}`"
        args = arguments_text(item.arguments, limit=150)
        line += f" — _via_ {via}" + (f" {args}" if args else "")
    return line


def _alert_links(alert: Alert | None) -> list[str]:
    if alert is None:
        return []
    found = [
        link(alert.links.runbook or alert.annotations.get("runbook_url"), "Runbook"),
        link(alert.links.generator, "Alert query"),
        link(alert.links.dashboard, "Dashboard"),
        link(alert.links.silence, "Silence"),
        link(alert.links.source, "Alert source"),
    ]
    return [item for item in found if item]


# --- follow-ups and failures -------------------------------------------------------------------


def answer_post(question: str, answer: str, stats: Stats | None) -> Post:
    quoted = untrusted(clip(question.strip(), 300)).replace("\n", "\n>")
    body = untrusted(answer.strip()) or "_(no answer)_"
    blocks = [*sections(f">{quoted}\n{body}")]
    if stats is not None and stats.tool_calls:
        blocks.append(
            context(f"{_plural(stats.tool_calls, 'tool call')} · {duration(stats.duration_s)}")
        )
    return Post(text=_plain(body), blocks=blocks)


def failure_post(error: str) -> Post:
    reason = untrusted(clip(error, 500))
    return Post(
        text=_plain(f"Investigation failed: {reason}"),
        blocks=sections(f":warning: *Investigation failed*\n{reason}"),
    )


def note_post(text: str) -> Post:
    note = untrusted(clip(text, 1000))
    return Post(text=_plain(note), blocks=[context(f":information_source: {note}")])


def _plain(text: str) -> str:
    """The notification text: first line only, formatting characters left as they are."""
    return clip(text.split("\n", 1)[0], 300)
