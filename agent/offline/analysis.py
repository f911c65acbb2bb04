"""Turning tool results into findings: each result goes to the analyzer for its tool, results are
then read side by side (correlations), and every finding is weighed by how closely it is tied to
the alert's target. `analyze` is the seam the LLM reasoner uses for pre-triage too."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.casefile import CaseFile
from agent.offline.correlate import correlate
from agent.offline.findings import Finding
from agent.offline.infra import (
    configmap_findings,
    error_findings,
    node_findings,
    node_list_findings,
    pvc_findings,
    pvc_list_findings,
    quota_findings,
    service_findings,
    service_list_findings,
)
from agent.offline.links import Links
from agent.offline.logs import log_findings
from agent.offline.metrics import alert_list_findings, range_findings
from agent.offline.pods import pod_findings, pod_list_findings
from agent.offline.scene import Scene
from agent.offline.workloads import deployment_findings, deployment_list_findings
from agent.tooling import ToolOutcome, ToolStatus

log = logging.getLogger("sre_agent.app")

Analyzer = Callable[[ToolOutcome, Scene], list[Finding]]

# The bundled servers' tools (the part after `<server>_`), and what reads each result.
ANALYZERS: dict[str, Analyzer] = {
    "get_pod": pod_findings,
    "list_pods": pod_list_findings,
    "pod_logs": lambda outcome, _: log_findings(outcome),
    "list_events": lambda outcome, scene: _events(outcome, scene),
    "get_deployment": deployment_findings,
    "list_deployments": deployment_list_findings,
    "list_nodes": node_list_findings,
    "get_node": node_findings,
    "get_pvc": pvc_findings,
    "list_pvcs": pvc_list_findings,
    "list_resource_quotas": quota_findings,
    "get_service": service_findings,
    "list_services": service_list_findings,
    "get_configmap": configmap_findings,
    "query": range_findings,
    "query_range": range_findings,
    "alerts": alert_list_findings,
}


def _events(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    from agent.offline.events import event_findings
    from agent.offline.reading import mapping

    return event_findings(outcome, mapping(outcome.structured).get("events"), scene)


def tool_function(tool: str) -> str | None:
    """`kubernetes_get_pod` -> `get_pod`: the analyzer key a tool name ends with."""
    best: str | None = None
    for name in ANALYZERS:
        matches = tool == name or tool.endswith("_" + name)
        if matches and (best is None or len(name) > len(best)):
            best = name
    return best


@dataclass(frozen=True)
class Analysis:
    """Findings (weighed by relevance, strongest first) and the links they were weighed by."""

    findings: list[Finding]
    links: Links
    scene: Scene


def analyze_outcomes(scene: Scene, outcomes: Sequence[ToolOutcome]) -> Analysis:
    raw: list[Finding] = []
    for outcome in outcomes:
        raw.extend(read_outcome(outcome, scene))
    links = Links.build(scene, raw)
    derived = correlate(scene, raw, links)
    everything = _unique([*raw, *derived])
    links = Links.build(scene, everything)
    weighed = [_weigh(finding, links) for finding in everything]
    weighed.sort(key=lambda f: (f.category is None, -f.strength))
    return Analysis(findings=weighed, links=links, scene=scene)


def read_outcome(outcome: ToolOutcome, scene: Scene) -> list[Finding]:
    if outcome.status is ToolStatus.REFUSED:
        return []
    if outcome.status is ToolStatus.ERROR:
        return error_findings(outcome)
    function = tool_function(outcome.tool)
    if function is None:
        return []
    try:
        return ANALYZERS[function](outcome, scene)
    except Exception:
        log.warning(
            "the %s analyzer could not read a result of %s", function, outcome.tool, exc_info=True
        )
        return []


def analyze(case: CaseFile, outcomes: Sequence[ToolOutcome]) -> list[Finding]:
    """Findings from the tool results so far, strongest first."""
    return analyze_outcomes(Scene(case.alert), outcomes).findings


def _weigh(finding: Finding, links: Links) -> Finding:
    relevance = links.relevance(finding)
    if relevance >= 1.0:
        return finding
    return finding.model_copy(
        update={
            "strength": round(finding.strength * relevance, 3),
            "facts": {**finding.facts, "relevance": relevance},
        }
    )


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    unique: list[Finding] = []
    for finding in findings:
        key = (finding.kind, finding.statement)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique
