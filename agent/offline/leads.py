"""Where to look next, from what was found: the pod's owning Deployment (a rollout?), the
dependency a log names (its service and pods), a Pending pod's quota, nodes and volume, the node
a pod runs on, a missing key's ConfigMap, the metrics behind a latency or error alert. Every lead
says why in a sentence; none repeats a call already made or uses a tool not offered."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.casefile import CaseFile
from agent.offline.analysis import Analysis, tool_function
from agent.offline.findings import Finding
from agent.offline.links import service_ref, workload_names
from agent.offline.metrics import TARGET_LABELS, Measure, measure_of
from agent.report import Category
from agent.tooling import ToolOutcome, ToolStatus, call_key

MAX_CALLS_PER_TURN = 6
_LATENCY_ALERT = re.compile(r"latency|slow|duration|p99|p95|response.?time", re.IGNORECASE)
_ERROR_ALERT = re.compile(r"error|5xx|failure.?rate|errorbudget|availability|sli", re.IGNORECASE)
_METRIC_SELECTOR = re.compile(r"(?P<metric>[a-zA-Z_:][\w:]{0,200})\{(?P<matchers>[^{}]{0,600})\}")
_CODE_LABEL = re.compile(r"\b(code|status_code|status|response_code)\b")
_BREAKDOWN = re.compile(r"by\s{0,3}\([^)]{0,80}\b(?:pod|version)\b")


@dataclass(frozen=True)
class Lead:
    function: str  # the bundled tool's name without the server prefix: get_pod, query_range, ...
    args: dict[str, Any]
    action: str  # what the call checks, e.g. "checking which keys ConfigMap x has"
    # Details are worth one more look even after the mechanism is established (they sharpen the
    # root cause: which keys the ConfigMap has, whether a rollout changed the limit).
    detail: bool = False
    because: str = ""  # the finding that led here, if one did


@dataclass
class Plan:
    """The calls for the next turn and the sentence that explains them."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    reasoning: str = ""


class Toolset:
    """The offered tools, looked up by their bundled name (`get_pod` -> `kubernetes_get_pod`)."""

    def __init__(self, offered: Iterable[str]) -> None:
        self.names: dict[str, str] = {}
        for name in offered:
            function = tool_function(name)
            if function is not None and (
                function not in self.names or name.startswith(("kubernetes_", "prometheus_"))
            ):
                self.names[function] = name
        self.offered = set(offered)

    def resolve(self, function: str) -> str | None:
        if function == "series" or function == "label_values":
            for name in self.offered:
                if name.endswith("_" + function):
                    return name
            return None
        return self.names.get(function)


def next_calls(
    case: CaseFile,
    analysis: Analysis,
    outcomes: Sequence[ToolOutcome],
    done: set[str],
    offered: Iterable[str],
    *,
    turn: int,
    established: bool,
) -> Plan:
    tools = Toolset(offered)
    plan = Plan()
    chosen: list[Lead] = []
    for lead in _leads(case, analysis, outcomes):
        if established and not lead.detail:
            continue
        tool = tools.resolve(lead.function)
        if tool is None:
            continue
        args = {k: v for k, v in lead.args.items() if v not in (None, "")}
        key = call_key(tool, args)
        if key in done:
            continue
        done.add(key)
        plan.calls.append(
            {
                "name": tool,
                "args": args,
                "id": f"lead_{turn}_{len(plan.calls)}",
                "type": "tool_call",
            }
        )
        chosen.append(lead)
        if len(plan.calls) >= MAX_CALLS_PER_TURN:
            break
    plan.reasoning = _reasoning(chosen)
    return plan


def _reasoning(leads: list[Lead]) -> str:
    """One or two sentences: what was found, and what the next calls check."""
    if not leads:
        return ""
    because = leads[0].because
    actions = list(
        dict.fromkeys(lead.action.rstrip(".") for lead in leads if lead.because == because)
    )
    said = _join(actions[:3])
    first = f"{because}; {said}." if because else f"{said[0].upper()}{said[1:]}."
    others = list(
        dict.fromkeys(lead.action.rstrip(".") for lead in leads if lead.because != because)
    )
    if others:
        first += f" Also {_join(others[:2])}."
    return first


