"""Nodes, volumes, quotas, services and ConfigMaps read as findings: node conditions and
pressure, PVCs that cannot bind, exhausted quotas, services without ready endpoints, which keys
a ConfigMap has, and failed tool calls (an unreachable API is evidence, not a crash)."""

from __future__ import annotations

from typing import Any

from agent.offline.events import event_findings
from agent.offline.findings import Finding
from agent.offline.reading import found, integer, items, mapping, quoted, text
from agent.offline.scene import Scene
from agent.report import Category
from agent.tooling import ToolOutcome, ToolStatus

# Node condition (when True, except Ready when not True) -> (kind, category, strength).
_NODE_CONDITIONS: dict[str, tuple[str, Category, float]] = {
    "Ready": ("node_not_ready", Category.NODE_NOT_READY, 1.0),
    "DiskPressure": ("node_disk_pressure", Category.DISK_PRESSURE, 1.0),
    "MemoryPressure": ("node_memory_pressure", Category.OOM_KILLED, 0.6),
    "PIDPressure": ("node_pid_pressure", Category.NODE_NOT_READY, 0.6),
    "NetworkUnavailable": ("node_network_unavailable", Category.NODE_NOT_READY, 0.8),
}
_LISTED_PROBLEMS: dict[str, tuple[str, Category, float]] = {
    "DiskPressure=True": ("node_disk_pressure", Category.DISK_PRESSURE, 0.85),
    "MemoryPressure=True": ("node_memory_pressure", Category.OOM_KILLED, 0.5),
    "PIDPressure=True": ("node_pid_pressure", Category.NODE_NOT_READY, 0.5),
    "NetworkUnavailable=True": ("node_network_unavailable", Category.NODE_NOT_READY, 0.7),
}
_FULL_PERCENT = 95


def node_list_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`list_nodes` (NodeList)."""
    del scene
    findings: list[Finding] = []
    ready: list[str] = []
    for row in items(mapping(outcome.structured).get("nodes")):
        name = text(row.get("name"), 253)
        status = text(row.get("status"), 60)
        problems = [text(p, 60) for p in row.get("problems") or [] if isinstance(p, str)]
        healthy = True
        if not status.startswith("Ready"):
            healthy = False
            findings.append(
                found(
                    outcome,
                    "node_not_ready",
                    f"Node {name} is {status} ({', '.join(problems) or 'no conditions reported'})",
                    Category.NODE_NOT_READY,
                    0.85,
                    node=name,
                )
            )
        for problem in problems:
            if problem in _LISTED_PROBLEMS:
                healthy = False
                kind, category, strength = _LISTED_PROBLEMS[problem]
                findings.append(
                    found(
                        outcome,
                        kind,
                        f"Node {name} reports {problem}",
                        category,
                        strength,
                        node=name,
                    )
                )
        if "SchedulingDisabled" in status:
            findings.append(
                found(
                    outcome,
                    "node_cordoned",
                    f"Node {name} is cordoned (SchedulingDisabled)",
                    None,
                    0.0,
                    node=name,
                )
            )
        if healthy:
            ready.append(name)
    if ready and not findings:
        findings.append(
            found(
                outcome,
                "nodes_ready",
                f"All {len(ready)} nodes are Ready with no pressure conditions",
                None,
                0.0,
                nodes=ready,
            )
        )
    return findings


def node_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`get_node` (NodeDetail)."""
    node = mapping(outcome.structured)
    name = text(node.get("name"), 253)
    if not name:
        return []
    findings: list[Finding] = []
    healthy = True
    for condition in items(node.get("conditions")):
        kind = text(condition.get("type"), 60)
        status = text(condition.get("status"), 20)
        if kind not in _NODE_CONDITIONS:
            continue
        bad = status != "True" if kind == "Ready" else status == "True"
        if not bad:
            continue
        healthy = False
        rule, category, strength = _NODE_CONDITIONS[kind]
        message = " ".join(text(condition.get("message"), 300).split())
        reason = text(condition.get("reason"), 80)
        findings.append(
            found(
                outcome,
                rule,
                f"Node {name}: {kind}={status} ({reason}: {message})",
                category,
                strength,
                node=name,
                condition=kind,
                reason=reason,
                message=message,
                since=text(condition.get("last_transition"), 40),
            )
        )
    taints = [t for t in node.get("taints") or [] if isinstance(t, str)]
    if taints:
        findings.append(
            found(
                outcome,
                "node_taints",
                f"Node {name} has taints: {', '.join(taints[:6])}",
                None,
                0.0,
                node=name,
                taints=taints,
            )
        )
    for allocation in items(node.get("allocated")):
        percent = integer(allocation.get("requests_percent"))
        if percent is not None and percent >= _FULL_PERCENT:
            resource = text(allocation.get("resource"), 40)
            findings.append(
                found(
                    outcome,
                    "node_full",
                    f"Node {name}: {resource} requests are at {percent}% of allocatable "
                    f"({allocation.get('requests')} of {allocation.get('allocatable')})",
                    None,
                    0.0,
                    node=name,
                    resource=resource,
                )
            )
    findings.extend(event_findings(outcome, node.get("events"), scene))
    if healthy:
        findings.append(
            found(
                outcome,
                "node_healthy",
                f"Node {name} is Ready with no pressure conditions",
                Category.NO_ISSUE,
                0.6,
                node=name,
            )
        )
    return findings


