"""The one normalized alert every source becomes. All of its text is untrusted input."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @classmethod
    def parse(cls, value: object) -> Severity:
        """Map the many spellings monitoring systems use onto three levels (warning if unsure)."""
        text = str(value or "").strip().lower()
        if text in _CRITICAL_WORDS:
            return cls.CRITICAL
        if text in _INFO_WORDS:
            return cls.INFO
        return cls.WARNING


_CRITICAL_WORDS = frozenset(
    {"critical", "crit", "page", "high", "error", "fatal", "emergency", "alert", "p1", "sev1", "p0"}
)
_INFO_WORDS = frozenset({"info", "informational", "low", "none", "notice", "debug", "ok", "p5"})


class AlertLinks(BaseModel):
    """Where a person can look next; any of them may be missing."""

    model_config = ConfigDict(frozen=True)

    generator: str | None = None
    dashboard: str | None = None
    silence: str | None = None
    runbook: str | None = None
    source: str | None = None


class KubernetesTarget(BaseModel):
    """Kubernetes hints read from an alert's labels (kube-prometheus-stack spellings)."""

    model_config = ConfigDict(frozen=True)

    cluster: str | None = None
    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    deployment: str | None = None
    statefulset: str | None = None
    daemonset: str | None = None
    job: str | None = None
    node: str | None = None
    persistentvolumeclaim: str | None = None
    service: str | None = None

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())


# Label names that carry each hint, most specific first. `exported_*` appear when Prometheus
# relabels a scraped label that collides with a target label.
_HINT_LABELS: dict[str, tuple[str, ...]] = {
    "cluster": ("cluster",),
    "namespace": ("namespace", "exported_namespace", "kubernetes_namespace"),
    "pod": ("pod", "exported_pod", "pod_name", "kubernetes_pod_name"),
    "container": ("container", "exported_container", "container_name"),
    "deployment": ("deployment", "exported_deployment"),
    "statefulset": ("statefulset",),
    "daemonset": ("daemonset",),
    "job": ("job_name",),
    "node": ("node", "exported_node", "kubernetes_node"),
    "persistentvolumeclaim": ("persistentvolumeclaim", "pvc"),
    "service": ("service", "exported_service"),
}


class Alert(BaseModel):
    """An alert from any source, normalized.

    `dedup_key` identifies "the same alert firing again" (a fingerprint or the source's own id).
    """

    model_config = ConfigDict(frozen=True)

    source: str = Field(
        description="alertmanager | grafana | generic | slack | text | scenario ..."
    )
    dedup_key: str = Field(min_length=1)
    status: AlertStatus = AlertStatus.FIRING
    title: str
    severity: Severity = Severity.WARNING
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    links: AlertLinks = Field(default_factory=AlertLinks)
    raw: Any = None

    @property
    def name(self) -> str:
        """The alert rule's name (`alertname`), or the title when the source has no rule name."""
        return self.labels.get("alertname") or self.title

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("message") or self.title

    @property
    def description(self) -> str:
        return self.annotations.get("description", "")

    @property
    def kubernetes(self) -> KubernetesTarget:
        hints: dict[str, str] = {}
        for field, names in _HINT_LABELS.items():
            for name in names:
                value = self.labels.get(name, "").strip()
                if value:
                    hints[field] = value
                    break
        return KubernetesTarget(**hints)


def fingerprint(labels: dict[str, str]) -> str:
    """A stable key for a label set, for sources that do not send their own fingerprint."""
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