def _join(parts: list[str]) -> str:
    lowered = [p[0].lower() + p[1:] if p[:2] != p[:2].upper() else p for p in parts if p]
    if len(lowered) <= 1:
        return "".join(lowered)
    return ", ".join(lowered[:-1]) + " and " + lowered[-1]


def _leads(case: CaseFile, analysis: Analysis, outcomes: Sequence[ToolOutcome]) -> list[Lead]:
    scene = analysis.scene
    findings = analysis.findings
    leads: list[Lead] = []
    for step in case.steps:
        if not step.skipped:
            function = tool_function(step.tool)
            if function is not None:
                leads.append(
                    Lead(
                        function,
                        dict(step.args),
                        f"checking {step.why}",
                        because="Following the runbook",
                    )
                )
    leads.extend(_target_leads(case, findings))
    leads.extend(_detail_leads(findings))
    leads.extend(_config_source_leads(analysis))
    leads.extend(_dependency_leads(analysis))
    leads.extend(_pod_leads(analysis))
    leads.extend(_scheduling_leads(analysis))
    leads.extend(_service_metric_leads(case, analysis, outcomes))
    leads.extend(_other_alert_leads(analysis))
    del scene
    return leads


def _target_leads(case: CaseFile, findings: list[Finding]) -> list[Lead]:
    """Look at what the alert names, when the runbook did not."""
    target = case.alert.kubernetes
    leads: list[Lead] = []
    namespace = target.namespace
    if target.pod and namespace:
        leads.append(
            Lead(
                "get_pod",
                {"name": target.pod, "namespace": namespace},
                "reading its state",
                because=f"The alert names pod {namespace}/{target.pod}",
            )
        )
    if target.deployment and namespace:
        leads.append(
            Lead(
                "get_deployment",
                {"name": target.deployment, "namespace": namespace},
                "checking its replicas and last rollout",
                because=f"The alert names Deployment {target.deployment}",
            )
        )
    if target.node:
        leads.append(
            Lead(
                "get_node",
                {"name": target.node},
                "reading its conditions",
                because=f"The alert names node {target.node}",
            )
        )
    if target.persistentvolumeclaim and namespace:
        leads.append(
            Lead(
                "get_pvc",
                {"name": target.persistentvolumeclaim, "namespace": namespace},
                "reading its phase and events",
                because=f"The alert names PVC {target.persistentvolumeclaim}",
            )
        )
    if expression := _alert_expression(case):
        leads.append(
            Lead(
                "query_range",
                {"query": expression, "start": "-3h"},
                "Querying the expression behind the alert to see the value and when it crossed.",
            )
        )
    if target.is_empty():
        leads.append(
            Lead(
                "list_pods",
                {"limit": 50},
                "listing pods with problems across namespaces",
                because="The alert names no Kubernetes object",
            )
        )
        leads.append(Lead("list_nodes", {}, "Checking node health cluster-wide."))
        leads.append(Lead("alerts", {}, "Looking for other alerts firing now."))
    elif (
        namespace
        and not target.pod
        and not any(f.kind in ("pods_healthy", "pods_running") for f in findings)
    ):
        leads.append(
            Lead(
                "list_pods",
                {"namespace": namespace, "limit": 50},
                f"Listing pods in {namespace} to see which are not ready or restarting.",
            )
        )
    gone = [
        f
        for f in findings
        if f.kind == "not_found"
        and str(f.facts.get("tool", "")).endswith("get_pod")
        and f.about("name") == target.pod
    ]
    if gone and namespace and target.pod:
        leads.append(
            Lead(
                "list_pods",
                {"namespace": namespace, "limit": 50},
                f"listing the pods in {namespace} to see what replaced it",
                because=f"Pod {target.pod} named in the alert no longer exists",
                detail=True,
            )
        )
    return leads


def _alert_expression(case: CaseFile) -> str | None:
    from agent.offline.scene import alert_expression

    return alert_expression(case.alert.links.generator)


