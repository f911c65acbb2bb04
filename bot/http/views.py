"""What the HTTP API shows of an investigation: its record as JSON, and from its events the
progress and the iterations of the current run (what the reasoner thought, which tools it called
and what came back)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.events import (
    Finished,
    IterationStarted,
    Note,
    Started,
    ToolFinished,
)
from agent.store import Admission, InvestigationRecord, StoredEvent
from bot.render.document import iterations_of


def admission_json(admission: Admission) -> dict[str, Any]:
    record = admission.record
    return {
        "id": record.id,
        "status": record.status.value,
        "duplicate": not admission.created,
        "title": record.title,
    }


def summary_json(record: InvestigationRecord) -> dict[str, Any]:
    """One row of the list: enough to pick an investigation and see how it ended."""
    return {
        "id": record.id,
        "status": record.status.value,
        "alert": _alert_json(record),
        "title": record.title,
        "severity": record.severity.value,
        "source": record.source,
        "origin": record.origin.kind.value,
        "created_at": record.created_at.isoformat(),
        "finished_at": _iso(record.finished_at),
        "attempts": record.attempts,
        "category": record.category.value if record.category else None,
        "confidence": record.confidence.value if record.confidence else None,
        "summary": record.report.summary if record.report else None,
    }


def detail_json(record: InvestigationRecord, events: Sequence[StoredEvent]) -> dict[str, Any]:
    """Everything about one investigation, with its progress and iterations."""
    current = [stored for stored in events if stored.attempt == record.attempts]
    return {
        **summary_json(record),
        "dedup_key": record.dedup_key,
        "origin": record.origin.model_dump(mode="json"),
        "thread": record.thread.model_dump(mode="json") if record.thread else None,
        "updated_at": record.updated_at.isoformat(),
        "started_at": _iso(record.started_at),
        "runbook": record.runbook,
        "reasoner": record.reasoner,
        "error": record.error,
        "report": record.report.model_dump(mode="json") if record.report else None,
        "stats": record.stats.model_dump(mode="json") if record.stats else None,
        "progress": progress_json(record, current),
        "iterations": iterations_of(stored.event for stored in current),
        "notes": [s.event.text for s in events if isinstance(s.event, Note)],
    }


def progress_json(record: InvestigationRecord, events: Sequence[StoredEvent]) -> dict[str, Any]:
    iteration = 0
    max_iterations: int | None = None
    tool_calls = 0
    for stored in events:
        event = stored.event
        if isinstance(event, Started):
            max_iterations = event.max_iterations
        elif isinstance(event, IterationStarted):
            iteration, max_iterations = event.iteration, event.max_iterations
        elif isinstance(event, ToolFinished):
            tool_calls += 1
        elif isinstance(event, Finished):
            iteration = event.stats.iterations
    last = events[-1] if events else None
    return {
        "iteration": iteration,
        "max_iterations": max_iterations,
        "tool_calls": tool_calls,
        "events": record.last_event_seq,
        "last_event": last.event.type if last else None,
        "last_event_at": last.event.at.isoformat() if last else None,
    }


def _alert_json(record: InvestigationRecord) -> dict[str, Any]:
    # The raw payload stays out: it can be large, and everything useful is normalized here.
    return record.alert.model_dump(mode="json", exclude={"raw"})


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None
