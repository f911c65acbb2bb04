"""Investigations on a terminal: live progress while it runs (iterations, each tool call with its
arguments, status and timing, the reasoner's words, notes), then the report. Plain text; ANSI
colour only when asked (the commands ask when stdout is a TTY)."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass, field
from typing import Any, TextIO

from agent.events import (
    Answered,
    Event,
    Failed,
    Finished,
    IterationStarted,
    Note,
    Queued,
    Reasoning,
    Started,
    Stats,
    ToolCalled,
    ToolFinished,
)
from agent.report import Confidence, RootCauseReport
from agent.tooling import ToolStatus

_CODES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "cyan": "36",
}
_CONFIDENCE_COLOUR = {Confidence.HIGH: "green", Confidence.MEDIUM: "yellow", Confidence.LOW: "red"}
_MAX_ARGUMENT_CHARS = 120


@dataclass
class Style:
    color: bool = False
    width: int = field(
        default_factory=lambda: min(110, shutil.get_terminal_size((100, 24)).columns)
    )

    def paint(self, text: str, *names: str) -> str:
        if not self.color or not names:
            return text
        codes = ";".join(_CODES[name] for name in names)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def wrap(self, text: str, indent: str, first: str | None = None) -> str:
        return textwrap.fill(
            " ".join(text.split()),
            width=max(40, self.width),
            initial_indent=first if first is not None else indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )


class TerminalRenderer:
    """Writes one investigation's events as they arrive."""

    def __init__(self, out: TextIO, *, color: bool = False) -> None:
        self.out = out
        self.style = Style(color=color)
        self._calls: dict[str, ToolCalled] = {}

    def event(self, event: Event) -> None:
        line = self._line(event)
        if line is not None:
            self.out.write(line + "\n")
            self.out.flush()

    def _line(self, event: Event) -> str | None:
        paint = self.style.paint
        if isinstance(event, Queued):
            return paint(f"queued: {event.ahead} ahead, {event.running} running", "dim")
        if isinstance(event, Started):
            target = ", ".join(
                f"{k}={v}" for k, v in event.alert.kubernetes.model_dump().items() if v
            )
            header = f"Investigating {event.alert.name}" + (f" ({target})" if target else "")
            detail = f"runbook {event.runbook or '-'} · reasoner {event.reasoner}"
            return paint(header, "bold") + "\n" + paint(detail, "dim")
        if isinstance(event, IterationStarted):
            return paint(f"── iteration {event.iteration}/{event.max_iterations}", "blue", "bold")
        if isinstance(event, Reasoning):
            return self.style.wrap(event.text, "    ", first=paint("  > ", "cyan"))
        if isinstance(event, ToolCalled):
            self._calls[event.call_id] = event
            return None
        if isinstance(event, ToolFinished):
            return self._tool_line(event)
        if isinstance(event, Note):
            return self.style.wrap(event.text, "    ", first=paint("  note: ", "yellow"))
        if isinstance(event, Finished):
            return "\n" + render_report(event.report, event.stats, style=self.style)
        if isinstance(event, Answered):
            return "\n" + event.answer
        if isinstance(event, Failed):
            return paint(f"investigation failed: {event.error}", "red", "bold")
        return None

    def _tool_line(self, event: ToolFinished) -> str:
        paint = self.style.paint
        called = self._calls.get(event.call_id)
        arguments = describe_arguments(called.arguments if called else {})
        ok = event.status in (ToolStatus.SUCCESS, ToolStatus.NO_DATA)
        mark = paint("✓", "green") if ok else paint("✗", "red")
        timing = paint(f"{event.duration_ms:.0f} ms", "dim")
        line = f"  {mark} {event.tool}({arguments}) {timing}"
        if event.status is ToolStatus.NO_DATA:
            line += paint(" no data", "dim")
        elif not ok:
            first = (event.output.strip().splitlines() or [""])[0][:200]
            line += "\n" + paint(f"      {event.status.value}: {first}", "red")
        return line


def describe_arguments(arguments: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in arguments.items())
    return text if len(text) <= _MAX_ARGUMENT_CHARS else text[: _MAX_ARGUMENT_CHARS - 3] + "..."


def render_report(
    report: RootCauseReport, stats: Stats | None = None, *, style: Style | None = None
) -> str:
    style = style or Style()
    paint = style.paint
    confidence = paint(report.confidence.value, _CONFIDENCE_COLOUR[report.confidence], "bold")
    lines = [
        paint("━━ Root cause analysis ", "bold") + paint("━" * 30, "dim"),
        f"{paint('Category:', 'bold')} {paint(report.category.value, 'bold')}   "
        f"{paint('Confidence:', 'bold')} {confidence}",
        style.wrap(report.summary, "         ", first=paint("Summary: ", "bold")),
        "",
        paint("Root cause", "bold"),
        style.wrap(report.root_cause, "  "),
    ]
    if report.evidence:
        lines += ["", paint("Evidence", "bold")]
        for item in report.evidence:
            lines.append(style.wrap(item.statement, "    ", first="  • "))
            if item.tool:
                lines.append(
                    paint(f"    ({item.tool}({describe_arguments(item.arguments)}))", "dim")
                )
    if report.remediation:
        lines += ["", paint("Remediation", "bold")]
        for number, step in enumerate(report.remediation, 1):
            lines.append(style.wrap(step, "     ", first=f"  {number}. "))
    if report.next_checks:
        lines += ["", paint("Next checks", "bold")]
        lines += [style.wrap(check, "    ", first="  - ") for check in report.next_checks]
    footer = [
        f"runbook {report.runbook}" if report.runbook else "no runbook",
        f"reasoner {report.reasoner}",
    ]
    if stats is not None:
        footer.append(
            f"{stats.iterations} iterations, {stats.tool_calls} tool calls, "
            f"{stats.duration_s:.1f} s"
        )
    if report.limit_hit:
        footer.append(f"stopped at the {report.limit_hit} limit")
    lines += ["", paint(" · ".join(footer), "dim")]
    if report.notes:
        lines += [paint("Notes", "bold")]
        lines += [style.wrap(note, "    ", first="  - ") for note in report.notes]
    return "\n".join(lines)
