"""The root-cause report every investigation ends with, and the category vocabulary it uses."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Category(StrEnum):
    """What kind of failure this is. Evaluation depends on it: extend only with care."""

    OOM_KILLED = "oom_killed"
    CRASH_LOOP_APP_ERROR = "crash_loop_app_error"
    BAD_CONFIG = "bad_config"
    IMAGE_PULL = "image_pull"
    UNSCHEDULABLE = "unschedulable"
    PROBE_FAILURE = "probe_failure"
    BAD_DEPLOY = "bad_deploy"
    DEPENDENCY_FAILURE = "dependency_failure"
    DNS_FAILURE = "dns_failure"
    NODE_NOT_READY = "node_not_ready"
    DISK_PRESSURE = "disk_pressure"
    PVC_PENDING = "pvc_pending"
    QUOTA_EXCEEDED = "quota_exceeded"
    CERT_EXPIRY = "cert_expiry"
    CPU_THROTTLING = "cpu_throttling"
    NO_ISSUE = "no_issue"
    UNKNOWN = "unknown"


# One line each, for prompts, help text and docs. When two fit, the most specific mechanism wins.
CATEGORY_MEANINGS: dict[Category, str] = {
    Category.OOM_KILLED: "a container is killed for exceeding its memory limit (or node memory)",
    Category.CRASH_LOOP_APP_ERROR: (
        "the application exits with an error by itself and nothing more specific explains it"
    ),
    Category.BAD_CONFIG: (
        "missing or wrong configuration: ConfigMap/Secret/key missing, wrong env var, "
        "invalid config file, wrong command or args"
    ),
    Category.IMAGE_PULL: "the image cannot be pulled (wrong name or tag, registry auth or outage)",
    Category.UNSCHEDULABLE: (
        "the pod cannot be placed (insufficient resources, taints, affinity, selectors)"
    ),
    Category.PROBE_FAILURE: (
        "liveness/readiness/startup probes fail while the process is up "
        "(wrong path or port, timeouts too short, slow start)"
    ),
    Category.BAD_DEPLOY: "a recent rollout introduced a regression (errors, latency)",
    Category.DEPENDENCY_FAILURE: (
        "something the service needs (database, cache, queue, another service, external API) "
        "is down, missing or failing"
    ),
    Category.DNS_FAILURE: "names do not resolve (cluster DNS down or misconfigured)",
    Category.NODE_NOT_READY: "a node is NotReady or unreachable",
    Category.DISK_PRESSURE: "node disk or ephemeral storage is exhausted (evictions)",
    Category.PVC_PENDING: "a volume cannot be bound or provisioned",
    Category.QUOTA_EXCEEDED: "a ResourceQuota or LimitRange rejects pods",
    Category.CERT_EXPIRY: "a TLS certificate expired or is about to",
    Category.CPU_THROTTLING: "the CPU limit throttles the container",
    Category.NO_ISSUE: "the alert reflects no current problem (resolved, stale, healthy)",
    Category.UNKNOWN: "the evidence does not establish a cause (say what was checked)",
}


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Evidence(BaseModel):
    """One fact, and the tool call that showed it."""

    model_config = ConfigDict(frozen=True)

    statement: str = Field(min_length=1)
    tool: str | None = Field(default=None, description="name of the tool whose result shows this")
    arguments: dict[str, Any] = Field(default_factory=dict)


class Diagnosis(BaseModel):
    """The part of the report a reasoner writes. An LLM is asked for exactly this shape."""

    summary: str = Field(min_length=1, description="one line")
    category: Category
    root_cause: str = Field(min_length=1, description="what is wrong and why, 1-3 sentences")
    confidence: Confidence
    evidence: list[Evidence] = Field(default_factory=list)
    remediation: list[str] = Field(default_factory=list, description="concrete steps or commands")
    next_checks: list[str] = Field(default_factory=list)


class RootCauseReport(Diagnosis):
    """A diagnosis plus where it came from: the end of every investigation.

    Rendered to Slack blocks, Markdown, the terminal and JSON from this one object.
    """

    runbook: str | None = Field(default=None, description="the runbook that guided it, if any")
    reasoner: str = Field(default="offline", description="which reasoner produced the answer")
    limit_hit: str | None = Field(
        default=None, description="the limit that ended the investigation early, if one did"
    )
    notes: list[str] = Field(
        default_factory=list, description="things a reader should know (fallbacks, unread runbooks)"
    )
