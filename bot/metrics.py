"""Prometheus metrics for `sre-agent serve`, in one registry the process creates and passes to
whoever records (the HTTP intake, the Slack poster, the event recorder) and to `/metrics`."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_DURATION_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.alerts_received = Counter(
            "sre_agent_alerts_received",
            "Alerts received, by source and what became of them",
            ["source", "outcome"],  # outcome: created | duplicate | resolved | invalid
            registry=r,
        )
        self.investigations = Gauge(
            "sre_agent_investigations",
            "Investigations in the store, by status",
            ["status"],
            registry=r,
        )
        self.investigations_by_category = Gauge(
            "sre_agent_investigations_by_category",
            "Finished investigations in the store, by the category of their root cause",
            ["category"],
            registry=r,
        )
        self.investigations_finished = Counter(
            "sre_agent_investigations_finished",
            "Investigations that ended, by category and the reasoner that wrote the report",
            ["category", "reasoner"],
            registry=r,
        )
        self.investigations_failed = Counter(
            "sre_agent_investigations_failed", "Investigations that failed", registry=r
        )
        self.investigation_duration = Histogram(
            "sre_agent_investigation_duration_seconds",
            "Wall time of finished investigations",
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.tool_calls = Counter(
            "sre_agent_tool_calls",
            "Tool calls, by MCP server and result status",
            ["server", "status"],
            registry=r,
        )
        self.tool_duration = Histogram(
            "sre_agent_tool_call_duration_seconds",
            "Tool call latency by MCP server",
            ["server"],
            registry=r,
        )
        self.llm_tokens = Counter(
            "sre_agent_llm_tokens",
            "LLM tokens, by reasoner and direction (input | output)",
            ["reasoner", "direction"],
            registry=r,
        )
        self.slack_api_errors = Counter(
            "sre_agent_slack_api_errors",
            "Slack Web API calls that failed, by method and error",
            ["method", "error"],
            registry=r,
        )
        self.http_requests = Counter(
            "sre_agent_http_requests",
            "HTTP requests answered, by route, method and status code",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_request_duration = Histogram(
            "sre_agent_http_request_duration_seconds",
            "Time to answer an HTTP request (event streams: until the stream starts)",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.queue_depth = Gauge(
            "sre_agent_queue_depth", "Investigations waiting for a free slot", registry=r
        )
        self.running = Gauge("sre_agent_running", "Investigations running now", registry=r)