def _detail_leads(findings: list[Finding]) -> list[Lead]:
    leads: list[Lead] = []
    for finding in findings:
        namespace = finding.about("namespace")
        if (
            finding.kind
            in ("container_config_error", "missing_config_key", "missing_config_object")
            and finding.about("configmap")
            and namespace
        ):
            configmap = str(finding.about("configmap"))
            leads.append(
                Lead(
                    "get_configmap",
                    {"name": configmap, "namespace": namespace},
                    f"checking which keys ConfigMap {configmap} has",
                    because=_short(finding.statement),
                    detail=True,
                )
            )
        if (
            finding.kind
            in (
                "missing_config_key",
                "missing_config_object",
                "image_pull",
                "unschedulable",
                "evicted_disk",
                "evicted_listed",
            )
            and finding.about("pod")
            and namespace
            and finding.facts.get("relevance", 1.0) >= 0.6
        ):
            pod = str(finding.about("pod"))
            leads.append(
                Lead(
                    "get_pod",
                    {"name": pod, "namespace": namespace},
                    f"reading pod {pod}'s containers and references",
                    because=_short(finding.statement),
                    detail=True,
                )
            )
        if finding.kind == "cluster_dns_down" and finding.facts.get("dns_pod"):
            dns_pod = str(finding.facts["dns_pod"])
            leads.append(
                Lead(
                    "pod_logs",
                    {
                        "name": dns_pod,
                        "namespace": "kube-system",
                        "previous": True,
                        "tail_lines": 50,
                    },
                    f"reading why DNS pod {dns_pod} exits",
                    because="Cluster DNS is down",
                    detail=True,
                )
            )
        node_problem = finding.kind in (
            "node_disk_pressure",
            "node_memory_pressure",
            "node_not_ready",
            "node_pid_pressure",
        )
        if node_problem and finding.about("node") and finding.facts.get("relevance", 1.0) >= 1.0:
            node = str(finding.about("node"))
            leads.append(
                Lead(
                    "list_pods",
                    {"field_selector": f"spec.nodeName={node}", "limit": 100},
                    f"listing the pods on {node} to see which were evicted or stopped",
                    because=_short(finding.statement),
                    detail=True,
                )
            )
        if (
            finding.kind == "pod_context"
            and finding.facts.get("relevance", 1.0) >= 1.0
            and namespace
        ):
            deployment = finding.about("deployment")
            if deployment:
                leads.append(
                    Lead(
                        "get_deployment",
                        {"name": deployment, "namespace": namespace},
                        "checking it for a recent rollout and what changed",
                        because=f"Pod {finding.about('pod')} is managed by Deployment {deployment}",
                        detail=True,
                    )
                )
    return leads


def _config_source_leads(analysis: Analysis) -> list[Lead]:
    """A config error in the logs: read the ConfigMaps the container takes its environment from,
    to see the value it complains about."""
    leads: list[Lead] = []
    failing = {
        (f.about("pod"), f.about("namespace"))
        for f in analysis.findings
        if f.kind in ("log_config_error", "log_missing_file")
        and f.facts.get("relevance", 1.0) >= 1.0
    }
    for finding in analysis.findings:
        if (finding.about("pod"), finding.about("namespace")) not in failing:
            continue
        for ref in finding.facts.get("env_refs") or []:
            if ref.get("kind") == "ConfigMap" and ref.get("name"):
                leads.append(
                    Lead(
                        "get_configmap",
                        {"name": ref["name"], "namespace": finding.about("namespace")},
                        f"reading ConfigMap {ref['name']} that its environment comes from",
                        because="The logs show a configuration error",
                        detail=True,
                    )
                )
    return leads


def _dependency_leads(analysis: Analysis) -> list[Lead]:
    leads: list[Lead] = []
    scene = analysis.scene
    for finding in analysis.findings:
        if finding.kind not in (
            "log_connection_failed",
            "log_upstream_errors",
            "log_dns_failure",
            "log_auth_failed",
            "log_cert_expired",
        ):
            continue
        if analysis.links.relevance(finding) < 1.0:
            continue
        namespace = finding.about("namespace") or scene.namespace or "default"
        for entry in (finding.facts.get("hosts") or [])[:2]:
            host = str(entry.get("host", ""))
            port = entry.get("port")
            shown = f"{host}:{port}" if port else host
            ref = service_ref(host, namespace)
            if ref is None:
                if re.fullmatch(r"[\d.]{7,15}", host):
                    leads.append(
                        Lead(
                            "list_services",
                            {"namespace": namespace},
                            "finding which Service has that address",
                            because=f"Logs show failures reaching {shown}",
                        )
                    )
                continue
            service, service_namespace = ref
            quote = _quote_line(finding)
            leads.append(
                Lead(
                    "get_service",
                    {"name": service, "namespace": service_namespace},
                    f"checking the {service} service and its endpoints",
                    because=f"Logs show {quote} to {shown}",
                )
            )
            leads.append(
                Lead(
                    "list_pods",
                    {"namespace": service_namespace, "limit": 50},
                    f"Checking the {service} pods behind {shown}.",
                )
            )
        if finding.facts.get("port") and finding.kind != "log_dns_failure":
            leads.append(
                Lead(
                    "query",
                    {"query": f'{{__name__=~"[a-z]+_up", namespace="{namespace}"}}'},
                    "checking what database and cache exporters in the namespace report",
                    because=f"Logs show {_quote_line(finding)}",
                )
            )
        if finding.kind == "log_dns_failure":
            leads.append(
                Lead(
                    "list_pods",
                    {"namespace": "kube-system", "label_selector": "k8s-app=kube-dns", "limit": 20},
                    "checking the cluster DNS pods",
                    because="Names do not resolve",
                )
            )
    for finding in analysis.findings:
        if finding.kind == "service_without_endpoints" and finding.facts.get("selector"):
            selector = ",".join(f"{k}={v}" for k, v in dict(finding.facts["selector"]).items())
            selector_namespace = finding.about("namespace")
            leads.append(
                Lead(
                    "list_pods",
                    {"namespace": selector_namespace, "label_selector": selector, "limit": 20},
                    f"looking at the pods its selector {selector} matches",
                    because=f"Service {finding.about('service')} has no ready endpoints",
                )
            )
    return leads


def _pod_leads(analysis: Analysis) -> list[Lead]:
    """Pods with problems: their details and their logs."""
    leads: list[Lead] = []
    examined = {f.about("pod") for f in analysis.findings if f.kind == "pod_context"}
    logged = {
        (f.about("pod"), bool(f.facts.get("previous")))
        for f in analysis.findings
        if f.kind.startswith("log") and f.about("pod")
    }
    listed = [
        f
        for f in analysis.findings
        if f.kind.endswith("_listed") and f.about("pod") and f.facts.get("relevance", 1.0) >= 0.6
    ]
    listed.sort(key=lambda f: (-f.facts.get("relevance", 1.0), -f.strength))
    target_node = analysis.scene.target.node
    for finding in listed[:3]:
        pod, namespace = finding.about("pod"), finding.about("namespace")
        if pod not in examined and namespace:
            # On the node the alert is about, a failed pod is part of the mechanism's story.
            on_target_node = bool(target_node) and finding.about("node") == target_node
            leads.append(
                Lead(
                    "get_pod",
                    {"name": pod, "namespace": namespace},
                    "reading its container states and events",
                    because=_short(finding.statement),
                    detail=on_target_node,
                )
            )
    for finding in analysis.findings:
        pod, namespace, container = (
            finding.about("pod"),
            finding.about("namespace"),
            finding.about("container"),
        )
        if not pod or not namespace or finding.facts.get("relevance", 1.0) < 0.6:
            continue
        if (
            finding.kind
            in (
                "crash_looping",
                "error_exit",
                "clean_exit_restarted",
                "sigkill",
                "command_cannot_run",
            )
            and (pod, True) not in logged
        ):
            leads.append(
                Lead(
                    "pod_logs",
                    {
                        "name": pod,
                        "namespace": namespace,
                        "container": container,
                        "previous": True,
                        "tail_lines": 200,
                    },
                    "reading what it printed before it died",
                    because=_short(finding.statement),
                )
            )
        if finding.kind in ("container_not_ready", "probe_failing") and (pod, False) not in logged:
            leads.append(
                Lead(
                    "pod_logs",
                    {
                        "name": pod,
                        "namespace": namespace,
                        "container": container,
                        "tail_lines": 200,
                    },
                    "reading its current logs",
                    because=_short(finding.statement),
                )
            )
        if finding.kind in (
            "pod_node_lost",
            "evicted",
            "evicted_disk",
            "node_not_ready_message",
            "sandbox_failed",
        ) or (
            finding.kind == "pod_context"
            and finding.about("node")
            and finding.facts.get("status") in ("Unknown", "Terminating", "Evicted")
        ):
            node = finding.about("node")
            if node:
                leads.append(
                    Lead(
                        "get_node",
                        {"name": node},
                        f"checking node {node}",
                        because=_short(finding.statement),
                        detail=True,
                    )
                )
    return leads


