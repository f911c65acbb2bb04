"""Pods read as findings: container states and last terminations (OOMKilled, exit codes, pull
and config errors), scheduling, evictions, and whether the pod is healthy now."""

from __future__ import annotations

import re
from typing import Any

from agent.offline.events import event_findings
from agent.offline.findings import Finding
from agent.offline.reading import found, integer, items, mapping, quoted, text
from agent.offline.scene import Scene, parse_age, parse_time
from agent.report import Category
from agent.tooling import ToolOutcome

IMAGE_PULL_REASONS = frozenset(
    {"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull",
     "RegistryUnavailable", "ImageInspectError"}
)  # fmt: skip
_START_ERRORS = frozenset({"CreateContainerError", "RunContainerError", "StartError"})
_CANNOT_RUN = re.compile(
    r"executable file not found|no such file or directory|permission denied|exec format error"
    r"|not a directory|is a directory|invalid argument",
    re.IGNORECASE,
)
_CONFIG_KEY = re.compile(
    r"couldn't find key (?P<key>[\w.-]{1,253}) in (?P<source>ConfigMap|Secret) "
    r"(?:(?P<ref_namespace>[\w.-]{1,63})/)?(?P<ref>[\w.-]{1,253})"
)
_CONFIG_OBJECT = re.compile(
    r"(?P<source>configmap|secret)s? \"(?P<ref>[\w.-]{1,253})\" not found", re.IGNORECASE
)
_EVICTED_RESOURCE = re.compile(r"low on resource: (?P<resource>[\w-]{1,40})")
_UNSCHEDULABLE_PVC = re.compile(
    r"unbound immediate PersistentVolumeClaims|persistentvolumeclaim \"[\w.-]{1,253}\" not found"
    r"|volume node affinity conflict",
    re.IGNORECASE,
)
# A termination this long ago, in a container that runs fine now, is history, not the incident.
_STALE_S = 3600.0
# Restarts in a pod listing count as current when the last one is this recent.
_RECENT_RESTART_S = 3600.0
# A pod still creating its containers after this long is stuck.
_STUCK_CREATING_S = 600.0

_CONTROLLER_FACT = {
    "Deployment": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
    "Job": "job",
    "CronJob": "cronjob",
    "ReplicaSet": "replicaset",
}


