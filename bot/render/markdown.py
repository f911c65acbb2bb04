"""The root-cause report as Markdown, for mediums that show Markdown (issues, chat, files)."""

from __future__ import annotations

from agent.events import Stats
from agent.report import Evidence, RootCauseReport


def report_markdown(report: RootCauseReport, stats: Stats | None = None) -> str:
    lines = [
        f"## {report.summary}",
        "",
        f"**Category:** `{report.category.value}` · **Confidence:** {report.confidence.value}",
        "",
        "### Root cause",
        "",
        report.root_cause,
    ]
    if report.evidence:
        lines += ["", "### Evidence", ""]
        lines += [f"- {_evidence(item)}" for item in report.evidence]
    if report.remediation:
        lines += ["", "### Remediation", ""]
        lines += [f"{n}. {_step(step)}" for n, step in enumerate(report.remediation, 1)]
    if report.next_checks:
        lines += ["", "### Next checks", ""]
        lines += [f"- {check}" for check in report.next_checks]
    footer = [f"runbook `{report.runbook}`" if report.runbook else "no runbook"]
    footer.append(f"reasoner `{report.reasoner}`")
    if stats is not None:
        footer.append(
            f"{stats.iterations} iterations, {stats.tool_calls} tool calls, "
            f"{stats.duration_s:.1f} s"
        )
    if report.limit_hit:
        footer.append(f"stopped at the {report.limit_hit} limit")
    lines += ["", "_" + " · ".join(footer) + "_"]
    if report.notes:
        lines += ["", "**Notes**", ""]
        lines += [f"- {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def _evidence(item: Evidence) -> str:
    text = _escape(item.statement)
    if not item.tool:
        return text
    arguments = ", ".join(f"{k}={v}" for k, v in item.arguments.items())
    return f"{text} — `{item.tool}({_code(arguments)})`"


def _step(step: str) -> str:
    """Commands are shown as code; prose stays prose."""
    if step.startswith(("kubectl ", "crane ", "openssl ", "cmctl ")):
        return f"`{_code(step)}`"
    return _escape(step)


def _escape(text: str) -> str:
    # Untrusted text (log lines, messages) must not become Markdown structure or HTML.
    for char in ("\\", "`", "*", "_", "<", ">", "[", "]"):
        text = text.replace(char, "\\" + char)
    return text


def _code(text: str) -> str:
    return text.replace("`", "'")
