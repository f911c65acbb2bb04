"""Kubernetes Events read as findings. One table: an event's reason and message decide what it
shows (a missing ConfigMap key, a pull failure, a quota rejection, a probe kill, ...).

The same rows appear in `list_events` and embedded in `get_pod`, `get_deployment`, `get_node`
and `get_pvc` results; all go through `event_findings`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agent.offline.findings import Finding
from agent.offline.reading import KIND_FACT, found, integer, items, text
from agent.offline.scene import Scene, parse_time
from agent.report import Category
from agent.tooling import ToolOutcome

_C = Category


@dataclass(frozen=True)
class EventRule:
    """Events whose reason is one of `reasons` (any, when empty) and whose message matches
    `message` (any, when None) show `category` with `strength`. `says` is the statement, a
    format string over `{object}` and the message pattern's named groups."""

    kind: str
    reasons: frozenset[str]
    message: re.Pattern[str] | None
    category: Category | None
    strength: float
    says: str
    symptom: bool = False


def _rule(
    kind: str,
    reasons: str,
    message: str | None,
    category: Category | None,
    strength: float,
    says: str,
    *,
    symptom: bool = False,
) -> EventRule:
    return EventRule(
        kind=kind,
        reasons=frozenset(reasons.split()),
        message=re.compile(message, re.IGNORECASE) if message else None,
        category=category,
        strength=strength,
        says=says,
        symptom=symptom,
    )


_NAME = r"[\w.-]{1,253}"