def _scheduling_leads(analysis: Analysis) -> list[Lead]:
    leads: list[Lead] = []
    for finding in analysis.findings:
        namespace = finding.about("namespace")
        if finding.facts.get("relevance", 1.0) < 0.6:
            continue
        if finding.kind in ("unschedulable", "pending_listed") and namespace:
            leads.append(
                Lead(
                    "list_resource_quotas",
                    {"namespace": namespace},
                    "checking the namespace's quotas",
                    because=_short(finding.statement),
                )
            )
            leads.append(
                Lead(
                    "list_nodes",
                    {},
                    "Checking which nodes could take it: capacity, taints, conditions.",
                )
            )
            leads.append(
                Lead(
                    "list_events",
                    {"namespace": namespace, "warnings_only": True, "limit": 40},
                    "Reading the namespace's warnings for scheduling and volume problems.",
                )
            )
        if finding.kind in (
            "unschedulable",
            "pvc_unbound_blocks_scheduling",
            "volume_mount_failed",
            "stuck_creating",
            "pod_context",
        ):
            for claim in finding.facts.get("claims") or []:
                if finding.kind == "pod_context" and finding.facts.get("status") not in (
                    "Pending",
                    "ContainerCreating",
                    "Init:0/1",
                ):
                    continue
                leads.append(
                    Lead(
                        "get_pvc",
                        {"name": claim, "namespace": namespace},
                        "checking whether it is bound",
                        because=f"Pod {finding.about('pod')} uses PVC {claim}",
                    )
                )
        if finding.kind == "pvc_not_bound" and namespace and finding.about("pvc"):
            leads.append(
                Lead(
                    "get_pvc",
                    {"name": finding.about("pvc"), "namespace": namespace},
                    "reading its provisioning events",
                    because=_short(finding.statement),
                )
            )
        if (
            finding.kind
            in (
                "deployment_unavailable",
                "deployment_unavailable_listed",
                "rollout_stuck",
                "failed_create",
            )
            and namespace
        ):
            deployment = finding.about("deployment")
            if deployment and finding.kind == "deployment_unavailable_listed":
                leads.append(
                    Lead(
                        "get_deployment",
                        {"name": deployment, "namespace": namespace},
                        "checking its conditions, events and last rollout",
                        because=_short(finding.statement),
                    )
                )
            leads.append(
                Lead(
                    "list_pods",
                    {"namespace": namespace, "limit": 50},
                    "Listing the namespace's pods.",
                )
            )
            leads.append(
                Lead(
                    "list_events",
                    {"namespace": namespace, "warnings_only": True, "limit": 40},
                    "Reading the namespace's warning events.",
                )
            )
    return leads


