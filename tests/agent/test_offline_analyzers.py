"""The offline analyzers read the bundled servers' documented results (as dicts) into findings:
each fact with the category it points to, how directly it shows it, and the call that showed it."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest

from agent.offline.analysis import analyze_outcomes, read_outcome
from agent.offline.findings import Finding
from agent.offline.logs import LOG_RULES, log_findings, readable_entries
from agent.report import Category
from agent.tooling import ToolStatus
from tests.agent.offline_helpers import (
    ago,
    container,
    event,
    outcome,
    pod,
    range_result,
    scene,
    series,
)

GET_POD = "kubernetes_get_pod"
POD_ARGS = {"name": "web-6c9f7b8d4-x2k4q", "namespace": "shop"}


def kinds(findings: list[Finding]) -> dict[str, Finding]:
    return {f.kind: f for f in findings}


def read(tool: str, structured: object, **arguments: object) -> dict[str, Finding]:
    return kinds(read_outcome(outcome(tool, dict(arguments), structured), scene(namespace="shop")))


# --- pods ------------------------------------------------------------------------------------


def test_oom_killed_last_termination_is_the_mechanism_with_the_limit() -> None:
    app = container(
        state={"state": "waiting", "reason": "CrashLoopBackOff"},
        last={
            "state": "terminated",
            "reason": "OOMKilled",
            "exit_code": 137,
            "finished_at": ago(1),
        },
        limits={"memory": "512Mi"},
        restarts=5,
    )
    found = read(GET_POD, pod(containers=[app], status="CrashLoopBackOff"), **POD_ARGS)
    oom = found["oom_killed"]
    assert oom.category is Category.OOM_KILLED
    assert oom.strength == 1.0
    assert oom.facts["memory_limit"] == "512Mi"
    assert oom.facts["exit_code"] == 137
    assert oom.facts["deployment"] == "web"
    assert oom.evidence.tool == GET_POD
    assert oom.evidence.arguments == POD_ARGS
    assert found["crash_looping"].symptom


def test_missing_configmap_key_names_key_configmap_and_variable() -> None:
    app = container(
        state={
            "state": "waiting",
            "reason": "CreateContainerConfigError",
            "message": "couldn't find key PAYMENT_URL in ConfigMap shop/orders-config",
        },
        env_refs=[
            {
                "variable": "PAYMENT_URL",
                "kind": "ConfigMap",
                "name": "orders-config",
                "key": "PAYMENT_URL",
            }
        ],
    )
    config = read(GET_POD, pod(containers=[app]), **POD_ARGS)["container_config_error"]
    assert config.category is Category.BAD_CONFIG
    assert config.strength == 1.0
    assert (config.facts["key"], config.facts["configmap"]) == ("PAYMENT_URL", "orders-config")
    assert config.facts["variable"] == "PAYMENT_URL"


def test_missing_secret_is_bad_config() -> None:
    app = container(
        state={
            "state": "waiting",
            "reason": "CreateContainerConfigError",
            "message": 'secret "db-credentials" not found',
        }
    )
    config = read(GET_POD, pod(containers=[app]), **POD_ARGS)["container_config_error"]
    assert config.facts["secret"] == "db-credentials"


def test_image_pull_back_off_is_image_pull() -> None:
    app = container(state={"state": "waiting", "reason": "ImagePullBackOff", "message": "Back-off"})
    assert (
        read(GET_POD, pod(containers=[app]), **POD_ARGS)["image_pull"].category
        is Category.IMAGE_PULL
    )


def test_unschedulable_pod_carries_the_scheduler_message_and_requests() -> None:
    message = "0/3 nodes are available: 3 Insufficient memory."
    pending = pod(
        phase="Pending",
        status="Pending",
        conditions=[
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
            }
        ],
        containers=[container(requests={"memory": "24Gi"}, state={"state": "waiting"})],
    )
    finding = read(GET_POD, pending, **POD_ARGS)["unschedulable"]
    assert finding.category is Category.UNSCHEDULABLE
    assert finding.facts["message"] == message
    assert finding.facts["requests"] == {"memory": "24Gi"}


def test_pod_waiting_for_an_unbound_claim_points_at_the_volume() -> None:
    message = "0/4 nodes are available: pod has unbound immediate PersistentVolumeClaims."
    pending = pod(
        phase="Pending",
        conditions=[
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
            }
        ],
    )
    assert read(GET_POD, pending, **POD_ARGS)["unschedulable"].category is Category.PVC_PENDING


def test_exit_code_1_is_an_app_error_that_something_more_specific_may_explain() -> None:
    app = container(
        state={"state": "waiting", "reason": "CrashLoopBackOff"},
        last={"state": "terminated", "reason": "Error", "exit_code": 1, "finished_at": ago(2)},
    )
    error = read(GET_POD, pod(containers=[app]), **POD_ARGS)["error_exit"]
    assert error.category is Category.CRASH_LOOP_APP_ERROR
    assert 0.5 <= error.strength < 0.7


def test_sigkill_without_oom_hints_at_a_liveness_kill() -> None:
    app = container(
        last={"state": "terminated", "reason": "Error", "exit_code": 137, "finished_at": ago(2)}
    )
    sigkill = read(GET_POD, pod(containers=[app]), **POD_ARGS)["sigkill"]
    assert sigkill.category is Category.PROBE_FAILURE
    assert sigkill.strength < 0.5


def test_a_restart_by_the_node_is_not_an_application_error() -> None:
    app = container(
        ready=True,
        last={"state": "terminated", "reason": "Unknown", "exit_code": 255, "finished_at": ago(20)},
    )
    found = read(GET_POD, pod(containers=[app]), **POD_ARGS)
    assert "error_exit" not in found
    assert found["stopped_by_node"].category is None


def test_healthy_pod_with_an_old_restart_is_healthy_and_the_old_oom_is_weak() -> None:
    app = container(
        ready=True,
        restarts=3,
        last={
            "state": "terminated",
            "reason": "OOMKilled",
            "exit_code": 137,
            "finished_at": ago(3 * 24 * 60),
        },
    )
    found = read(GET_POD, pod(containers=[app], restarts=3), **POD_ARGS)
    assert found["pod_healthy"].category is Category.NO_ISSUE
    assert found["oom_killed"].strength < 0.5


def test_evicted_for_ephemeral_storage_is_disk_pressure() -> None:
    evicted = pod(
        phase="Failed",
        status="Evicted",
        reason="Evicted",
        message="The node was low on resource: ephemeral-storage. Container app was using 40Gi.",
    )
    assert read(GET_POD, evicted, **POD_ARGS)["evicted"].category is Category.DISK_PRESSURE


def test_pod_list_flags_problem_pods_and_summarises_healthy_ones() -> None:
    rows = [
        {
            "name": "web-1",
            "namespace": "shop",
            "phase": "Running",
            "status": "CrashLoopBackOff",
            "ready": "0/1",
            "restarts": 7,
            "last_restart_ago": "2m",
            "last_termination_reason": "OOMKilled",
            "last_exit_code": 137,
            "age": "3d",
        },
        {
            "name": "web-2",
            "namespace": "shop",
            "phase": "Running",
            "status": "Running",
            "ready": "1/1",
            "restarts": 0,
            "age": "3d",
        },
    ]
    found = read("kubernetes_list_pods", {"pods": rows, "total": 2}, namespace="shop")
    assert found["oom_killed_listed"].category is Category.OOM_KILLED
    assert found["pods_running"].facts["pods"] == ["web-2"]


# --- events ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "message", "kind", "category"),
    [
        (
            "FailedCreate",
            'Error creating: pods "x" is forbidden: exceeded quota: compute, '
            "requested: limits.memory=2Gi, used: limits.memory=19Gi, limited: limits.memory=20Gi",
            "quota_exceeded",
            Category.QUOTA_EXCEEDED,
        ),
        (
            "Killing",
            "Container app failed liveness probe, will be restarted",
            "liveness_kill",
            Category.PROBE_FAILURE,
        ),
        (
            "ProvisioningFailed",
            'storageclass.storage.k8s.io "fast-ssd" not found',
            "storage_class_missing",
            Category.PVC_PENDING,
        ),
        (
            "Evicted",
            "The node was low on resource: ephemeral-storage.",
            "evicted_disk",
            Category.DISK_PRESSURE,
        ),
        (
            "Failed",
            'Failed to pull image "r/x:9": manifest unknown',
            "image_pull",
            Category.IMAGE_PULL,
        ),
        (
            "Failed",
            "Error: couldn't find key K in ConfigMap shop/cfg",
            "missing_config_key",
            Category.BAD_CONFIG,
        ),
        (
            "FailedScheduling",
            "0/3 nodes are available: 3 Insufficient cpu.",
            "unschedulable",
            Category.UNSCHEDULABLE,
        ),
        (
            "NodeNotReady",
            "Node n1 status is now: NodeNotReady",
            "node_not_ready",
            Category.NODE_NOT_READY,
        ),
        (
            "PresentError",
            "Error presenting challenge: failed to change Route 53 record set: AccessDenied",
            "cert_renewal_failed",
            Category.CERT_EXPIRY,
        ),
    ],
)
def test_event_reasons_and_messages_map_to_categories(
    reason: str, message: str, kind: str, category: Category
) -> None:
    found = read("kubernetes_list_events", {"events": [event(reason, message)], "total": 1})
    assert found[kind].category is category


def test_probe_failures_are_a_weak_hint_and_old_events_count_less() -> None:
    def probe_finding(minutes_ago: float) -> Finding:
        row = event("Unhealthy", "Readiness probe failed: statuscode: 503", minutes_ago=minutes_ago)
        (finding,) = read_outcome(outcome("kubernetes_list_events", {}, {"events": [row]}), scene())
        return finding

    recent, old = probe_finding(1), probe_finding(8 * 60)
    assert recent.category is Category.PROBE_FAILURE
    assert recent.strength < 0.5
    assert old.strength < recent.strength


# --- deployments -----------------------------------------------------------------------------


def deployment(**more: object) -> dict[str, object]:
    return {
        "name": "web",
        "namespace": "shop",
        "age": "300d",
        "revision": 8,
        "selector": "app=web",
        "replicas": {
            "desired": 2,
            "current": 2,
            "ready": 2,
            "updated": 2,
            "available": 2,
            "unavailable": 0,
        },
        "strategy": "RollingUpdate",
        "conditions": [],
        "containers": [{"name": "app", "image": "r/web:2", "limits": {"cpu": "500m"}}],
        "rollout_history": [
            {
                "revision": 8,
                "replicaset": "web-new",
                "age": "20m",
                "images": ["r/web:2"],
                "desired": 2,
                "ready": 2,
            },
            {
                "revision": 7,
                "replicaset": "web-old",
                "age": "9d",
                "images": ["r/web:1"],
                "desired": 0,
                "ready": 0,
            },
        ],
        **more,
    }


def change(minutes_ago: float, *changes: dict[str, str]) -> dict[str, object]:
    return {
        "from_revision": 7,
        "to_revision": 8,
        "from_replicaset": "web-old",
        "to_replicaset": "web-new",
        "changed_at": ago(minutes_ago),
        "changes": list(changes),
    }


def test_a_rollout_shortly_before_the_alert_is_a_lead_with_what_changed() -> None:
    lowered = {"field": "containers[app].limits.cpu", "before": "2", "after": "500m"}
    found = read("kubernetes_get_deployment", deployment(last_change=change(20, lowered)))
    rollout = found["recent_rollout"]
    assert rollout.category is Category.BAD_DEPLOY
    assert rollout.strength < 0.5
    assert rollout.facts["cpu_change"]["direction"] == "lowered"
    assert rollout.facts["change_kinds"] == ["cpu"]


def test_a_rollout_days_before_the_alert_is_only_context() -> None:
    image = {"field": "containers[app].image", "before": "r/web:1", "after": "r/web:2"}
    found = read("kubernetes_get_deployment", deployment(last_change=change(3 * 24 * 60, image)))
    assert "recent_rollout" not in found
    assert found["old_rollout"].category is None


def test_replica_failure_from_a_quota_is_quota_exceeded() -> None:
    condition = {
        "type": "ReplicaFailure",
        "status": "True",
        "reason": "FailedCreate",
        "message": 'pods "web-x" is forbidden: exceeded quota: compute, requested: cpu=1',
    }
    found = read("kubernetes_get_deployment", deployment(conditions=[condition]))
    assert found["replica_failure"].category is Category.QUOTA_EXCEEDED


# --- logs ------------------------------------------------------------------------------------


def logs(text: str, *, previous: bool = True) -> dict[str, Finding]:
    structured = {
        "pod": "api-1",
        "namespace": "pay",
        "container": "api",
        "previous": previous,
        "line_count": text.count("\n") + 1,
        "text": text,
    }
    return kinds(log_findings(outcome("kubernetes_pod_logs", {"name": "api-1"}, structured)))


def test_connection_refused_names_the_dependency_host_and_port() -> None:
    found = logs(
        "INFO starting\n"
        'ERROR connection to server at "postgres" (10.96.4.2), port 5432 failed: '
        "Connection refused\n"
    )
    failed = found["log_connection_failed"]
    assert failed.category is Category.DEPENDENCY_FAILURE
    assert (failed.facts["host"], failed.facts["port"]) == ("postgres", 5432)


@pytest.mark.parametrize(
    "line",
    [
        "ERROR connection to db.billing.svc:5432 refused",
        "WARN connection with db.billing.svc:5432 was reset",
        "error: connection to db.billing.svc:5432 timed out after 5s",
    ],
)
def test_connection_failures_worded_around_the_host_are_recognised(line: str) -> None:
    failed = logs(f"INFO starting\n{line}\nINFO exiting with status 1\n")["log_connection_failed"]
    assert failed.category is Category.DEPENDENCY_FAILURE
    assert (failed.facts["host"], failed.facts["port"]) == ("db.billing.svc", 5432)


def test_an_address_is_named_by_the_host_a_line_just_before_mentions() -> None:
    found = logs(
        '{"level":"info","msg":"checking database","host":"db.pay.svc.cluster.local",'
        '"port":5432}\n'
        '{"level":"error","msg":"startup failed",'
        '"err":{"message":"connect ETIMEDOUT 10.1.2.3:5432",'
        '"stack":"Error\\n at TCPConnectWrap (node:net:1611:16)"}}\n'
    )
    failed = found["log_connection_failed"]
    assert failed.facts["host"] == "db.pay.svc.cluster.local"
    assert failed.facts["address"] == "10.1.2.3"
    assert "startup failed" in failed.facts["line"]


def test_dns_failures_name_the_host_not_the_resolver() -> None:
    found = logs(
        "dial tcp: lookup redis.cart.svc.cluster.local on 10.96.0.10:53: read udp "
        "10.5.0.7:45212->10.96.0.10:53: i/o timeout\n"
    )
    assert found["log_dns_failure"].facts["host"] == "redis.cart.svc.cluster.local"


def test_a_multi_line_config_error_names_the_variable() -> None:
    found = logs(
        "ConfigError: invalid configuration:\n"
        '  REDIS_URL: Invalid url (received "redis//10.1.1.1:6379/0")\n'
        "    at loadConfig (/app/config.js:38:15)\n"
    )
    config = found["log_config_error"]
    assert config.category is Category.BAD_CONFIG
    assert "REDIS_URL" in config.facts["names"]
    assert "Invalid url" in config.facts["line"]


def test_expired_certificates_are_cert_expiry() -> None:
    found = logs("x509: certificate has expired or is not yet valid: current time is after\n")
    assert found["log_cert_expired"].category is Category.CERT_EXPIRY


def test_a_jvm_flag_that_mentions_out_of_memory_is_not_an_out_of_memory_error() -> None:
    found = logs("Picked up JAVA_TOOL_OPTIONS: -XX:+ExitOnOutOfMemoryError\n")
    assert "log_out_of_memory" not in found


def test_crash_quotes_the_line_that_names_the_exception() -> None:
    found = logs(
        "Traceback (most recent call last):\n"
        '  File "/app/worker.py", line 88, in <module>\n'
        "TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'\n"
    )
    assert found["log_crash"].facts["line"].startswith("TypeError")


def test_json_log_lines_read_as_message_and_fields() -> None:
    (entry,) = readable_entries(['{"level":"error","msg":"payment failed","code":502,"pid":1}'])
    assert entry == "error payment failed code=502"


@pytest.mark.timeout(30)
def test_a_megabyte_of_hostile_log_text_is_read_in_bounded_time() -> None:
    # Long runs of the characters the patterns repeat over, with no match at the end.
    hostile = "\n".join(
        ["a" * 999, "host=" + "a." * 495 + "!", "dial tcp " + "9" * 990, "x:" * 499, "{" * 999]
        * 200
    )
    started = time.monotonic()
    logs(hostile[:1_000_000])
    assert time.monotonic() - started < 20


# --- metrics ---------------------------------------------------------------------------------


def test_error_ratio_by_code_jumps_when_5xx_grow() -> None:
    query = 'sum by (code) (rate(http_requests_total{namespace="web", service="shop"}[5m]))'
    ok = series({"code": "200"}, [100.0] * 12)
    errors = series({"code": "500"}, [0.1] * 8 + [25.0] * 4)
    found = read("prometheus_query_range", range_result(query, ok, errors), query=query)
    jump = found["error_rate_jump"]
    assert jump.symptom
    assert jump.category is None
    assert jump.facts["recent"] > 0.15
    assert jump.facts["baseline"] < 0.01
    assert "changed_at" in jump.facts


def test_latency_jump_is_a_symptom_with_when_it_started() -> None:
    query = "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"
    found = read(
        "prometheus_query_range",
        range_result(query, series({}, [0.2] * 9 + [2.0] * 3)),
        query=query,
    )
    assert found["latency_jump"].symptom


def test_cfs_throttling_ratio_above_a_quarter_is_cpu_throttling() -> None:
    query = (
        "sum by (pod) (rate(container_cpu_cfs_throttled_periods_total[5m])) / "
        "sum by (pod) (rate(container_cpu_cfs_periods_total[5m]))"
    )
    found = read(
        "prometheus_query_range",
        range_result(query, series({"pod": "web-1"}, [0.6] * 6)),
        query=query,
    )
    assert found["cpu_throttled"].category is Category.CPU_THROTTLING


def test_an_exporter_that_cannot_reach_its_database_says_so() -> None:
    query = '{__name__=~"[a-z]+_up", namespace="pay"}'
    samples = {
        "query": query,
        "time": ago(0),
        "result_type": "vector",
        "samples": [{"labels": {"__name__": "pg_up", "namespace": "pay"}, "value": 0}],
    }
    down = read("prometheus_query", samples, query=query)["exporter_down"]
    assert down.category is Category.DEPENDENCY_FAILURE
    assert down.facts["technology"] == "PostgreSQL"


def test_memory_reaching_the_limit_is_read_against_the_pods_limit() -> None:
    app = container(limits={"memory": "512Mi"}, ready=True)
    query = 'container_memory_working_set_bytes{pod="web-6c9f7b8d4-x2k4q"}'
    memory = series(
        {"pod": "web-6c9f7b8d4-x2k4q", "container": "app"},
        [3.0e8, 4.5e8, 5.36e8, 2.9e8, 4.6e8, 5.36e8, 3.0e8],
    )
    analysis = analyze_outcomes(
        scene(namespace="shop", pod="web-6c9f7b8d4-x2k4q"),
        [
            outcome(GET_POD, POD_ARGS, pod(containers=[app])),
            outcome("prometheus_query_range", {"query": query}, range_result(query, memory)),
        ],
    )
    at_limit = kinds(analysis.findings)["memory_at_limit"]
    assert at_limit.category is Category.OOM_KILLED
    assert at_limit.facts["drops"] == 2


HPA = {"namespace": "catalog", "horizontalpodautoscaler": "search", "job": "kube-state-metrics"}
HPA_QUERY = (
    '{__name__=~"kube_horizontalpodautoscaler_(status_current_replicas|status_desired_replicas'
    '|spec_max_replicas)", namespace="catalog", horizontalpodautoscaler="search"}'
)


def hpa_series(metric: str, values: list[float]) -> dict[str, object]:
    return series({"__name__": f"kube_horizontalpodautoscaler_{metric}", **HPA}, values)


def test_an_hpa_at_its_maximum_is_capacity_context_with_how_long() -> None:
    found = read(
        "prometheus_query_range",
        range_result(
            HPA_QUERY,
            hpa_series("status_current_replicas", [2, 2, 2, 2, 2, 2, 3, 4, 4, 4, 4]),
            hpa_series("status_desired_replicas", [2, 2, 2, 2, 2, 2, 3, 4, 4, 4, 4]),
            hpa_series("spec_max_replicas", [4] * 11),
        ),
        query=HPA_QUERY,
    )
    at_max = found["hpa_at_max"]
    assert at_max.category is None
    assert not at_max.symptom
    assert at_max.facts["replicas"] == 4
    assert at_max.facts["max_replicas"] == 4
    assert "catalog/search" in at_max.statement
    assert "for 54m" in at_max.statement
    assert "(was 2)" in at_max.statement
    assert "hpa_short" not in found


def test_an_hpa_that_wants_more_replicas_than_it_runs_is_a_symptom() -> None:
    found = read(
        "prometheus_query_range",
        range_result(
            HPA_QUERY,
            hpa_series("status_current_replicas", [3] * 6),
            hpa_series("status_desired_replicas", [3, 3, 3, 6, 6, 6]),
            hpa_series("spec_max_replicas", [10] * 6),
        ),
        query=HPA_QUERY,
    )
    assert found["hpa_headroom"].statement == "HPA catalog/search runs 3 of at most 10 replicas"
    assert found["hpa_short"].symptom
    assert "wants 6 replicas but runs 3" in found["hpa_short"].statement


def test_certificates_are_named_as_their_exporter_names_them() -> None:
    query = "certmanager_certificate_expiration_timestamp_seconds - time()"
    cert_manager = {  # its `instance` is cert-manager's own metrics endpoint
        "instance": "10.42.18.77:9402",
        "issuer_name": "letsencrypt-prod",
        "namespace": "cert-manager",
        "exported_namespace": "partners",
        "name": "partner-api-tls",
    }
    found = read(
        "prometheus_query",
        {
            "query": query,
            "time": ago(0),
            "result_type": "vector",
            "samples": [{"labels": cert_manager, "value": 5 * 86400}],
        },
        query=query,
    )
    expiring = found["cert_expiring"]
    assert expiring.category is Category.CERT_EXPIRY
    assert expiring.facts["certificate"] == "partners/partner-api-tls"
    assert expiring.facts["namespace"] == "partners"
    assert expiring.facts["cert_manager_certificate"] == "partner-api-tls"
    query = "x509_cert_not_after - time()"
    secret = {"secret_namespace": "finance", "secret_name": "tax-engine-tls", "namespace": "mon"}
    found = read(
        "prometheus_query",
        {
            "query": query,
            "time": ago(0),
            "result_type": "vector",
            "samples": [{"labels": secret, "value": -600}],
        },
        query=query,
    )
    assert found["cert_expired"].facts["certificate"] == "Secret finance/tax-engine-tls"
    assert found["cert_expired"].facts["namespace"] == "finance"


def test_a_cert_manager_certificate_that_is_not_ready_cannot_be_renewed() -> None:
    query = 'certmanager_certificate_ready_status{name="api-tls", condition="True"}'
    labels = {"exported_namespace": "web", "name": "api-tls", "condition": "True"}
    found = read(
        "prometheus_query_range",
        range_result(query, series(labels, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])),
        query=query,
    )
    not_ready = found["cert_not_ready"]
    assert not_ready.category is Category.CERT_EXPIRY
    assert 0.5 <= not_ready.strength < 0.85, "a renewal failure, not yet an expired certificate"
    assert "web/api-tls" in not_ready.statement
    assert "since" in not_ready.statement
    ready = read(
        "prometheus_query_range",
        range_result(query, series(labels, [1] * 6)),
        query=query,
    )
    assert ready["cert_ready"].category is None


# --- nodes, volumes, quotas, services, errors ------------------------------------------------


def test_node_not_ready_and_disk_pressure_conditions() -> None:
    node = {
        "name": "n1",
        "status": "NotReady",
        "roles": "<none>",
        "age": "40d",
        "conditions": [
            {
                "type": "Ready",
                "status": "Unknown",
                "reason": "NodeStatusUnknown",
                "message": "Kubelet stopped posting node status.",
            },
            {"type": "DiskPressure", "status": "True", "reason": "KubeletHasDiskPressure"},
        ],
    }
    found = read("kubernetes_get_node", node, name="n1")
    assert found["node_not_ready"].category is Category.NODE_NOT_READY
    assert found["node_disk_pressure"].category is Category.DISK_PRESSURE


def test_pending_pvc_is_pvc_pending_with_its_storage_class() -> None:
    pvc = {
        "name": "data-0",
        "namespace": "db",
        "phase": "Pending",
        "storage_class": "fast",
        "requested": "10Gi",
        "age": "5m",
        "used_by": ["db-0"],
        "events": [],
    }
    finding = read("kubernetes_get_pvc", pvc)["pvc_not_bound"]
    assert finding.category is Category.PVC_PENDING
    assert finding.facts["storage_class"] == "fast"


def test_exhausted_quota_is_a_hint_until_a_rejection_shows_it() -> None:
    quotas = {
        "quotas": [
            {
                "name": "compute",
                "namespace": "batch",
                "resources": [
                    {
                        "resource": "requests.cpu",
                        "hard": "4",
                        "used": "4",
                        "used_percent": 100,
                        "exhausted": True,
                    }
                ],
            }
        ]
    }
    finding = read("kubernetes_list_resource_quotas", quotas, namespace="batch")["quota_exhausted"]
    assert finding.category is Category.QUOTA_EXCEEDED
    assert finding.strength < 0.6


def test_a_service_without_ready_endpoints_is_a_dependency_unless_it_is_the_target() -> None:
    service = {
        "name": "postgres",
        "namespace": "shop",
        "type": "ClusterIP",
        "selector": {"app": "pg"},
        "matching_pods": 1,
        "ready_endpoints": [],
        "not_ready_endpoints": ["10.0.0.5:5432 (pg-0)"],
        "ports": [{"port": 5432, "target_port": "5432"}],
        "age": "9d",
        "events": [],
    }
    other = read("kubernetes_get_service", service)["service_without_endpoints"]
    assert other.category is Category.DEPENDENCY_FAILURE
    own = kinds(
        read_outcome(outcome("kubernetes_get_service", {}, service), scene(service="postgres"))
    )["service_without_endpoints"]
    assert own.category is None
    assert own.symptom


def test_external_name_services_are_outside_the_cluster() -> None:
    service = {
        "name": "db",
        "namespace": "pay",
        "type": "ExternalName",
        "selector": {},
        "ready_endpoints": [],
        "not_ready_endpoints": [],
        "ports": [],
        "age": "1y",
        "events": [],
    }
    assert "service_external" in read("kubernetes_get_service", service)


def test_tool_errors_are_evidence_not_crashes() -> None:
    unreachable = outcome(
        GET_POD,
        POD_ARGS,
        None,
        status=ToolStatus.ERROR,
        text="cannot reach the Kubernetes API at https://127.0.0.1:1: connection refused.",
    )
    missing = outcome(
        GET_POD,
        {"name": "gone", "namespace": "shop"},
        None,
        status=ToolStatus.ERROR,
        text='pod shop/gone not found (the API said: pods "gone" not found)',
    )
    assert read_outcome(unreachable, scene())[0].kind == "api_unreachable"
    assert read_outcome(missing, scene())[0].kind == "not_found"


def test_a_result_of_an_unexpected_shape_yields_no_findings_instead_of_an_error() -> None:
    assert read_outcome(outcome(GET_POD, POD_ARGS, ["not", "a", "pod"]), scene()) == []
    assert read_outcome(outcome("kubernetes_list_events", {}, {"events": "nope"}), scene()) == []


def test_log_rules_can_be_searched_over_all_lines_at_once() -> None:
    """`log_findings` rules a pattern out with one search over the joined lines; that holds only
    while no pattern anchors to a line's start or end or looks behind for one."""
    for rule in LOG_RULES:
        source = rule.pattern.pattern
        for anchor in ("^", "$", "\\A", "\\Z", "(?<!", "(?<="):
            if anchor in ("(?<!", "(?<="):
                behind = source.split(anchor)[1:]
                assert all(not part.startswith(("\\n", "^", ".")) for part in behind), rule.kind
                assert all("\\n" not in part.split(")")[0] for part in behind), rule.kind
                continue
            assert anchor not in source.replace("[^", "["), (rule.kind, anchor)
        # The lowercased copy means the same only while no escape is an uppercase letter.
        assert not re.search(r"\\[A-Z]", source), rule.kind
        assert source.isascii(), rule.kind


@pytest.mark.parametrize(
    "line",
    [
        "ERROR Connection Refused by db.shop.svc:5432",
        "FATAL: PASSWORD AUTHENTICATION FAILED for user app",
        "java.lang.OutOfMemoryError: Java heap space",
        "Error: ENOSPC: No Space Left On Device, write",
        "panic: runtime error: invalid memory address",
        "Straße: connection refused",  # not ASCII: the IGNORECASE pattern decides
    ],
)
def test_the_fast_log_search_finds_what_the_case_blind_patterns_find(
    line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for rule in LOG_RULES:
        assert rule.folded is not None
        if line.isascii():
            expected = bool(rule.pattern.search(line))
            assert bool(rule.folded.search(line.lower())) == expected, (rule.kind, line)
    fast = set(logs(line))
    assert fast - {"logs_tail"}  # every line here is one some rule reads
    slow_rules = tuple(dataclasses.replace(rule, folded=None) for rule in LOG_RULES)
    monkeypatch.setattr("agent.offline.logs.LOG_RULES", slow_rules)
    assert set(logs(line)) == fast