# First match wins. Patterns are simple alternations over a message cut to 2,000 characters.
EVENT_RULES: tuple[EventRule, ...] = (
    _rule(
        "missing_config_key",
        "",
        rf"couldn't find key (?P<key>{_NAME}) in (?P<source>ConfigMap|Secret) "
        rf"(?P<ref>[\w./-]{{1,300}})",
        _C.BAD_CONFIG,
        1.0,
        "{object} cannot start: key {key} is missing from {source} {ref}",
    ),
    _rule(
        "missing_config_object",
        "",
        rf"(?P<source>configmap|secret)s? \"(?P<name>{_NAME})\" not found",
        _C.BAD_CONFIG,
        1.0,
        "{object} cannot start: {source} {name} does not exist",
    ),
    _rule(
        "missing_service_account",
        "",
        rf"serviceaccounts? \"(?P<name>{_NAME})\" not found",
        _C.BAD_CONFIG,
        0.9,
        "{object}: service account {name} does not exist",
    ),
    _rule(
        "quota_exceeded",
        "",
        rf"exceeded quota: (?P<quota>{_NAME})",
        _C.QUOTA_EXCEEDED,
        1.0,
        "{object}: pods are rejected, {message}",
    ),
    _rule(
        "limit_range_rejected",
        "FailedCreate",
        r"(?:maximum|minimum) (?P<resource>[\w.-]{1,40}) usage per (?P<scope>Container|Pod) is",
        _C.QUOTA_EXCEEDED,
        0.95,
        "{object}: a LimitRange rejects pods, {message}",
    ),
    _rule(
        "image_pull",
        "",
        r"Failed to pull image|ErrImagePull|ImagePullBackOff|pull access denied|manifest unknown"
        r"|InvalidImageName|Back-off pulling image|failed to resolve reference",
        _C.IMAGE_PULL,
        1.0,
        "{object}: the image cannot be pulled: {message}",
    ),
    _rule(
        "liveness_kill",
        "Killing",
        r"failed (?P<probe>liveness|startup) probe",
        _C.PROBE_FAILURE,
        0.85,
        "{object}: the kubelet kills the container because its {probe} probe fails",
    ),
    _rule(
        "probe_failing",
        "Unhealthy",
        r"(?P<probe>Liveness|Readiness|Startup) probe (?:failed|errored)",
        _C.PROBE_FAILURE,
        0.45,
        "{object}: {message}",
    ),
    _rule(
        "pvc_unbound_blocks_scheduling",
        "FailedScheduling",
        r"unbound immediate PersistentVolumeClaims|persistentvolumeclaim \"[\w.-]{1,253}\" not "
        r"found",
        _C.PVC_PENDING,
        0.8,
        "{object} cannot be scheduled until its volume is bound: {message}",
    ),
    _rule(
        "unschedulable",
        "FailedScheduling",
        None,
        _C.UNSCHEDULABLE,
        0.95,
        "{object} cannot be scheduled: {message}",
    ),
    _rule(
        "storage_class_missing",
        "ProvisioningFailed",
        rf"storageclass[\w.]{{0,40}} \"(?P<storage_class>{_NAME})\" not found",
        _C.PVC_PENDING,
        1.0,
        "{object} cannot be provisioned: storage class {storage_class} does not exist",
    ),
    _rule(
        "provisioning_failed",
        "ProvisioningFailed FailedBinding",
        None,
        _C.PVC_PENDING,
        0.95,
        "{object} cannot be provisioned or bound: {message}",
    ),
    _rule(
        "waiting_for_provisioner",
        "ExternalProvisioning",
        None,
        _C.PVC_PENDING,
        0.4,
        "{object} is waiting for its volume to be provisioned: {message}",
    ),
    _rule(
        "volume_mount_failed",
        "FailedMount FailedAttachVolume",
        None,
        _C.PVC_PENDING,
        0.45,
        "{object}: a volume cannot be attached or mounted: {message}",
    ),
    _rule(
        "node_oom",
        "OOMKilling SystemOOM",
        None,
        _C.OOM_KILLED,
        0.9,
        "{object}: the kernel OOM killer ran: {message}",
    ),
    _rule(
        "evicted_disk",
        "Evicted",
        r"low on resource: (?P<resource>ephemeral-storage|nodefs|imagefs)|ephemeral local storage"
        r"|ephemeral storage|emptyDir",
        _C.DISK_PRESSURE,
        0.95,
        "{object} was evicted: {message}",
    ),
    _rule(
        "evicted_memory",
        "Evicted",
        r"low on resource: memory",
        _C.OOM_KILLED,
        0.7,
        "{object} was evicted: {message}",
    ),
    _rule(
        "node_disk_pressure",
        "NodeHasDiskPressure EvictionThresholdMet FreeDiskSpaceFailed ImageGCFailed",
        r"disk|ephemeral-storage|nodefs|imagefs|space|DiskPressure|garbage",
        _C.DISK_PRESSURE,
        0.9,
        "{object}: {message}",
    ),
    _rule(
        "node_memory_pressure",
        "NodeHasInsufficientMemory EvictionThresholdMet",
        None,
        _C.OOM_KILLED,
        0.5,
        "{object}: {message}",
    ),
    _rule(
        "node_not_ready",
        "NodeNotReady NodeUnreachable",
        None,
        _C.NODE_NOT_READY,
        0.85,
        "{object}: {message}",
    ),
    _rule(
        "node_not_ready_message",
        "",
        r"Node is not ready|status is now: NodeNotReady|node is unreachable",
        _C.NODE_NOT_READY,
        0.7,
        "{object}: {message}",
    ),
    _rule(
        "cert_expired",
        "",
        r"x509: certificate has expired|certificate has expired|certificate is not yet valid",
        _C.CERT_EXPIRY,
        0.9,
        "{object}: {message}",
    ),
    _rule(
        "cert_renewal_failed",
        "PresentError CleanUpError ErrInitIssuer ErrVerifyACMEAccount ErrGetKeyPair",
        None,
        _C.CERT_EXPIRY,
        0.6,
        "{object}: cert-manager cannot issue or renew the certificate: {message}",
    ),
    _rule(
        "command_not_found",
        "Failed FailedCreatePodContainer",
        r"executable file not found|no such file or directory|permission denied|exec format error",
        _C.BAD_CONFIG,
        0.85,
        "{object}: the container's command cannot run: {message}",
    ),
    _rule(
        "hook_failed",
        "FailedPostStartHook FailedPreStopHook",
        None,
        _C.BAD_CONFIG,
        0.6,
        "{object}: {message}",
    ),
    _rule(
        "sandbox_failed",
        "FailedCreatePodSandBox NetworkNotReady",
        None,
        _C.NODE_NOT_READY,
        0.4,
        "{object}: {message}",
    ),
    _rule(
        "rollout_stuck",
        "ProgressDeadlineExceeded",
        None,
        None,
        0.0,
        "{object}: the rollout has passed its progress deadline ({message})",
        symptom=True,
    ),
    _rule(
        "crash_backoff",
        "BackOff",
        r"restarting failed container",
        None,
        0.0,
        "{object} keeps restarting ({message})",
        symptom=True,
    ),
    _rule(
        "job_failed",
        "BackoffLimitExceeded DeadlineExceeded",
        None,
        None,
        0.0,
        "{object} failed: {message}",
        symptom=True,
    ),
    _rule(
        "failed_create",
        "FailedCreate",
        None,
        None,
        0.0,
        "{object} cannot create pods: {message}",
        symptom=True,
    ),
)