def _service_metric_leads(
    case: CaseFile, analysis: Analysis, outcomes: Sequence[ToolOutcome]
) -> list[Lead]:
    """Latency and error alerts: the rollout history, CPU throttling, a per-pod breakdown of the
    regression, the service's own logs, and the right metric when the runbook's had no data."""
    scene = analysis.scene
    findings = analysis.findings
    name = f"{case.alert.name} {case.alert.summary}"
    jumps = [
        f for f in findings if f.kind in ("latency_jump", "error_rate_jump", "error_rate_high")
    ]
    service_alert = bool(_LATENCY_ALERT.search(name) or _ERROR_ALERT.search(name)) or bool(jumps)
    if not service_alert:
        return []
    namespace = scene.namespace
    leads: list[Lead] = []
    for deployment in _service_deployments(case, findings):
        leads.append(
            Lead(
                "get_deployment",
                {"name": deployment, "namespace": namespace},
                f"Checking Deployment {deployment} for a rollout shortly before the "
                f"{'latency' if _LATENCY_ALERT.search(name) else 'errors'} rose.",
                detail=True,
            )
        )
    if namespace:
        throttle = (
            "sum by (pod, container) "
            f'(rate(container_cpu_cfs_throttled_periods_total{{namespace="{namespace}"}}[5m])) '
            "/ sum by (pod, container) "
            f'(rate(container_cpu_cfs_periods_total{{namespace="{namespace}"}}[5m]))'
        )
        leads.append(
            Lead(
                "query_range",
                {"query": throttle, "start": "-3h"},
                "Measuring CPU throttling per container.",
            )
        )
    for finding in jumps:
        query = str(finding.facts.get("query") or "")
        breakdown = _breakdown_query(query, finding.kind)
        if breakdown and not _BREAKDOWN.search(query):
            leads.append(
                Lead(
                    "query_range",
                    {"query": breakdown, "start": "-3h"},
                    "Breaking the regression down by pod and version.",
                )
            )
    service_pods = [f for f in findings if f.kind in ("pods_running", "pods_healthy")]
    current = [f for f in findings if f.kind.startswith("log") and not f.facts.get("previous")]
    said_something = any(f.kind != "logs_empty" for f in current)
    read = {f.about("pod") for f in current}
    unread = [
        str(pod)
        for finding in service_pods
        for pod in finding.facts.get("pods") or []
        if analysis.links.is_linked("pod", str(pod)) and pod not in read
    ]
    if namespace and not said_something:
        for pod in unread[:2]:
            leads.append(
                Lead(
                    "pod_logs",
                    {"name": pod, "namespace": namespace, "tail_lines": 200},
                    f"Reading the logs of {pod} for errors and timeouts to its dependencies.",
                )
            )
    no_data = [
        o
        for o in outcomes
        if o.status is ToolStatus.SUCCESS
        and tool_function(o.tool) in ("query", "query_range")
        and not (o.structured or {}).get("series")
        and not (o.structured or {}).get("samples")
    ]
    measures = {measure_of(str(o.arguments.get("query", ""))) for o in no_data}
    if namespace and (
        Measure.LATENCY in measures or Measure.ERRORS in measures or Measure.TRAFFIC in measures
    ):
        leads.append(
            Lead(
                "series",
                {
                    "match": (
                        f'{{__name__=~".*(duration|latency|requests|errors|_p99|_p95).*", '
                        f'namespace="{namespace}"}}'
                    ),
                    "start": "-1h",
                },
                "finding the service's own latency and request metrics",
                because="The runbook's metric has no data here",
            )
        )
    leads.extend(_discovered_metric_leads(case, outcomes))
    return leads


def _service_deployments(case: CaseFile, findings: list[Finding]) -> list[str]:
    target = case.alert.kubernetes
    if target.deployment:
        return [target.deployment]
    names: list[str] = []
    for finding in findings:
        names.extend(str(n) for n in finding.facts.get("deployments") or [])
        if finding.kind == "deployment_unavailable_listed" and finding.about("deployment"):
            names.append(str(finding.about("deployment")))
    names = list(dict.fromkeys(names))
    wanted = [w for w in (target.service, *(workload_names(target.pod) if target.pod else [])) if w]
    matching = [
        n for n in names if n in wanted or any(n.startswith(w) or w.startswith(n) for w in wanted)
    ]
    if matching:
        return matching[:2]
    return names[:3] if len(names) <= 3 else []


