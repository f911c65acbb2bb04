"""One category per report: the most specific mechanism wins, causes beat the symptoms they explain,
a loud bystander does not become the cause, and without a mechanism the answer is honest:
`unknown` (low confidence) or, when the target is healthy or the alert resolved, `no_issue`."""

from __future__ import annotations

from agent.alert import AlertStatus
from agent.offline.analysis import analyze_outcomes
from agent.offline.findings import Finding
from agent.offline.reading import found
from agent.offline.scene import Scene
from agent.offline.verdict import decide
from agent.report import Category, Confidence
from tests.agent.offline_helpers import (
    NOW,
    ago,
    alert,
    container,
    event,
    outcome,
    pod,
    scene,
)


def finding(kind: str, category: Category | None, strength: float, **facts: object) -> Finding:
    return found(outcome(f"tool_{kind}"), kind, kind.replace("_", " "), category, strength, **facts)


def test_a_dependency_that_is_down_beats_the_crash_it_causes() -> None:
    verdict = decide(
        scene(),
        [
            finding("error_exit", Category.CRASH_LOOP_APP_ERROR, 0.55),
            finding("dependency_down", Category.DEPENDENCY_FAILURE, 0.9),
        ],
    )
    assert verdict.category is Category.DEPENDENCY_FAILURE
    assert verdict.confidence is Confidence.HIGH


def test_a_missing_config_key_beats_the_rollout_that_introduced_it() -> None:
    verdict = decide(
        scene(),
        [
            finding("regression_after_rollout", Category.BAD_DEPLOY, 0.75),
            finding("container_config_error", Category.BAD_CONFIG, 1.0),
        ],
    )
    assert verdict.category is Category.BAD_CONFIG


def test_throttling_from_a_lowered_cpu_limit_beats_the_rollout() -> None:
    verdict = decide(
        scene(),
        [
            finding("regression_after_rollout", Category.BAD_DEPLOY, 0.75),
            finding("rollout_lowered_cpu_limit", Category.CPU_THROTTLING, 0.9),
        ],
    )
    assert verdict.category is Category.CPU_THROTTLING


def test_an_unbound_volume_explains_an_unschedulable_pod() -> None:
    verdict = decide(
        scene(),
        [
            finding("unschedulable", Category.UNSCHEDULABLE, 0.95),
            finding("storage_class_missing", Category.PVC_PENDING, 1.0),
        ],
    )
    assert verdict.category is Category.PVC_PENDING


def test_an_inferred_mechanism_has_medium_confidence() -> None:
    verdict = decide(scene(), [finding("error_exit", Category.CRASH_LOOP_APP_ERROR, 0.55)])
    assert verdict.confidence is Confidence.MEDIUM


def test_weak_hints_and_a_failing_target_are_unknown_with_low_confidence() -> None:
    verdict = decide(
        scene(),
        [
            finding("probe_failing", Category.PROBE_FAILURE, 0.3),
            finding("crash_looping", None, 0.0, symptom=True),
        ],
    )
    assert verdict.category is Category.UNKNOWN
    assert verdict.confidence is Confidence.LOW
    assert (Category.PROBE_FAILURE, 0.3) in verdict.considered


def test_a_healthy_target_with_nothing_failing_is_no_issue() -> None:
    verdict = decide(scene(), [finding("pod_healthy", Category.NO_ISSUE, 0.7)])
    assert verdict.category is Category.NO_ISSUE


def test_a_resolved_alert_is_no_issue_with_high_confidence() -> None:
    resolved = alert(namespace="shop").model_copy(update={"status": AlertStatus.RESOLVED})
    verdict = decide(
        Scene(resolved, now=NOW), [finding("error_exit", Category.CRASH_LOOP_APP_ERROR, 0.55)]
    )
    assert (verdict.category, verdict.confidence) == (Category.NO_ISSUE, Confidence.HIGH)


def test_nothing_at_all_is_unknown() -> None:
    assert decide(scene(), []).category is Category.UNKNOWN


def test_an_oom_in_a_bystander_pod_does_not_outweigh_the_targets_own_config_error() -> None:
    """The alert names the accounts pod; another pod in the namespace was OOMKilled."""
    target = pod(
        "accounts-7b8c9d0e1-q1w2e",
        "identity",
        deployment="accounts",
        containers=[
            container(
                "accounts",
                state={
                    "state": "waiting",
                    "reason": "CreateContainerConfigError",
                    "message": "couldn't find key db-password in Secret identity/accounts-db",
                },
            )
        ],
    )
    bystander = pod(
        "export-29113440-7hk2d",
        "identity",
        deployment=None,
        containers=[
            container(
                "export",
                last={
                    "state": "terminated",
                    "reason": "OOMKilled",
                    "exit_code": 137,
                    "finished_at": ago(5),
                },
                limits={"memory": "256Mi"},
            )
        ],
    )
    analysis = analyze_outcomes(
        scene(namespace="identity", pod="accounts-7b8c9d0e1-q1w2e"),
        [
            outcome("kubernetes_get_pod", {"name": target["name"]}, target),
            outcome("kubernetes_get_pod", {"name": bystander["name"]}, bystander),
        ],
    )
    assert decide(analysis.scene, analysis.findings).category is Category.BAD_CONFIG
    oom = next(f for f in analysis.findings if f.kind == "oom_killed")
    assert oom.strength < 1.0
    assert oom.facts["relevance"] < 1.0


def test_events_of_another_namespace_count_less_than_the_targets_own() -> None:
    elsewhere = event("NodeNotReady", "Node is not ready", namespace="other", name="x-1")
    analysis = analyze_outcomes(
        scene(namespace="shop", pod="web-6c9f7b8d4-x2k4q"),
        [outcome("kubernetes_list_events", {}, {"events": [elsewhere]})],
    )
    (noise,) = [f for f in analysis.findings if f.category is Category.NODE_NOT_READY]
    assert noise.strength < 0.5


def test_a_long_statement_embedded_in_a_report_is_cut_after_a_whole_word_visibly() -> None:
    from agent.offline.writing import _clause

    statement = "AccessDenied: User arn:aws:sts::1:assumed-role/x is not authorized to perform " * 6
    clause = _clause(statement)
    assert len(clause) <= 300
    assert clause.endswith("…")
    assert clause[:-1].split()[-1] in statement.split()  # no word cut in half
    assert _clause("short statement.") == "short statement"
