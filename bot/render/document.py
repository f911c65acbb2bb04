"""The `--json` document of one investigation, built from its events:
`{"alert", "status", "report", "iterations", "notes", "stats"}` (see ARCHITECTURE)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from agent.alert import Alert
from agent.events import (
    Answered,
    Event,
    Failed,
    Finished,
    IterationStarted,
    Note,
    Reasoning,
    ToolCalled,
    ToolFinished,
)


def iterations_of(events: Iterable[Event]) -> list[dict[str, Any]]:
    """One entry per iteration, in order: what the reasoner said, and each tool call with its
    result (`status`, `output`... null while the call is still running)."""
    iterations: dict[int, dict[str, Any]] = {}
    calls: dict[tuple[int, str], dict[str, Any]] = {}

    def iteration(number: int) -> dict[str, Any]:
        return iterations.setdefault(
            number, {"iteration": number, "reasoning": [], "tool_calls": []}
        )

    for event in events:
        if isinstance(event, IterationStarted):
            iteration(event.iteration)
        elif isinstance(event, Reasoning):
            iteration(event.iteration)["reasoning"].append(
                {"reasoner": event.reasoner, "text": event.text}
            )
        elif isinstance(event, ToolCalled):
            call: dict[str, Any] = {
                "call_id": event.call_id,
                "tool": event.tool,
                "arguments": event.arguments,
                "status": None,
                "duration_ms": None,
                "output": None,
                "truncated": False,
            }
            calls[(event.iteration, event.call_id)] = call
            iteration(event.iteration)["tool_calls"].append(call)
        elif isinstance(event, ToolFinished):
            finished = calls.get((event.iteration, event.call_id))
            if finished is None:  # a result without its call: still shown
                finished = {"call_id": event.call_id, "tool": event.tool, "arguments": {}}
                iteration(event.iteration)["tool_calls"].append(finished)
            finished.update(
                status=event.status.value,
                duration_ms=event.duration_ms,
                output=event.output,
                truncated=event.truncated,
            )
    return [iterations[n] for n in sorted(iterations)]


def investigation_document(
    alert: Alert, events: Sequence[Event], *, investigation_id: str | None = None
) -> dict[str, Any]:
    notes: list[str] = []
    status = "running"
    report: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None
    error: str | None = None
    answer: str | None = None

    for event in events:
        if isinstance(event, Note):
            notes.append(event.text)
        elif isinstance(event, Finished):
            status = "finished"
            report = event.report.model_dump(mode="json")
            stats = event.stats.model_dump(mode="json")
        elif isinstance(event, Answered):
            status = "answered"
            answer = event.answer
            stats = event.stats.model_dump(mode="json")
        elif isinstance(event, Failed):
            status = "failed"
            error = event.error
    document: dict[str, Any] = {
        "alert": alert.model_dump(mode="json", exclude={"raw"}),
        "status": status,
        "report": report,
        "iterations": iterations_of(events),
        "notes": notes,
        "stats": stats,
    }
    if investigation_id is not None:
        document["investigation_id"] = investigation_id
    if error is not None:
        document["error"] = error
    if answer is not None:
        document["answer"] = answer
    return document
