"""Turns the service's events into Prometheus metrics (tool calls by MCP server, durations, LLM
tokens, outcomes by category and reasoner) and into log lines (every tool call on
`sre_agent.mcp`, every ending on `sre_agent.app`), and reads the store's counts at scrape time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from agent.events import Answered, Event, Failed, Finished, Stats, ToolFinished
from agent.service import InvestigationService, Subscription
from agent.store import InvestigationStatus
from bot.engine import Engine
from bot.metrics import Metrics
from mcp_bridge.toolbox import Toolbox

log = logging.getLogger("sre_agent.app")
mcp_log = logging.getLogger("sre_agent.mcp")

# Tools no server offers (a name a model made up, `submit_report`) share one label value, so a
# model cannot grow the metric's label set without bound.
UNKNOWN_SERVER = "unknown"


def tool_servers(toolbox: Toolbox) -> dict[str, str]:
    """Which MCP server offers each tool, by the name the agent calls it."""
    return {entry.name: entry.server for entry in toolbox.catalog()}


class MetricsRecorder:
    """Records investigation events as metrics; `start(service)` subscribes to all of them."""

    def __init__(self, metrics: Metrics, servers: Mapping[str, str]) -> None:
        self._metrics = metrics
        self._servers = dict(servers)
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, service: InvestigationService) -> None:
        self._subscription = service.subscribe()
        self._task = asyncio.create_task(self._record_all(self._subscription), name="metrics")

    async def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def server_of(self, tool: str) -> str:
        return self._servers.get(tool, UNKNOWN_SERVER)

    def record(self, event: Event) -> None:
        metrics = self._metrics
        if isinstance(event, ToolFinished):
            server = self.server_of(event.tool)
            metrics.tool_calls.labels(server, event.status.value).inc()
            metrics.tool_duration.labels(server).observe(event.duration_ms / 1000)
        elif isinstance(event, Finished):
            report = event.report
            metrics.investigations_finished.labels(
                report.category.value, report.reasoner or UNKNOWN_SERVER
            ).inc()
            metrics.investigation_duration.observe(event.stats.duration_s)
            self._tokens(event.stats)
        elif isinstance(event, Answered):
            self._tokens(event.stats)
        elif isinstance(event, Failed):
            metrics.investigations_failed.inc()

    def _tokens(self, stats: Stats) -> None:
        for usage in stats.usage:
            if usage.input_tokens:
                self._metrics.llm_tokens.labels(usage.reasoner, "input").inc(usage.input_tokens)
            if usage.output_tokens:
                self._metrics.llm_tokens.labels(usage.reasoner, "output").inc(usage.output_tokens)

    def log(self, event: Event) -> None:
        """One line per tool call and per ending, with the investigation's id."""
        about = {"investigation_id": event.investigation_id}
        if isinstance(event, ToolFinished):
            mcp_log.info(
                "%s: %s in %.0f ms",
                event.tool,
                event.status.value,
                event.duration_ms,
                extra={
                    **about,
                    "tool": event.tool,
                    "server": self.server_of(event.tool),
                    "status": event.status.value,
                    "duration_ms": round(event.duration_ms, 1),
                    "iteration": event.iteration,
                    "truncated": event.truncated,
                },
            )
        elif isinstance(event, Finished):
            log.info(
                "finished: %s (%s confidence) by %s",
                event.report.category.value,
                event.report.confidence.value,
                event.report.reasoner,
                extra={
                    **about,
                    "category": event.report.category.value,
                    "iterations": event.stats.iterations,
                    "tool_calls": event.stats.tool_calls,
                    "duration_s": round(event.stats.duration_s, 2),
                },
            )
        elif isinstance(event, Failed):
            log.warning("failed: %s", event.error, extra=about)

    async def _record_all(self, subscription: Subscription) -> None:
        async for stored in subscription:
            try:
                self.record(stored.event)
                self.log(stored.event)
            except Exception:  # one event must never stop the recording of the next
                log.exception("could not record a %s event", stored.event.type)


async def refresh_store_gauges(engine: Engine, metrics: Metrics) -> None:
    """Set the gauges that count what is in the store (they survive restarts, counters do not)."""
    by_status = await engine.store.counts_by_status()
    for status, count in by_status.items():
        metrics.investigations.labels(status.value).set(count)
    for category, count in (await engine.store.counts_by_category()).items():
        metrics.investigations_by_category.labels(category.value).set(count)
    metrics.queue_depth.set(by_status[InvestigationStatus.QUEUED])
    metrics.running.set(engine.service.running)
