"""Answering follow-up questions without an LLM: the question is routed to a topic (restarts,
memory, CPU, logs, events, rollouts, dependencies, nodes, why, what was checked, what was ruled
out, what to do), and the answer quotes the stored evidence with the tool that showed it. A
question it cannot route gets a plain "this needs an LLM" and the short summary."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from agent.offline.findings import Finding
from agent.offline.writing import RULED_OUT_KINDS
from agent.report import Diagnosis

MAX_LINES = 8

_NEEDS_LLM = (
    "That question needs an LLM: without one I can only answer from the stored evidence "
    "(restarts, memory, CPU, logs, events, rollouts, dependencies, nodes, why, what was checked, "
    "what was ruled out, what to do). Configure one with OPENAI_API_KEY (or AZURE_OPENAI_API_KEY "
    "and AZURE_OPENAI_ENDPOINT) and SRE_AGENT_LLM_MODEL."
)


@dataclass(frozen=True)
class Topic:
    name: str
    question: re.Pattern[str]
    kinds: tuple[str, ...]
    prefix: str


def _topic(name: str, question: str, kinds: str, prefix: str) -> Topic:
    return Topic(name, re.compile(question, re.IGNORECASE), tuple(kinds.split()), prefix)


# Specific topics first: "why does it restart" is about restarts before it is about why.
TOPICS: tuple[Topic, ...] = (
    _topic(
        "memory",
        r"memory|\boom|heap|\bram\b|working set",
        "oom_killed oom_killed_listed memory_at_limit memory_near_limit memory_usage "
        "resource_limit "
        "rollout_lowered_memory_limit log_out_of_memory node_memory_pressure evicted_memory",
        "On memory:",
    ),
    _topic(
        "cpu",
        r"\bcpu\b|throttl|cores?\b",
        "cpu_throttled cpu_not_throttled cpu_usage cpu_at_limit rollout_lowered_cpu_limit "
        "latency_from_throttling",
        "On CPU:",
    ),
    _topic(
        "restarts",
        r"restart|crash|exit(?:ed)? ?code|exits?\b|killed|termination|back-?off",
        "oom_killed error_exit sigkill sigterm command_cannot_run clean_exit_restarted "
        "crash_looping "
        "crash_loop_listed restarting_listed liveness_kill liveness_restarts pod_context "
        "restarts_rising",
        "On restarts:",
    ),
    _topic(
        "logs",
        r"\blogs?\b|printed|stack ?trace|exception|error message",
        "log_cert_expired log_dns_failure log_connection_failed log_upstream_errors "
        "log_auth_failed "
        "log_config_error log_missing_file log_out_of_memory log_disk_full log_permission_denied "
        "log_crash logs_empty",
        "From the logs:",
    ),
    _topic(
        "rollout",
        r"deploy|rollout|roll out|release|version|revision|image|what changed|change",
        "recent_rollout old_rollout single_revision regression_after_rollout new_revision_crashes "
        "rollout_added_missing_reference rollout_config_points_at_bad_host "
        "rollout_lowered_cpu_limit "
        "rollout_lowered_memory_limit rollout_changed_probe new_revision_failing",
        "On rollouts:",
    ),
    _topic(
        "dependencies",
        r"database|\bdb\b|dependenc|redis|postgres|mysql|kafka|queue|cache|upstream|connect"
        r"|network|dns",
        "dependency_down dependency_missing dependency_up dependency_wrong_port cluster_dns_down "
        "cluster_dns_ok log_connection_failed log_dns_failure service_without_endpoints "
        "service_has_endpoints",
        "On dependencies:",
    ),
    _topic(
        "nodes",
        r"\bnodes?\b|kubelet|disk",
        "node_not_ready node_disk_pressure node_memory_pressure node_healthy nodes_ready node_full "
        "node_taints evicted evicted_by_disk_pressure node_not_ready_metric",
        "On nodes:",
    ),
    _topic(
        "events",
        r"\bevents?\b|warnings?",
        "missing_config_key missing_config_object quota_exceeded image_pull liveness_kill "
        "probe_failing "
        "unschedulable provisioning_failed storage_class_missing node_oom evicted_disk "
        "rollout_stuck "
        "crash_backoff failed_create volume_mount_failed",
        "From the events:",
    ),
)


def answer(question: str, report: Diagnosis | None, findings: list[Finding]) -> str:
    asked = question.strip()
    summary = _summary(report)
    for route in _ROUTES:
        text = route(asked, report, findings)
        if text:
            return text
    return f"{_NEEDS_LLM}\n\n{summary}"


def _summary(report: Diagnosis | None) -> str:
    if report is None:
        return "There is no report yet for this investigation."
    return (
        f"Summary: {report.summary} ({report.category.value}, {report.confidence.value} "
        f"confidence). {report.root_cause}"
    )


def _checked(question: str, report: Diagnosis | None, findings: list[Finding]) -> str | None:
    if not re.search(
        r"what (?:did you|was) check|checked|which tools|how do you know|evidence|look(?:ed)? "
        r"at|sources?",
        question,
        re.IGNORECASE,
    ):
        return None
    by_tool: dict[str, list[str]] = {}
    for finding in findings:
        tool = finding.evidence.tool
        if tool and finding.statement not in by_tool.setdefault(tool, []):
            by_tool[tool].append(finding.statement)
    if not by_tool:
        return "No tool results are stored for this investigation."
    lines = ["What was checked, and what each call showed:"]
    for tool, statements in list(by_tool.items())[:MAX_LINES]:
        lines.append(
            f"- {tool}: {statements[0]}"
            + (f" (and {len(statements) - 1} more)" if len(statements) > 1 else "")
        )
    return "\n".join(lines)


def _ruled_out(question: str, report: Diagnosis | None, findings: list[Finding]) -> str | None:
    if not re.search(
        r"rul(?:e|ed) out|exclude|other cause|alternative|could it be|is it not|not the|what else",
        question,
        re.IGNORECASE,
    ):
        return None
    lines = ["What was ruled out:"]
    for finding in findings:
        if finding.kind in RULED_OUT_KINDS:
            lines.append(f"- {finding.statement} ({finding.evidence.tool})")
    weak = [
        f
        for f in findings
        if f.category is not None
        and report is not None
        and f.category != report.category
        and 0 < f.strength < 0.5
    ]
    for finding in weak[:3]:
        lines.append(
            f"- Considered {finding.category.value if finding.category else '?'} but the "
            f"evidence is weak: {finding.statement} ({finding.evidence.tool})"
        )
    if len(lines) == 1:
        return "Nothing was explicitly ruled out by the evidence.\n\n" + _summary(report)
    return "\n".join(lines[: MAX_LINES + 1])


def _remediation(question: str, report: Diagnosis | None, findings: list[Finding]) -> str | None:
    del findings
    if not re.search(
        r"\bfix|remediat|what (?:should|do) (?:we|i)|what to do|mitigat|roll ?back|undo"
        r"|commands?|how (?:do|can|to)",
        question,
        re.IGNORECASE,
    ):
        return None
    if report is None or not report.remediation:
        return "No remediation was written for this investigation."
    steps = "\n".join(f"- {step}" for step in report.remediation)
    return f"What to do ({report.category.value}):\n{steps}"


def _confidence(question: str, report: Diagnosis | None, findings: list[Finding]) -> str | None:
    del findings
    if (
        not re.search(r"\bsure\b|confiden|certain|how likely", question, re.IGNORECASE)
        or report is None
    ):
        return None
    basis = "\n".join(f"- {e.statement} ({e.tool})" for e in report.evidence[:4])
    return (
        f"Confidence is {report.confidence.value}: high means the mechanism was seen directly, "
        f"medium that it is inferred, low that it is not established. It rests on:\n{basis}"
    )


def _topics(question: str, report: Diagnosis | None, findings: list[Finding]) -> str | None:
    del report
    for topic in TOPICS:
        if not topic.question.search(question):
            continue
        relevant = [f for f in findings if f.kind in topic.kinds]
        if not relevant:
            return f"{topic.prefix} the stored evidence shows nothing about this."
        relevant.sort(key=lambda f: (f.facts.get("relevance", 1.0) < 1.0, -f.strength))
        lines = [f"- {f.statement} ({f.evidence.tool})" for f in relevant[:MAX_LINES]]
        return "\n".join([topic.prefix, *lines])
    return None


def _why(question: str, report: Diagnosis | None, findings: list[Finding]) -> str | None:
    del findings
    if not re.search(
        r"\bwhy\b|cause|root|what happened|explain|what(?:'s| is) wrong|summar",
        question,
        re.IGNORECASE,
    ):
        return None
    if report is None:
        return "There is no report yet for this investigation."
    evidence = "\n".join(
        f"- {e.statement}" + (f" ({e.tool})" if e.tool else "") for e in report.evidence[:5]
    )
    return (
        f"{report.root_cause}\n\nCategory {report.category.value}, {report.confidence.value} "
        f"confidence. Evidence:\n{evidence}"
    )


_ROUTES: tuple[Callable[[str, Diagnosis | None, list[Finding]], str | None], ...] = (
    _checked,
    _ruled_out,
    _remediation,
    _confidence,
    _topics,
    _why,
)
