"""Deployments read as findings: replicas short of desired, stuck rollouts, quota rejections, and
the last rollout: when it happened relative to the alert and what it changed."""

from __future__ import annotations

import re
from typing import Any

from agent.offline.events import event_findings
from agent.offline.findings import Finding
from agent.offline.reading import found, integer, items, mapping, quoted, text
from agent.offline.scene import Scene, parse_time, quantity
from agent.report import Category
from agent.tooling import ToolOutcome

# A rollout counts as "shortly before" the alert when it happened within this window before the
# alert started (or just after: alert start times are rounded by evaluation intervals).
RECENT_ROLLOUT_MIN = 180.0
AFTER_ALERT_SLACK_MIN = 5.0

# What a pod template change is about, read from `FieldChange.field`. First match wins.
_CHANGE_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"\.image$", "image"),
        (r"\.(?:limits|requests)\.memory$", "memory"),
        (r"\.(?:limits|requests)\.cpu$", "cpu"),
        (r"_probe$", "probe"),
        (r"\.env\.|\.envFrom\.|\.args$|\.command$|^volumes\.|\.volume_mounts$", "config"),
        (r"^annotations\.kubectl\.kubernetes\.io/restartedAt$", "restart"),
        (r"^(?:nodeSelector|tolerations|affinity|serviceAccountName)", "placement"),
        (r"\.ports$", "ports"),
    )
)
_CONTAINER = re.compile(r"^(?:init)?[cC]ontainers\[(?P<name>[\w.-]{1,63})\]")


def classify_change(field: str) -> str:
    for pattern, kind in _CHANGE_KINDS:
        if pattern.search(field):
            return kind
    return "other"


def describe_change(change: dict[str, Any]) -> str:
    field = text(change.get("field"), 200)
    before, after = change.get("before"), change.get("after")
    if before is None and after is not None:
        return f"{field} added ({text(after, 200)})"
    if after is None and before is not None:
        return f"{field} removed (was {text(before, 200)})"
    return f"{field} {text(before, 200)} -> {text(after, 200)}"