def pod_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`get_pod` (PodDetail)."""
    pod = mapping(outcome.structured)
    name = text(pod.get("name"), 253)
    if not name:
        return []
    base = _pod_facts(pod)
    findings: list[Finding] = [_pod_context(outcome, pod, base)]
    for container in [*items(pod.get("init_containers")), *items(pod.get("containers"))]:
        findings.extend(_container_findings(outcome, pod, container, base, scene))
    findings.extend(_pod_level(outcome, pod, base))
    findings.extend(event_findings(outcome, pod.get("events"), scene))
    healthy = _healthy(outcome, pod, base, scene)
    if healthy is not None:
        findings.append(healthy)
    return findings


def _pod_facts(pod: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "namespace": text(pod.get("namespace"), 63),
        "pod": text(pod.get("name"), 253),
        "node": text(pod.get("node"), 253) or None,
    }
    for ref in (mapping(pod.get("owner")), mapping(pod.get("controller"))):
        fact = _CONTROLLER_FACT.get(text(ref.get("kind"), 40))
        if fact:
            facts[fact] = text(ref.get("name"), 253)
    return facts


def _pod_context(outcome: ToolOutcome, pod: dict[str, Any], base: dict[str, Any]) -> Finding:
    controller = mapping(pod.get("controller")) or mapping(pod.get("owner"))
    parts = [
        f"Pod {base['namespace']}/{base['pod']} is {text(pod.get('status'), 60) or '?'}",
        f"{text(pod.get('ready'), 10) or '?'} ready",
        f"{integer(pod.get('restarts')) or 0} restarts",
    ]
    if controller:
        parts.append(f"managed by {controller.get('kind')} {controller.get('name')}")
    if base.get("node"):
        parts.append(f"on node {base['node']}")
    return found(
        outcome,
        "pod_context",
        ", ".join(parts),
        None,
        0.0,
        status=text(pod.get("status"), 60),
        phase=text(pod.get("phase"), 30),
        claims=[
            text(v.get("source"), 253)
            for v in items(pod.get("volumes"))
            if v.get("kind") == "persistentVolumeClaim" and v.get("source")
        ],
        **base,
    )


def _container_findings(
    outcome: ToolOutcome,
    pod: dict[str, Any],
    container: dict[str, Any],
    base: dict[str, Any],
    scene: Scene,
) -> list[Finding]:
    name = text(container.get("name"), 63)
    label = (
        f"{'Init container' if container.get('init') else 'Container'} {name} of pod "
        f"{base['namespace']}/{base['pod']}"
    )
    limits, requests = mapping(container.get("limits")), mapping(container.get("requests"))
    facts: dict[str, Any] = {
        **base,
        "container": name,
        "image": text(container.get("image"), 300),
        "memory_limit": limits.get("memory"),
        "cpu_limit": limits.get("cpu"),
        "memory_request": requests.get("memory"),
        "cpu_request": requests.get("cpu"),
        "restarts": integer(container.get("restart_count")) or 0,
        "init": bool(container.get("init")),
        "probes": _probes(container),
        "env_refs": items(container.get("env_refs")),
    }
    state = mapping(container.get("state"))
    limits_text = ", ".join(f"{k} {v}" for k, v in limits.items()) or "none"
    findings: list[Finding] = [
        found(
            outcome,
            "container_context",
            f"{label}: image {facts['image']}, limits {limits_text}, "
            f"{state.get('state', 'unknown')}, {facts['restarts']} restarts",
            None,
            0.0,
            **facts,
        )
    ]
    waiting = text(state.get("reason"), 80) if state.get("state") == "waiting" else ""
    message = " ".join(text(state.get("message"), 600).split())
    if waiting in IMAGE_PULL_REASONS:
        findings.append(
            found(
                outcome,
                "image_pull",
                f"{label} cannot pull image {facts['image']} ({waiting}"
                + (f": {message})" if message else ")"),
                Category.IMAGE_PULL,
                1.0,
                reason=waiting,
                message=message,
                **facts,
            )
        )
    elif waiting == "CreateContainerConfigError":
        findings.append(_config_error(outcome, label, message, facts))
    elif waiting in _START_ERRORS:
        cannot_run = bool(_CANNOT_RUN.search(message))
        findings.append(
            found(
                outcome,
                "container_cannot_start",
                f"{label} cannot start ({waiting}): {message or 'no message'}",
                Category.BAD_CONFIG,
                0.85 if cannot_run else 0.6,
                reason=waiting,
                message=message,
                **facts,
            )
        )
    elif waiting == "CrashLoopBackOff":
        findings.append(
            found(
                outcome,
                "crash_looping",
                f"{label} is in CrashLoopBackOff after {facts['restarts']} restarts",
                None,
                0.0,
                symptom=True,
                **facts,
            )
        )
    elif waiting in ("ContainerCreating", "PodInitializing"):
        created = parse_time(pod.get("created"))
        if created is not None and (scene.now - created).total_seconds() > _STUCK_CREATING_S:
            findings.append(
                found(
                    outcome,
                    "stuck_creating",
                    f"{label} has been {waiting} for {scene.ago(created)}",
                    None,
                    0.0,
                    symptom=True,
                    **facts,
                )
            )
    terminated = state if state.get("state") == "terminated" else None
    terminated = terminated or mapping(container.get("last_termination")) or None
    if terminated:
        finding = _termination(outcome, label, container, terminated, facts, scene)
        if finding is not None:
            findings.append(finding)
    if state.get("state") == "running" and not container.get("ready") and not container.get("init"):
        findings.append(
            found(
                outcome,
                "container_not_ready",
                f"{label} is running but not ready",
                None,
                0.0,
                symptom=True,
                **facts,
            )
        )
    return findings


def _config_error(outcome: ToolOutcome, label: str, message: str, facts: dict[str, Any]) -> Finding:
    extra: dict[str, Any] = {"reason": "CreateContainerConfigError", "message": message}
    if match := _CONFIG_KEY.search(message):
        extra.update(
            key=match["key"],
            source=match["source"],
            configmap=match["ref"] if match["source"] == "ConfigMap" else None,
            secret=match["ref"] if match["source"] == "Secret" else None,
        )
        variables = [
            ref.get("variable")
            for ref in facts["env_refs"]
            if ref.get("key") == match["key"] and ref.get("name") == match["ref"]
        ]
        if variables and variables[0]:
            extra["variable"] = variables[0]
        missing = f"key {match['key']} is missing from {match['source']} {match['ref']}"
    elif match := _CONFIG_OBJECT.search(message):
        source = "ConfigMap" if match["source"].lower() == "configmap" else "Secret"
        extra.update(
            source=source,
            configmap=match["ref"] if source == "ConfigMap" else None,
            secret=match["ref"] if source == "Secret" else None,
        )
        missing = f"{source} {match['ref']} does not exist"
    else:
        missing = message or "its configuration cannot be resolved"
    return found(
        outcome,
        "container_config_error",
        f"{label} cannot start (CreateContainerConfigError): {missing}",
        Category.BAD_CONFIG,
        1.0,
        **extra,
        **facts,
    )


def _termination(
    outcome: ToolOutcome,
    label: str,
    container: dict[str, Any],
    terminated: dict[str, Any],
    facts: dict[str, Any],
    scene: Scene,
) -> Finding | None:
    reason = text(terminated.get("reason"), 80)
    code = integer(terminated.get("exit_code"))
    message = " ".join(text(terminated.get("message"), 400).split())
    finished = parse_time(terminated.get("finished_at"))
    running_now = mapping(container.get("state")).get("state") == "running"
    stale = (
        running_now
        and bool(container.get("ready"))
        and finished is not None
        and (scene.now - finished).total_seconds() > _STALE_S
    )
    when = f", {scene.ago(finished)} ago" if finished else ""
    weight = 0.4 if stale else 1.0
    extra = {"reason": reason, "exit_code": code, "message": message, "stale": stale}
    if finished:
        extra["finished_at"] = finished.isoformat()
    ended = (
        f"last terminated with reason {reason or '?'}, exit code "
        f"{code if code is not None else '?'}{when}"
    )
    if reason == "OOMKilled":
        limit = facts.get("memory_limit")
        limit_text = f" (memory limit {limit})" if limit else " (no memory limit set: node memory)"
        return found(
            outcome,
            "oom_killed",
            f"{label} was OOMKilled{limit_text}: {ended}",
            Category.OOM_KILLED,
            1.0 * weight,
            **extra,
            **facts,
        )
    if code in (126, 127, 128) or reason in ("StartError", "ContainerCannotRun"):
        return found(
            outcome,
            "command_cannot_run",
            f"{label} cannot run its command: {ended}" + (f" ({message})" if message else ""),
            Category.BAD_CONFIG,
            0.9 * weight,
            **extra,
            **facts,
        )
    if code == 137:
        return found(
            outcome,
            "sigkill",
            f"{label} was killed with SIGKILL without OOMKilled ({ended}): typically the kubelet "
            "after failed liveness probes",
            Category.PROBE_FAILURE,
            0.35 * weight,
            **extra,
            **facts,
        )
    if reason in ("Unknown", "ContainerStatusUnknown") or (code == 255 and not reason):
        return found(
            outcome,
            "stopped_by_node",
            f"{label} was stopped by its node or container runtime, not by itself: {ended} "
            "(typical of a node reboot or a kubelet restart)",
            None,
            0.0,
            **extra,
            **facts,
        )
    if code == 143:
        return found(
            outcome,
            "sigterm",
            f"{label} was stopped with SIGTERM: {ended}",
            None,
            0.0,
            **extra,
            **facts,
        )
    if code is not None and code != 0:
        detail = f" ({message})" if message else ""
        return found(
            outcome,
            "error_exit",
            f"{label} exits by itself with an error: {ended}{detail}",
            Category.CRASH_LOOP_APP_ERROR,
            0.55 * weight,
            **extra,
            **facts,
        )
    waiting = mapping(container.get("state")).get("reason")
    if code == 0 and not container.get("init") and waiting == "CrashLoopBackOff":
        return found(
            outcome,
            "clean_exit_restarted",
            f"{label} exits with code 0 and is restarted: the process ends by itself ({ended})",
            Category.CRASH_LOOP_APP_ERROR,
            0.45,
            **extra,
            **facts,
        )
    return None


def _pod_level(outcome: ToolOutcome, pod: dict[str, Any], base: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    label = f"Pod {base['namespace']}/{base['pod']}"
    reason = text(pod.get("reason"), 80)
    message = " ".join(text(pod.get("message"), 400).split())
    if reason == "Evicted":
        resource = _EVICTED_RESOURCE.search(message)
        resource_name = resource["resource"] if resource else ""
        disk = resource_name in ("ephemeral-storage", "nodefs", "imagefs") or (
            "ephemeral" in message.lower()
        )
        category = Category.DISK_PRESSURE if disk else Category.OOM_KILLED
        if resource_name and not disk and resource_name != "memory":
            category = Category.NODE_NOT_READY
        findings.append(
            found(
                outcome,
                "evicted",
                f"{label} was evicted: {message or reason}",
                category,
                0.9 if disk else 0.6,
                reason=reason,
                message=message,
                resource=resource_name,
                **base,
            )
        )
    elif reason == "NodeLost" or text(pod.get("status"), 40) == "Unknown":
        findings.append(
            found(
                outcome,
                "pod_node_lost",
                f"{label} is in status Unknown: its node stopped reporting ({message or reason})",
                Category.NODE_NOT_READY,
                0.6,
                **base,
            )
        )
    for condition in items(pod.get("conditions")):
        if condition.get("type") != "PodScheduled" or condition.get("status") != "False":
            continue
        scheduler = " ".join(text(condition.get("message"), 600).split())
        volume = bool(_UNSCHEDULABLE_PVC.search(scheduler))
        findings.append(
            found(
                outcome,
                "unschedulable",
                f"{label} cannot be scheduled: {scheduler or condition.get('reason') or '?'}",
                Category.PVC_PENDING if volume else Category.UNSCHEDULABLE,
                0.8 if volume else 1.0,
                message=scheduler,
                requests=_requests(pod),
                **base,
            )
        )
    return findings


def _healthy(
    outcome: ToolOutcome, pod: dict[str, Any], base: dict[str, Any], scene: Scene
) -> Finding | None:
    containers = items(pod.get("containers"))
    if text(pod.get("phase"), 30) != "Running" or not containers:
        return None
    if not all(
        c.get("ready") and mapping(c.get("state")).get("state") == "running" for c in containers
    ):
        return None
    recent: list[str] = []
    last_restart = ""
    for container in containers:
        finished = parse_time(mapping(container.get("last_termination")).get("finished_at"))
        if finished is None:
            continue
        age_s = (scene.now - finished).total_seconds()
        if age_s <= _STALE_S:
            recent.append(text(container.get("name"), 63))
        last_restart = scene.ago(finished)
    if recent:
        return None
    restarts = integer(pod.get("restarts")) or 0
    history = f"last restart {last_restart} ago" if restarts and last_restart else "no restarts"
    if restarts and not last_restart:
        history = f"{restarts} restarts, none recent"
    return found(
        outcome,
        "pod_healthy",
        f"Pod {base['namespace']}/{base['pod']} is Running and ready "
        f"({text(pod.get('ready'), 10)}) now, {history}",
        Category.NO_ISSUE,
        0.7,
        **base,
    )


def _probes(container: dict[str, Any]) -> dict[str, Any]:
    return {
        kind: mapping(container.get(f"{kind}_probe"))
        for kind in ("liveness", "readiness", "startup")
        if mapping(container.get(f"{kind}_probe"))
    }


def _requests(pod: dict[str, Any]) -> dict[str, str]:
    totals: dict[str, str] = {}
    for container in items(pod.get("containers")):
        for resource, value in mapping(container.get("requests")).items():
            totals.setdefault(str(resource), str(value))
    return totals


# --- list_pods -------------------------------------------------------------------------------

_LIST_STATUS: dict[str, tuple[str, Category | None, float]] = {
    # kubectl STATUS -> (kind, category, strength); confirmed by get_pod when followed.
    "OOMKilled": ("oom_killed_listed", Category.OOM_KILLED, 0.8),
    "CreateContainerConfigError": ("config_error_listed", Category.BAD_CONFIG, 0.7),
    "CreateContainerError": ("config_error_listed", Category.BAD_CONFIG, 0.5),
    "Evicted": ("evicted_listed", None, 0.0),
    "CrashLoopBackOff": ("crash_loop_listed", None, 0.0),
    "Error": ("crash_loop_listed", None, 0.0),
    "Pending": ("pending_listed", None, 0.0),
    "ContainerCreating": ("pending_listed", None, 0.0),
    "Terminating": ("terminating_listed", None, 0.0),
    "Unknown": ("unknown_listed", Category.NODE_NOT_READY, 0.4),
}


def pod_list_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`list_pods` (PodList): each pod with a problem, and a summary of the healthy ones."""
    rows = items(mapping(outcome.structured).get("pods"))
    findings: list[Finding] = []
    healthy: list[str] = []
    namespaces: set[str] = set()
    for row in rows:
        name = text(row.get("name"), 253)
        namespace = text(row.get("namespace"), 63)
        namespaces.add(namespace)
        finding = _row_finding(outcome, row, scene)
        if finding is None:
            if text(row.get("status"), 40) in ("Running", "Completed", "Succeeded"):
                healthy.append(name)
            continue
        findings.append(finding)
    if healthy and not findings and rows:
        where = ", ".join(sorted(n for n in namespaces if n)) or "the cluster"
        findings.append(
            found(
                outcome,
                "pods_healthy",
                f"All {len(healthy)} pods in {where} are running and ready with no recent "
                f"restarts ({quoted(healthy)})",
                Category.NO_ISSUE,
                0.6,
                namespace=next(iter(namespaces)) if len(namespaces) == 1 else None,
                pods=healthy,
            )
        )
    elif healthy:
        findings.append(
            found(
                outcome,
                "pods_running",
                f"{len(healthy)} other pods are running and ready ({quoted(healthy)})",
                None,
                0.0,
                namespace=next(iter(namespaces)) if len(namespaces) == 1 else None,
                pods=healthy,
            )
        )
    if scene.target.pod and rows and not mapping(outcome.structured).get("truncated"):
        listed = {text(row.get("name"), 253) for row in rows}
        same_namespace = scene.target.namespace in namespaces or not scene.target.namespace
        if (
            scene.target.pod not in listed
            and same_namespace
            and not outcome.arguments.get("label_selector")
        ):
            findings.append(
                found(
                    outcome,
                    "target_pod_gone",
                    f"Pod {scene.target.pod} named in the alert no longer exists in "
                    f"namespace {scene.target.namespace}",
                    None,
                    0.0,
                    namespace=scene.target.namespace,
                    pod=scene.target.pod,
                )
            )
    return findings


