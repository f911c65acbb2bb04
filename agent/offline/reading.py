"""Small shared pieces of the analyzers: building a Finding that points at the call that showed
it, reading dicts defensively, and naming the objects findings are about."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agent.offline.findings import Finding
from agent.report import Category, Evidence
from agent.tooling import ToolOutcome

# Text read from tool results is cut to this many characters per field before any regex runs,
# so no pattern ever scans more than a bounded amount of untrusted text.
MAX_FIELD_CHARS = 2000


def found(
    outcome: ToolOutcome,
    kind: str,
    statement: str,
    category: Category | None = None,
    strength: float = 0.5,
    **facts: Any,
) -> Finding:
    """A finding whose evidence is `outcome`'s call; `symptom=True` among the keywords marks a
    symptom, every other keyword is a fact."""
    symptom = bool(facts.pop("symptom", False))
    return Finding(
        kind=kind,
        statement=statement,
        category=category,
        strength=max(0.0, min(1.0, strength)),
        symptom=symptom,
        evidence=Evidence(statement=statement, tool=outcome.tool, arguments=outcome.arguments),
        facts={key: value for key, value in facts.items() if value not in (None, "", [], {})},
    )


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[dict[str, Any]]:
    """The dicts in a list (anything else in it is skipped)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(value: Any, limit: int = MAX_FIELD_CHARS) -> str:
    return value[:limit] if isinstance(value, str) else ""


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# Event `object_kind` -> the fact key a finding about that object uses.
KIND_FACT: dict[str, str] = {
    "Pod": "pod",
    "Node": "node",
    "PersistentVolumeClaim": "pvc",
    "Deployment": "deployment",
    "ReplicaSet": "replicaset",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
    "Job": "job",
    "CronJob": "cronjob",
    "Service": "service",
    "HorizontalPodAutoscaler": "hpa",
}


def quoted(names: Iterable[str], limit: int = 4) -> str:
    """`a, b and 2 more`."""
    listed = [str(n) for n in names]
    if len(listed) > limit:
        return ", ".join(listed[:limit]) + f" and {len(listed) - limit} more"
    return ", ".join(listed)


def first(mapping_: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = mapping_.get(key)
        if value not in (None, ""):
            return value
    return None
