"""Small builders shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent.alert import Alert, AlertLinks, Severity
from agent.events import Stats
from agent.report import Category, Confidence, Evidence, RootCauseReport
from agent.store import Origin, OriginKind

CLI = Origin(kind=OriginKind.CLI)


def make_alert(key: str = "fp-checkout-crashloop", **overrides: Any) -> Alert:
    fields: dict[str, Any] = {
        "source": "alertmanager",
        "dedup_key": key,
        "title": "KubePodCrashLooping shop/checkout-6c9f7b-x2k4q",
        "severity": Severity.CRITICAL,
        "labels": {
            "alertname": "KubePodCrashLooping",
            "namespace": "shop",
            "pod": "checkout-6c9f7b-x2k4q",
            "container": "app",
        },
        "annotations": {"summary": "checkout restarts", "runbook_url": "https://r.example/x"},
        "starts_at": datetime(2025, 6, 1, 11, 45, 3, 123456, tzinfo=UTC),
        "links": AlertLinks(generator="http://prometheus.example/graph?g0.expr=up"),
        "raw": {"fingerprint": key, "values": [1, 2.5, None, {"nested": True}]},
    }
    fields.update(overrides)
    return Alert(**fields)


def make_report(**overrides: Any) -> RootCauseReport:
    fields: dict[str, Any] = {
        "summary": "checkout is OOMKilled",
        "category": Category.OOM_KILLED,
        "root_cause": "The app container exceeds its 256Mi memory limit and is OOMKilled.",
        "confidence": Confidence.HIGH,
        "evidence": [
            Evidence(
                statement="last state OOMKilled, exit 137",
                tool="kubernetes_get_pod",
                arguments={"name": "checkout-6c9f7b-x2k4q", "namespace": "shop"},
            )
        ],
        "remediation": ["kubectl -n shop set resources deploy/checkout --limits=memory=512Mi"],
        "next_checks": ["watch memory after the change"],
        "runbook": "KubePodCrashLooping",
        "reasoner": "offline",
    }
    fields.update(overrides)
    return RootCauseReport(**fields)


STATS = Stats(iterations=2, tool_calls=3, duration_s=1.25)