def pvc_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`get_pvc` (PVCDetail)."""
    pvc = mapping(outcome.structured)
    name = text(pvc.get("name"), 253)
    if not name:
        return []
    namespace = text(pvc.get("namespace"), 63)
    phase = text(pvc.get("phase"), 20)
    storage_class = text(pvc.get("storage_class"), 253)
    facts: dict[str, Any] = {
        "namespace": namespace,
        "pvc": name,
        "storage_class": storage_class or None,
        "requested": text(pvc.get("requested"), 40) or None,
        "used_by": [u for u in pvc.get("used_by") or [] if isinstance(u, str)],
        "provisioner": text(pvc.get("provisioner"), 253) or None,
    }
    label = f"PVC {namespace}/{name}"
    detail = f"storage class {storage_class or '(none set)'}, {facts['requested'] or '?'} requested"
    findings: list[Finding] = []
    if phase in ("Pending", "Lost"):
        findings.append(
            found(
                outcome,
                "pvc_not_bound",
                f"{label} is {phase} ({detail})",
                Category.PVC_PENDING,
                0.85 if phase == "Pending" else 0.9,
                symptom=True,
                phase=phase,
                **facts,
            )
        )
    elif phase == "Bound":
        findings.append(
            found(
                outcome,
                "pvc_bound",
                f"{label} is Bound ({detail})",
                Category.NO_ISSUE,
                0.6,
                **facts,
            )
        )
    findings.extend(event_findings(outcome, pvc.get("events"), scene))
    return findings


def pvc_list_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`list_pvcs` (PVCList)."""
    del scene
    findings: list[Finding] = []
    for row in items(mapping(outcome.structured).get("pvcs")):
        phase = text(row.get("phase"), 20)
        if phase not in ("Pending", "Lost"):
            continue
        name, namespace = text(row.get("name"), 253), text(row.get("namespace"), 63)
        findings.append(
            found(
                outcome,
                "pvc_not_bound",
                f"PVC {namespace}/{name} is {phase} (storage class "
                f"{text(row.get('storage_class'), 253) or '(none set)'})",
                Category.PVC_PENDING,
                0.7,
                symptom=True,
                namespace=namespace,
                pvc=name,
                storage_class=text(row.get("storage_class"), 253) or None,
            )
        )
    return findings


