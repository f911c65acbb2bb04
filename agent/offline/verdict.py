"""Choosing one category from weighed findings. The most specific mechanism wins, and a cause
beats the symptoms it explains: pods that crash because their database is down are a
`dependency_failure`; latency from a lowered CPU limit is `cpu_throttling` even though a rollout
happened. When nothing explains the alert the answer is `unknown`; when the target is healthy
now (or the alert resolved) it is `no_issue`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from agent.offline.findings import Finding
from agent.offline.scene import Scene
from agent.report import Category, Confidence

_C = Category

# When a category is established, the categories it explains are its symptoms here.
EXPLAINS: dict[Category, frozenset[Category]] = {
    _C.DNS_FAILURE: frozenset(
        {_C.DEPENDENCY_FAILURE, _C.CRASH_LOOP_APP_ERROR, _C.PROBE_FAILURE, _C.BAD_DEPLOY}
    ),
    _C.DEPENDENCY_FAILURE: frozenset({_C.CRASH_LOOP_APP_ERROR, _C.PROBE_FAILURE, _C.BAD_DEPLOY}),
    _C.CERT_EXPIRY: frozenset({_C.DEPENDENCY_FAILURE, _C.CRASH_LOOP_APP_ERROR, _C.PROBE_FAILURE}),
    _C.BAD_CONFIG: frozenset({_C.CRASH_LOOP_APP_ERROR, _C.BAD_DEPLOY, _C.PROBE_FAILURE}),
    _C.OOM_KILLED: frozenset({_C.CRASH_LOOP_APP_ERROR, _C.PROBE_FAILURE, _C.BAD_DEPLOY}),
    _C.IMAGE_PULL: frozenset({_C.BAD_DEPLOY, _C.CRASH_LOOP_APP_ERROR}),
    _C.CPU_THROTTLING: frozenset({_C.BAD_DEPLOY, _C.PROBE_FAILURE}),
    _C.PVC_PENDING: frozenset({_C.UNSCHEDULABLE}),
    _C.QUOTA_EXCEEDED: frozenset({_C.UNSCHEDULABLE, _C.BAD_DEPLOY}),
    _C.NODE_NOT_READY: frozenset(
        {_C.UNSCHEDULABLE, _C.PROBE_FAILURE, _C.CRASH_LOOP_APP_ERROR, _C.DEPENDENCY_FAILURE}
    ),
    _C.DISK_PRESSURE: frozenset({_C.NODE_NOT_READY, _C.UNSCHEDULABLE}),
    _C.BAD_DEPLOY: frozenset({_C.CRASH_LOOP_APP_ERROR, _C.PROBE_FAILURE}),
    _C.PROBE_FAILURE: frozenset({_C.CRASH_LOOP_APP_ERROR}),
}
# Ties go to the more specific mechanism (earlier in this list).
SPECIFICITY: tuple[Category, ...] = (
    _C.BAD_CONFIG,
    _C.IMAGE_PULL,
    _C.OOM_KILLED,
    _C.QUOTA_EXCEEDED,
    _C.PVC_PENDING,
    _C.CERT_EXPIRY,
    _C.DNS_FAILURE,
    _C.DISK_PRESSURE,
    _C.NODE_NOT_READY,
    _C.CPU_THROTTLING,
    _C.DEPENDENCY_FAILURE,
    _C.UNSCHEDULABLE,
    _C.PROBE_FAILURE,
    _C.BAD_DEPLOY,
    _C.CRASH_LOOP_APP_ERROR,
)
# A category explains its symptoms once it scores this much and not much less than they do.
EXPLAINS_FROM = 0.6
EXPLAINS_MARGIN = 0.25
# Below this, a category is a possibility to mention, not a cause to report.
CAUSE_FROM = 0.5
HIGH_FROM = 0.85
# Each further independent finding for the same category adds a little, up to a cap.
CORROBORATION = 0.05
CORROBORATION_CAP = 0.1


@dataclass(frozen=True)
class Verdict:
    category: Category
    confidence: Confidence
    score: float
    support: list[Finding] = field(default_factory=list)
    # Weaker categories that were considered, best first (for "possible" and follow-ups).
    considered: list[tuple[Category, float]] = field(default_factory=list)


def decide(scene: Scene, findings: list[Finding]) -> Verdict:
    if scene.resolved:
        return Verdict(_C.NO_ISSUE, Confidence.HIGH, 1.0)
    scores, support = _scores(findings)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], SPECIFICITY.index(item[0])))
    considered = [(c, round(s, 2)) for c, s in ranked]
    if ranked and ranked[0][1] >= CAUSE_FROM:
        category, score = ranked[0]
        confidence = Confidence.HIGH if score >= HIGH_FROM else Confidence.MEDIUM
        return Verdict(category, confidence, round(score, 2), support[category], considered[1:])
    healthy = [f for f in findings if f.category is Category.NO_ISSUE and f.strength >= 0.3]
    failing = [f for f in findings if f.symptom and f.facts.get("relevance", 1.0) >= 1.0]
    if healthy and not failing:
        total = sum(f.strength for f in healthy)
        confidence = (
            Confidence.HIGH
            if total >= 1.2 or max(f.strength for f in healthy) >= 0.8
            else Confidence.MEDIUM
        )
        ordered = sorted(healthy, key=lambda f: -f.strength)
        return Verdict(_C.NO_ISSUE, confidence, round(min(1.0, total), 2), ordered, considered)
    return Verdict(_C.UNKNOWN, Confidence.LOW, 0.0, failing, considered)


def _scores(findings: list[Finding]) -> tuple[dict[Category, float], dict[Category, list[Finding]]]:
    support: dict[Category, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.category is None or finding.category in (_C.NO_ISSUE, _C.UNKNOWN):
            continue
        if finding.strength <= 0:
            continue
        support[finding.category].append(finding)
    scores: dict[Category, float] = {}
    for category, items in support.items():
        items.sort(key=lambda f: -f.strength)
        corroborating = {f.evidence.tool for f in items[1:] if f.strength >= 0.4} - {None}
        bonus = min(CORROBORATION_CAP, CORROBORATION * len(corroborating))
        scores[category] = min(1.0, items[0].strength + bonus)
    explained = dict(scores)
    for cause, score in scores.items():
        if score < EXPLAINS_FROM:
            continue
        for symptom in EXPLAINS.get(cause, frozenset()):
            if symptom in explained and score >= scores[symptom] - EXPLAINS_MARGIN:
                explained[symptom] = min(explained[symptom], scores[symptom] * 0.5)
    return explained, support