def _breakdown_query(query: str, kind: str) -> str | None:
    match = _METRIC_SELECTOR.search(query)
    if match is None:
        return None
    metric, matchers = match.group("metric"), match.group("matchers").strip().rstrip(",")
    if kind == "latency_jump":
        if metric.endswith("_bucket"):
            return (
                "histogram_quantile(0.99, sum by (le, pod, version) "
                f"(rate({metric}{{{matchers}}}[5m])))"
            )
        return f"max by (pod, version) ({metric}{{{matchers}}})"
    code = _CODE_LABEL.search(query)
    label = code.group(1) if code else "code"
    if re.search(rf"\b{label}\s{{0,3}}=~?\s{{0,3}}\"5", matchers):
        selector = matchers
    else:
        selector = f'{matchers}, {label}=~"5.."' if matchers else f'{label}=~"5.."'
    if metric.endswith("_total") or metric.endswith("_count"):
        return f"sum by (pod, version) (rate({metric}{{{selector}}}[5m]))"
    return None


def _discovered_metric_leads(case: CaseFile, outcomes: Sequence[ToolOutcome]) -> list[Lead]:
    """Query the latency/request metrics a `series` lookup found."""
    leads: list[Lead] = []
    namespace = case.alert.kubernetes.namespace
    service = case.alert.kubernetes.service
    for outcome in outcomes:
        if tool_function(outcome.tool) is not None or not outcome.tool.endswith("_series"):
            continue
        found: dict[str, dict[str, str]] = {}
        for labels in (outcome.structured or {}).get("series") or []:
            if isinstance(labels, dict) and labels.get("__name__"):
                found.setdefault(str(labels["__name__"]), labels)
        ordered = sorted(found.items(), key=lambda item: "client" not in item[0])
        for metric, labels in ordered[:4]:
            matchers = [f'namespace="{namespace}"'] if namespace else []
            if service and labels.get("service") == service:
                matchers.append(f'service="{service}"')
            selector = ", ".join(matchers)
            if metric.endswith("_bucket"):
                query = f"histogram_quantile(0.99, sum by (le) (rate({metric}{{{selector}}}[5m])))"
            elif metric.endswith(("_total", "_count")):
                # A client metric is broken down by the dependency it calls as well.
                code = [str(g) for g in ("code", "status") if g in labels][:1]
                grouping = code + [t for t in TARGET_LABELS if t in labels][:1]
                by = f" by ({', '.join(grouping)})" if grouping else ""
                query = f"sum{by} (rate({metric}{{{selector}}}[5m]))"
            else:
                query = f"max({metric}{{{selector}}})"
            leads.append(
                Lead(
                    "query_range",
                    {"query": query, "start": "-3h"},
                    f"Querying {metric}, the service's own metric.",
                )
            )
    return leads


def _other_alert_leads(analysis: Analysis) -> list[Lead]:
    leads: list[Lead] = []
    for finding in analysis.findings:
        if finding.kind != "other_alerts":
            continue
        for alert in finding.facts.get("alerts") or []:
            pod, namespace = alert.get("pod"), alert.get("namespace")
            if pod and namespace and namespace == analysis.scene.namespace:
                leads.append(
                    Lead(
                        "get_pod",
                        {"name": pod, "namespace": namespace},
                        "checking whether it shares the cause",
                        because=f"{alert.get('name')} is firing for pod {pod} too",
                    )
                )
    return leads[:2]


def _quote_line(finding: Finding) -> str:
    kind = {
        "log_connection_failed": "connection failures",
        "log_upstream_errors": "upstream errors",
        "log_dns_failure": "name resolution failures",
        "log_auth_failed": "authentication failures",
        "log_cert_expired": "certificate errors",
    }.get(finding.kind, "errors")
    return kind


def _short(statement: str) -> str:
    flat = " ".join(statement.split())
    return flat if len(flat) <= 140 else flat[:137] + "..."


def established(analysis_category: Category | None, score: float) -> bool:
    return analysis_category not in (None, Category.UNKNOWN, Category.NO_ISSUE) and score >= 0.9