def quota_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`list_resource_quotas` (ResourceQuotaList)."""
    del scene
    findings: list[Finding] = []
    quotas = items(mapping(outcome.structured).get("quotas"))
    for quota in quotas:
        name, namespace = text(quota.get("name"), 253), text(quota.get("namespace"), 63)
        for usage in items(quota.get("resources")):
            resource = text(usage.get("resource"), 80)
            percent = integer(usage.get("used_percent"))
            exhausted = bool(usage.get("exhausted"))
            if not exhausted and (percent is None or percent < 90):
                continue
            state = "exhausted" if exhausted else f"at {percent}%"
            findings.append(
                found(
                    outcome,
                    "quota_exhausted" if exhausted else "quota_nearly_full",
                    f"ResourceQuota {namespace}/{name}: {resource} {usage.get('used')}/"
                    f"{usage.get('hard')} used ({state})",
                    Category.QUOTA_EXCEEDED if exhausted else None,
                    0.55 if exhausted else 0.0,
                    namespace=namespace,
                    quota=name,
                    resource=resource,
                    used=text(usage.get("used"), 40),
                    hard=text(usage.get("hard"), 40),
                )
            )
    if quotas and not findings:
        names = [text(q.get("name"), 253) for q in quotas]
        findings.append(
            found(
                outcome,
                "quotas_ok",
                f"ResourceQuotas {quoted(names)} have room left",
                None,
                0.0,
                quotas=names,
            )
        )
    elif not quotas and outcome.status is ToolStatus.SUCCESS:
        asked = outcome.arguments.get("namespace")
        findings.append(
            found(
                outcome,
                "no_quotas",
                f"No ResourceQuota in namespace {asked}" if asked else "No ResourceQuota",
                None,
                0.0,
                namespace=asked,
            )
        )
    return findings


def service_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`get_service` (ServiceDetail). Whether a service without backends is the alert's own
    target (a symptom) or something it depends on (a cause) is decided with the logs."""
    service = mapping(outcome.structured)
    name = text(service.get("name"), 253)
    if not name:
        return []
    namespace = text(service.get("namespace"), 63)
    ready = [e for e in service.get("ready_endpoints") or [] if isinstance(e, str)]
    not_ready = [e for e in service.get("not_ready_endpoints") or [] if isinstance(e, str)]
    matching = integer(service.get("matching_pods"))
    selector = mapping(service.get("selector"))
    ports = [
        integer(p.get("port")) for p in items(service.get("ports")) if integer(p.get("port"))
    ] + [
        integer(p.get("target_port"))
        for p in items(service.get("ports"))
        if integer(p.get("target_port"))
    ]
    facts: dict[str, Any] = {
        "namespace": namespace,
        "service": name,
        "selector": selector,
        "ports": sorted({p for p in ports if p}),
        "ready_endpoints": len(ready),
        "not_ready_endpoints": len(not_ready),
        "matching_pods": matching,
        "cluster_ip": text(service.get("cluster_ip"), 60) or None,
    }
    label = f"Service {namespace}/{name}"
    selector_text = ",".join(f"{k}={v}" for k, v in selector.items()) or "<none>"
    facts["port_names"] = [
        text(p.get("name"), 63) for p in items(service.get("ports")) if p.get("name")
    ]
    if text(service.get("type"), 40) == "ExternalName":
        return [
            found(
                outcome,
                "service_external",
                f"{label} is an ExternalName service: what it names runs outside the cluster, so "
                "its health shows only in its own metrics and in its clients' errors",
                None,
                0.0,
                **facts,
            )
        ]
    if ready:
        return [
            found(
                outcome,
                "service_has_endpoints",
                f"{label} has {len(ready)} ready endpoints"
                + (f" and {len(not_ready)} not ready" if not_ready else ""),
                None,
                0.0,
                **facts,
            )
        ]
    if matching == 0:
        statement = f"{label} has no endpoints: its selector {selector_text} matches no pods"
    elif not_ready:
        pods = [e.partition("(")[2].rstrip(")") or e for e in not_ready]
        statement = f"{label} has no ready endpoints: {len(not_ready)} not ready ({quoted(pods)})"
        facts["pods"] = pods
    else:
        statement = f"{label} has no ready endpoints"
    is_target = name == scene.target.service
    return [
        found(
            outcome,
            "service_without_endpoints",
            statement,
            None if is_target else Category.DEPENDENCY_FAILURE,
            0.0 if is_target else 0.55,
            symptom=True,
            **facts,
        )
    ]


def service_list_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`list_services` (ServiceList): context for mapping hosts and IPs to services."""
    del scene
    services = [
        {
            "name": text(row.get("name"), 253),
            "namespace": text(row.get("namespace"), 63),
            "cluster_ip": text(row.get("cluster_ip"), 60),
            "ports": row.get("ports") or [],
        }
        for row in items(mapping(outcome.structured).get("services"))
    ]
    if not services:
        return []
    return [
        found(
            outcome,
            "services_listed",
            f"Services: {quoted(str(s['name']) for s in services)}",
            None,
            0.0,
            services=services,
        )
    ]


def configmap_findings(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    """`get_configmap` (ConfigMapDetail): which keys exist, to confirm a missing one."""
    del scene
    configmap = mapping(outcome.structured)
    name = text(configmap.get("name"), 253)
    if not name:
        return []
    keys = [k for k in configmap.get("keys") or [] if isinstance(k, str)]
    namespace = text(configmap.get("namespace"), 63)
    return [
        found(
            outcome,
            "configmap_keys",
            f"ConfigMap {namespace}/{name} has keys {quoted(keys, 8) or '(none)'}",
            None,
            0.0,
            namespace=namespace,
            configmap=name,
            keys=keys,
            data={k: text(v, 300) for k, v in mapping(configmap.get("data")).items()},
        )
    ]


def error_findings(outcome: ToolOutcome) -> list[Finding]:
    """A failed call says something too: an object that does not exist, an API that cannot be
    reached, a query the server refused."""
    first_line = (outcome.text.strip().splitlines() or ["(no message)"])[0][:300]
    call = f"{outcome.tool}({_arguments(outcome.arguments)})"
    lowered = first_line.lower()
    if "not found" in lowered or "404" in lowered:
        kind, says = "not_found", f"{call}: {first_line}"
    elif any(
        w in lowered
        for w in (
            "cannot reach",
            "did not answer",
            "unreachable",
            "connection",
            "timed out",
            "cannot run",
        )
    ):
        kind, says = "api_unreachable", f"{call} could not run: {first_line}"
    else:
        kind, says = "tool_error", f"{call} failed: {first_line}"
    return [
        found(
            outcome,
            kind,
            says,
            None,
            0.0,
            tool=outcome.tool,
            arguments=outcome.arguments,
            error=first_line,
            name=outcome.arguments.get("name"),
            namespace=outcome.arguments.get("namespace"),
        )
    ]


def _arguments(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in list(arguments.items())[:4])[:200]