def _row_finding(outcome: ToolOutcome, row: dict[str, Any], scene: Scene) -> Finding | None:
    name = text(row.get("name"), 253)
    namespace = text(row.get("namespace"), 63)
    status = text(row.get("status"), 60)
    ready = text(row.get("ready"), 10)
    restarts = integer(row.get("restarts")) or 0
    last_reason = text(row.get("last_termination_reason"), 60)
    last_code = integer(row.get("last_exit_code"))
    restart_age = parse_age(row.get("last_restart_ago"))
    recent_restart = restarts > 0 and restart_age is not None and restart_age <= _RECENT_RESTART_S
    label = f"Pod {namespace}/{name}"
    facts = {
        "namespace": namespace,
        "pod": name,
        "node": text(row.get("node"), 253) or None,
        "status": status,
        "restarts": restarts,
        "reason": last_reason or None,
        "exit_code": last_code,
    }
    describe = f"{label} is {status} ({ready} ready, {restarts} restarts"
    if row.get("last_restart_ago"):
        describe += f", last {row.get('last_restart_ago')} ago"
    if last_reason:
        describe += f", last termination {last_reason}"
        if last_code is not None:
            describe += f" exit code {last_code}"
    describe += ")"
    if status in IMAGE_PULL_REASONS:
        return found(
            outcome, "image_pull_listed", describe, Category.IMAGE_PULL, 0.8, symptom=True, **facts
        )
    if status.startswith("Init:") and status not in ("Init:0/0",):
        return found(outcome, "init_waiting_listed", describe, None, 0.0, symptom=True, **facts)
    if last_reason == "OOMKilled" and (
        recent_restart or status in ("OOMKilled", "CrashLoopBackOff")
    ):
        return found(
            outcome, "oom_killed_listed", describe, Category.OOM_KILLED, 0.8, symptom=True, **facts
        )
    if status in _LIST_STATUS:
        kind, category, strength = _LIST_STATUS[status]
        return found(outcome, kind, describe, category, strength, symptom=True, **facts)
    ready_now, _, total = ready.partition("/")
    not_ready = ready_now.isdigit() and total.isdigit() and int(ready_now) < int(total)
    if status not in ("Running", "Completed", "Succeeded") or (not_ready and status == "Running"):
        return found(outcome, "pod_not_ready_listed", describe, None, 0.0, symptom=True, **facts)
    if recent_restart and last_reason in ("Unknown", "ContainerStatusUnknown") and not not_ready:
        return None  # restarted with its node (a reboot), running and ready since
    if recent_restart:
        return found(outcome, "restarting_listed", describe, None, 0.0, symptom=True, **facts)
    return None