def deployment_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`get_deployment` (DeploymentDetail)."""
    deployment = mapping(outcome.structured)
    name = text(deployment.get("name"), 253)
    if not name:
        return []
    namespace = text(deployment.get("namespace"), 63)
    label = f"Deployment {namespace}/{name}"
    replicas = mapping(deployment.get("replicas"))
    desired = integer(replicas.get("desired")) or 0
    ready = integer(replicas.get("ready")) or 0
    available = integer(replicas.get("available")) or 0
    unavailable = integer(replicas.get("unavailable")) or 0
    base: dict[str, Any] = {
        "namespace": namespace,
        "deployment": name,
        "containers": [_container(c) for c in items(deployment.get("containers"))],
        "revision": integer(deployment.get("revision")),
    }
    findings: list[Finding] = [
        found(
            outcome,
            "deployment_context",
            f"{label}: {ready}/{desired} ready, {available} available, revision "
            f"{deployment.get('revision', '?')}",
            None,
            0.0,
            desired=desired,
            ready=ready,
            **base,
        )
    ]
    stuck = False
    for condition in items(deployment.get("conditions")):
        kind, status = condition.get("type"), condition.get("status")
        reason = text(condition.get("reason"), 80)
        message = " ".join(text(condition.get("message"), 400).split())
        if kind == "Progressing" and status == "False":
            stuck = True
            findings.append(
                found(
                    outcome,
                    "rollout_stuck",
                    f"{label}: the rollout is not progressing ({reason}: {message})",
                    None,
                    0.0,
                    symptom=True,
                    **base,
                )
            )
        elif kind == "ReplicaFailure" and status == "True":
            quota = "exceeded quota" in message or "forbidden" in message.lower()
            findings.append(
                found(
                    outcome,
                    "replica_failure",
                    f"{label} cannot create pods ({reason}): {message}",
                    Category.QUOTA_EXCEEDED if quota else None,
                    1.0 if "exceeded quota" in message else (0.7 if quota else 0.0),
                    symptom=True,
                    message=message,
                    **base,
                )
            )
    if unavailable or ready < desired:
        findings.append(
            found(
                outcome,
                "deployment_unavailable",
                f"{label} has {ready}/{desired} replicas ready ({unavailable} unavailable)",
                None,
                0.0,
                symptom=True,
                **base,
            )
        )
    findings.extend(_rollout(outcome, deployment, base, scene))
    findings.extend(event_findings(outcome, deployment.get("events"), scene))
    if not stuck and desired > 0 and ready >= desired and not unavailable:
        findings.append(
            found(
                outcome,
                "deployment_healthy",
                f"{label} has all {desired} replicas ready and available",
                Category.NO_ISSUE,
                0.6,
                **base,
            )
        )
    return findings


def _container(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": text(spec.get("name"), 63),
        "image": text(spec.get("image"), 300),
        "limits": mapping(spec.get("limits")),
        "requests": mapping(spec.get("requests")),
    }


def _rollout(
    outcome: ToolOutcome, deployment: dict[str, Any], base: dict[str, Any], scene: Scene
) -> list[Finding]:
    label = f"Deployment {base['namespace']}/{base['deployment']}"
    history = items(deployment.get("rollout_history"))
    change = mapping(deployment.get("last_change"))
    findings: list[Finding] = []
    if not change:
        if history:
            findings.append(
                found(
                    outcome,
                    "single_revision",
                    f"{label} has a single revision: no rollout to compare",
                    None,
                    0.0,
                    **base,
                )
            )
        return findings
    changed_at = parse_time(change.get("changed_at"))
    changes = items(change.get("changes"))
    kinds = sorted({classify_change(text(c.get("field"), 200)) for c in changes})
    described = [describe_change(c) for c in changes[:8]]
    facts: dict[str, Any] = {
        **base,
        "from_revision": integer(change.get("from_revision")),
        "to_revision": integer(change.get("to_revision")),
        "from_replicaset": text(change.get("from_replicaset"), 253),
        "to_replicaset": text(change.get("to_replicaset"), 253),
        "changes": changes[:20],
        "change_kinds": kinds,
    }
    facts.update(_resource_changes(changes))
    revisions = f"revision {facts['to_revision']} (from {facts['from_revision']})"
    what = "; ".join(described) if described else "no pod template difference"
    if changed_at is None:
        findings.append(
            found(
                outcome,
                "rollout",
                f"{label} last rolled out {revisions}: {what}",
                None,
                0.0,
                **facts,
            )
        )
        return findings
    before_alert = scene.minutes_before_alert(changed_at)
    facts["changed_at"] = changed_at.isoformat()
    facts["minutes_before_alert"] = round(before_alert, 1)
    when = f"{scene.ago(changed_at)} ago"
    recent = -AFTER_ALERT_SLACK_MIN <= before_alert <= RECENT_ROLLOUT_MIN
    if not recent:
        findings.append(
            found(
                outcome,
                "old_rollout",
                f"{label} last rolled out {revisions} {when}, long before the alert: not a "
                f"recent change ({what})",
                None,
                0.0,
                **facts,
            )
        )
        return findings
    timing = (
        f"{abs(before_alert):.0f}m before the alert started"
        if before_alert >= 0
        else "as the alert started"
    )
    substantive = [k for k in kinds if k not in ("restart",)]
    findings.append(
        found(
            outcome,
            "recent_rollout",
            f"{label} rolled out {revisions} {when}, {timing}: {what}",
            Category.BAD_DEPLOY,
            0.4 if substantive else 0.2,
            **facts,
        )
    )
    new_revision = history[0] if history else {}
    older_ready = sum(integer(r.get("ready")) or 0 for r in history[1:])
    new_desired = integer(new_revision.get("desired")) or 0
    new_ready = integer(new_revision.get("ready")) or 0
    if new_revision and new_desired > new_ready and older_ready > 0:
        findings.append(
            found(
                outcome,
                "new_revision_failing",
                f"{label}: the new revision's ReplicaSet {new_revision.get('replicaset')} has "
                f"{new_ready}/{new_desired} pods ready while older revisions still serve "
                f"{older_ready}",
                None,
                0.0,
                symptom=True,
                **facts,
            )
        )
    return findings


def _resource_changes(changes: list[dict[str, Any]]) -> dict[str, Any]:
    """Memory and CPU limit/request changes, with the direction (lowered or raised)."""
    found_changes: dict[str, Any] = {}
    for change in changes:
        field = text(change.get("field"), 200)
        kind = classify_change(field)
        container = _CONTAINER.match(field)
        entry = {
            "field": field,
            "container": container.group("name") if container else None,
            "before": change.get("before"),
            "after": change.get("after"),
        }
        before, after = quantity(change.get("before")), quantity(change.get("after"))
        if before is not None and after is not None:
            entry["direction"] = "lowered" if after < before else "raised"
        elif after is not None and before is None:
            entry["direction"] = "added"
        if kind == "memory" and ".limits." in field:
            found_changes.setdefault("memory_change", entry)
        elif kind == "cpu" and ".limits." in field:
            found_changes.setdefault("cpu_change", entry)
        elif kind == "image":
            found_changes.setdefault("image_change", entry)
        elif kind == "probe":
            found_changes.setdefault("probe_change", entry)
        elif kind == "config":
            found_changes.setdefault("config_changes", []).append(entry)
    return found_changes


def deployment_list_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`list_deployments` (DeploymentList)."""
    del scene
    rows = items(mapping(outcome.structured).get("deployments"))
    findings: list[Finding] = []
    healthy: list[str] = []
    for row in rows:
        name = text(row.get("name"), 253)
        namespace = text(row.get("namespace"), 63)
        unavailable = integer(row.get("unavailable")) or 0
        desired = integer(row.get("desired")) or 0
        available = integer(row.get("available")) or 0
        updated = integer(row.get("updated")) or 0
        if unavailable or available < desired or updated < desired:
            findings.append(
                found(
                    outcome,
                    "deployment_unavailable_listed",
                    f"Deployment {namespace}/{name} is {text(row.get('ready'), 10)} ready, "
                    f"{updated}/{desired} updated, {unavailable} unavailable",
                    None,
                    0.0,
                    symptom=True,
                    namespace=namespace,
                    deployment=name,
                    images=row.get("images"),
                )
            )
        else:
            healthy.append(name)
    if healthy and not findings:
        listed_namespace = text(rows[0].get("namespace"), 63) if rows else None
        findings.append(
            found(
                outcome,
                "deployments_healthy",
                f"All {len(healthy)} deployments are fully available ({quoted(healthy)})",
                Category.NO_ISSUE,
                0.5,
                namespace=listed_namespace,
                deployments=healthy,
            )
        )
    return findings