# An event seen this long ago says less about what is happening now.
_RECENT_S = 3600.0
_OLD_S = 6 * 3600.0
_CONTAINER_PATH = re.compile(r"spec\.(?:initContainers|containers)\{([\w.-]{1,63})\}")


def event_findings(
    outcome: ToolOutcome, rows: Any, scene: Scene, *, limit: int = 60
) -> list[Finding]:
    """Findings from event rows (newest first), at most one per rule and object."""
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for event in items(rows)[:limit]:
        finding = _event_finding(outcome, event, scene)
        if finding is None:
            continue
        key = (finding.kind, finding.statement)
        if key in seen:
            continue
        seen.add(key)
        findings.append(finding)
    return findings


def _event_finding(outcome: ToolOutcome, event: dict[str, Any], scene: Scene) -> Finding | None:
    reason = text(event.get("reason"), 100)
    message = text(event.get("message"))
    for rule in EVENT_RULES:
        if rule.reasons and reason not in rule.reasons:
            continue
        match = rule.message.search(message) if rule.message else None
        if rule.message is not None and match is None:
            continue
        return _finding(outcome, rule, event, match, scene)
    return None


def _finding(
    outcome: ToolOutcome,
    rule: EventRule,
    event: dict[str, Any],
    match: re.Match[str] | None,
    scene: Scene,
) -> Finding:
    kind = text(event.get("object_kind"), 60) or "object"
    name = text(event.get("object_name"), 253)
    namespace = text(event.get("namespace"), 63) or None
    message = " ".join(text(event.get("message"), 400).split())
    groups = {k: v for k, v in (match.groupdict() if match else {}).items() if v}
    count = integer(event.get("count")) or 1
    subject = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
    values = {"object": subject, "message": message, **groups}
    try:
        statement = rule.says.format_map(_Missing(values))
    except (ValueError, IndexError):
        statement = f"{subject}: {message}"
    if count > 1:
        statement += f" ({count} times"
        ago = text(event.get("last_seen_ago"), 20)
        statement += f", last {ago} ago)" if ago else ")"
    strength = rule.strength * _recency(event, scene)
    facts: dict[str, Any] = {
        "namespace": namespace,
        "object_kind": kind,
        "object_name": name,
        "reason": text(event.get("reason"), 100),
        "message": message,
        "count": count,
        **groups,
    }
    if fact := KIND_FACT.get(kind):
        facts[fact] = name
    facts.update(_config_reference(groups))
    container = _CONTAINER_PATH.search(text(event.get("field_path"), 200))
    if container:
        facts["container"] = container.group(1)
    if isinstance(groups.get("probe"), str):
        facts["probe"] = groups["probe"].lower()
    return found(
        outcome,
        rule.kind,
        statement,
        rule.category,
        strength,
        symptom=rule.symptom,
        **facts,
    )


def _config_reference(groups: dict[str, str]) -> dict[str, str]:
    """`ConfigMap shop/orders-config` in a message -> {configmap: orders-config}."""
    source = groups.get("source", "").lower()
    name = groups.get("name") or groups.get("ref", "").rsplit("/", 1)[-1]
    if not source or not name:
        return {}
    if source == "configmap":
        return {"configmap": name, "source": "ConfigMap"}
    return {"secret": name, "source": "Secret"}


def _recency(event: dict[str, Any], scene: Scene) -> float:
    last = parse_time(event.get("last_seen")) or parse_time(event.get("first_seen"))
    if last is None:
        return 1.0
    age = (scene.now - last).total_seconds()
    if age <= _RECENT_S:
        return 1.0
    return 0.6 if age <= _OLD_S else 0.4


class _Missing(dict[str, Any]):
    """format_map values; a placeholder without a value reads as `?`."""

    def __missing__(self, key: str) -> str:
        return "?"
