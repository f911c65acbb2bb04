"""Renderers show the same report in each medium: the terminal (colour only when asked), Markdown
(untrusted text cannot become markup), and the `--json` document built from events."""

from __future__ import annotations

import io

from agent.events import (
    Finished,
    IterationStarted,
    Note,
    Reasoning,
    Stats,
    ToolCalled,
    ToolFinished,
)
from agent.report import Category, Confidence, Evidence, RootCauseReport
from agent.tooling import ToolStatus
from bot.render.document import investigation_document
from bot.render.markdown import report_markdown
from bot.render.terminal import TerminalRenderer, render_report
from tests.agent.offline_helpers import alert

REPORT = RootCauseReport(
    summary="app OOMKilled at its 512Mi memory limit",
    category=Category.OOM_KILLED,
    root_cause="The container app is OOMKilled: it exceeds its memory limit of 512Mi.",
    confidence=Confidence.HIGH,
    evidence=[
        Evidence(
            statement="Container app was OOMKilled <!channel> *now*",
            tool="kubernetes_get_pod",
            arguments={"name": "checkout-1", "namespace": "shop"},
        )
    ],
    remediation=["kubectl -n shop set resources deployment/checkout -c app --limits=memory=768Mi"],
    next_checks=["Tell a leak from load."],
    runbook="KubePodCrashLooping",
)
STATS = Stats(iterations=2, tool_calls=5, duration_s=0.8)


def events() -> list[object]:
    def at(event: type, **fields: object) -> object:
        return event(investigation_id="i", **fields)

    return [
        at(IterationStarted, iteration=1, max_iterations=8),
        at(Reasoning, iteration=1, text="Following the runbook.", reasoner="offline"),
        at(
            ToolCalled, iteration=1, call_id="a", tool="kubernetes_get_pod", arguments={"name": "p"}
        ),
        at(
            ToolCalled, iteration=1, call_id="b", tool="prometheus_query", arguments={"query": "up"}
        ),
        at(
            ToolFinished,
            iteration=1,
            call_id="b",
            tool="prometheus_query",
            status=ToolStatus.ERROR,
            output="Prometheus is not configured",
            duration_ms=3.0,
        ),
        at(
            ToolFinished,
            iteration=1,
            call_id="a",
            tool="kubernetes_get_pod",
            status=ToolStatus.SUCCESS,
            output="{}",
            duration_ms=12.4,
        ),
        at(Note, text="Step skipped."),
        at(Finished, report=REPORT, stats=STATS),
    ]


def test_terminal_progress_shows_each_call_with_timing_and_status() -> None:
    out = io.StringIO()
    renderer = TerminalRenderer(out)
    for event in events():
        renderer.event(event)  # type: ignore[arg-type]
    text = out.getvalue()
    assert "── iteration 1/8" in text
    assert "✓ kubernetes_get_pod(name=p) 12 ms" in text
    assert "✗ prometheus_query(query=up) 3 ms" in text
    assert "error: Prometheus is not configured" in text
    assert "note: Step skipped." in text
    assert "Category: oom_killed" in text
    assert "\x1b[" not in text


def test_terminal_colour_only_when_asked() -> None:
    assert "\x1b[" not in render_report(REPORT, STATS)
    out = io.StringIO()
    coloured = TerminalRenderer(out, color=True)
    coloured.event(events()[-1])  # type: ignore[arg-type]
    assert "\x1b[" in out.getvalue()


def test_markdown_keeps_untrusted_text_as_text_and_commands_as_code() -> None:
    markdown = report_markdown(REPORT, STATS)
    assert "## app OOMKilled at its 512Mi memory limit" in markdown
    assert "\\<!channel\\> \\*now\\*" in markdown
    assert "1. `kubectl -n shop set resources deployment/checkout" in markdown
    assert "2 iterations, 5 tool calls, 0.8 s" in markdown


def test_json_document_groups_calls_by_iteration_in_the_order_they_were_asked() -> None:
    document = investigation_document(alert(namespace="shop"), events())  # type: ignore[arg-type]
    assert document["status"] == "finished"
    (iteration,) = document["iterations"]
    assert [c["tool"] for c in iteration["tool_calls"]] == [
        "kubernetes_get_pod",
        "prometheus_query",
    ]
    assert iteration["tool_calls"][1]["status"] == "error"
    assert document["report"]["category"] == "oom_killed"
    assert document["notes"] == ["Step skipped."]
