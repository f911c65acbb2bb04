"""How objects are read: kubectl's STATUS words, ages, quantities, probes, env references, rollout
diffs and quotas, each from API JSON alone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from mcp_bridge.servers.kubernetes import views
from mcp_bridge.servers.kubernetes.kubectl import format_selector, human_duration, pod_summary


def pod(
    containers: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    **status: Any,
) -> dict[str, Any]:
    spec_containers = [{"name": c["name"]} for c in containers or []] or [{"name": "app"}]
    spec: dict[str, Any] = {"containers": spec_containers}
    if init is not None:
        spec["initContainers"] = [{"name": c["name"]} for c in init]
    body: dict[str, Any] = {
        "metadata": {"name": "p"},
        "spec": spec,
        "status": {"phase": "Running", **status},
    }
    if containers is not None:
        body["status"]["containerStatuses"] = containers
    if init is not None:
        body["status"]["initContainerStatuses"] = init
    return body


@pytest.mark.parametrize(
    ("body", "status", "ready"),
    [
        (pod([{"name": "app", "ready": True, "state": {"running": {}}}]), "Running", "1/1"),
        (
            pod([{"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]),
            "CrashLoopBackOff",
            "0/1",
        ),
        (
            pod(
                [{"name": "app", "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]
            ),
            "OOMKilled",
            "0/1",
        ),
        (pod([{"name": "app", "state": {"terminated": {"exitCode": 2}}}]), "ExitCode:2", "0/1"),
        (
            pod([{"name": "app", "state": {"terminated": {"exitCode": 0, "signal": 9}}}]),
            "Signal:9",
            "0/1",
        ),
        (pod(phase="Pending"), "Pending", "0/1"),
        (pod(phase="Failed", reason="Evicted"), "Evicted", "0/1"),
        (
            pod(
                [{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}],
                init=[
                    {
                        "name": "migrate",
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                        "restartCount": 3,
                    }
                ],
                phase="Pending",
            ),
            "Init:CrashLoopBackOff",
            "0/1",
        ),
        (
            pod(
                [{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}],
                init=[{"name": "migrate", "state": {"running": {}}}],
                phase="Pending",
            ),
            "Init:0/1",
            "0/1",
        ),
        (
            pod(
                [{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}],
                init=[
                    {"name": "migrate", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
                ],
                phase="Pending",
            ),
            "Init:Error",
            "0/1",
        ),
    ],
)
def test_pod_status_word_is_the_one_kubectl_prints(
    body: dict[str, Any], status: str, ready: str
) -> None:
    summary = pod_summary(body)
    assert (summary.status, summary.ready) == (status, ready)


def test_a_pod_being_deleted_is_terminating() -> None:
    body = pod([{"name": "app", "ready": True, "state": {"running": {}}}])
    body["metadata"]["deletionTimestamp"] = "2024-05-01T10:00:00Z"
    assert pod_summary(body).status == "Terminating"


def test_restarts_count_and_when_the_last_one_was() -> None:
    body = pod(
        [
            {
                "name": "a",
                "restartCount": 2,
                "lastState": {"terminated": {"finishedAt": "2024-05-01T10:00:00Z"}},
            },
            {
                "name": "b",
                "restartCount": 3,
                "lastState": {"terminated": {"finishedAt": "2024-05-01T10:05:00Z"}},
            },
        ]
    )
    summary = pod_summary(body)
    assert summary.restarts == 5
    assert summary.restarts_text(summary.last_restart + 70) == "5 (70s ago)"  # type: ignore[operator]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (0, "0s"),
        (119, "119s"),
        (125, "2m5s"),
        (600, "10m"),
        (7200, "120m"),
        (3 * 3600 + 60, "3h1m"),
        (10 * 3600, "10h"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (30 * 86400, "30d"),
        (800 * 86400, "2y70d"),
        (3000 * 86400, "8y"),
    ],
)
def test_ages_read_like_kubectl(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_selectors_read_like_kubectl() -> None:
    selector = {
        "matchLabels": {"tier": "web", "app": "shop"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "canary"]},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    assert format_selector(selector) == "app=shop,tier=web,env in (canary,prod),!legacy"
    assert format_selector(None) == "<none>"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", "0.25"),
        ("512Mi", "536870912"),
        ("1Gi", "1073741824"),
        ("2", "2"),
        ("1.5G", "1500000000"),
        ("1e3", "1000"),
    ],
)
def test_quantities(text: str, value: str) -> None:
    assert views.parse_quantity(text) == Decimal(value)


def test_unreadable_quantity_is_none_and_formats_are_exact() -> None:
    assert views.parse_quantity("lots") is None
    assert views.format_quantity("cpu", Decimal("1.1")) == "1100m"
    assert views.format_quantity("cpu", Decimal("2")) == "2"
    assert views.format_quantity("memory", Decimal(896 * 2**20)) == "896Mi"
    assert views.format_quantity("memory", Decimal(1000)) == "1000"


def test_probe_handlers_read_like_describe() -> None:
    spec = views.container_spec(
        {
            "name": "app",
            "image": "x",
            "livenessProbe": {"tcpSocket": {"port": 5432}, "timeoutSeconds": 3},
            "readinessProbe": {"exec": {"command": ["cat", "/tmp/ready file"]}},
            "startupProbe": {
                "httpGet": {"path": "/up", "port": 8443, "scheme": "HTTPS"},
                "failureThreshold": 30,
            },
        }
    )
    assert spec.liveness_probe is not None
    assert spec.liveness_probe.handler == "tcp-socket :5432"
    assert spec.liveness_probe.timeout_s == 3
    assert spec.readiness_probe is not None
    assert spec.readiness_probe.handler == "exec cat '/tmp/ready file'"
    assert spec.startup_probe is not None
    assert spec.startup_probe.handler == "https-get :8443/up"
    assert spec.startup_probe.failure_threshold == 30


def test_env_shows_references_not_secret_values() -> None:
    spec = views.container_spec(
        {
            "name": "app",
            "image": "x",
            "env": [
                {"name": "DB_PASSWORD", "value": "hunter2"},
                {"name": "LOG_LEVEL", "value": "info"},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {
                    "name": "KEY",
                    "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}},
                },
            ],
            "envFrom": [{"configMapRef": {"name": "cfg"}}],
        }
    )
    assert spec.env == {"DB_PASSWORD": "<redacted>", "LOG_LEVEL": "info"}
    assert [(r.variable, r.kind, r.name, r.key, r.optional) for r in spec.env_refs] == [
        ("POD_IP", "Field", "status.podIP", None, False),
        ("KEY", "Secret", "s", "k", True),
        (None, "ConfigMap", "cfg", None, False),
    ]


def replicaset(revision: int, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"rs-{revision}",
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
        },
        "spec": {"template": {"spec": {"containers": containers, **spec}}},
    }


def test_rollout_change_lists_every_difference_and_only_those() -> None:
    old = replicaset(
        4,
        [
            {
                "name": "app",
                "image": "a:1",
                "args": ["--port", "80"],
                "resources": {"limits": {"memory": "1Gi"}},
            }
        ],
        volumes=[{"name": "cfg", "configMap": {"name": "app-v1"}}],
    )
    new = replicaset(
        5,
        [
            {
                "name": "app",
                "image": "a:1",
                "args": ["--port", "8080"],
                "resources": {"limits": {"memory": "1Gi"}},
            },
            {"name": "proxy", "image": "envoy:1"},
        ],
        volumes=[{"name": "cfg", "configMap": {"name": "app-v2"}}],
    )
    change = views.rollout_change(old, new, now=0)
    assert (change.from_revision, change.to_revision) == (4, 5)
    assert {(c.field, c.before, c.after) for c in change.changes} == {
        ("containers[app].args", "--port 80", "--port 8080"),
        ("containers[proxy].image", None, "envoy:1"),
        ("volumes.cfg", "configMap app-v1", "configMap app-v2"),
    }


def test_replicasets_of_a_deployment_newest_revision_first() -> None:
    deployment = {"metadata": {"uid": "d1"}}
    owned = [
        {
            "metadata": {
                "name": f"rs-{n}",
                "annotations": {"deployment.kubernetes.io/revision": str(n)},
                "ownerReferences": [{"uid": "d1"}],
            }
        }
        for n in (2, 10, 9)
    ]
    stranger = {"metadata": {"name": "other", "ownerReferences": [{"uid": "d2"}]}}
    found = views.owned_replicasets(deployment, [*owned, stranger])
    assert [rs["metadata"]["name"] for rs in found] == ["rs-10", "rs-9", "rs-2"]


def test_quota_usage_and_exhaustion() -> None:
    summary = views.quota_summary(
        {
            "metadata": {"name": "q", "namespace": "n"},
            "status": {
                "hard": {"requests.cpu": "2", "pods": "10"},
                "used": {"requests.cpu": "2000m"},
            },
        }
    )
    usage = {u.resource: u for u in summary.resources}
    assert usage["requests.cpu"].exhausted is True
    assert usage["requests.cpu"].used_percent == 100
    assert (usage["pods"].used, usage["pods"].exhausted) == ("0", False)


def test_event_series_counts_and_times_win() -> None:
    row = views.event_row(
        {
            "metadata": {"namespace": "n"},
            "involvedObject": {"kind": "Pod", "name": "p"},
            "reason": "BackOff",
            "message": " Back-off \n",
            "eventTime": "2024-05-01T10:00:00.000000Z",
            "series": {"count": 7, "lastObservedTime": "2024-05-01T10:05:00.000000Z"},
            "reportingComponent": "kubelet",
            "reportingInstance": "node-1",
        },
        now=1714557960.0,  # 2024-05-01T10:06:00Z
    )
    assert (row.count, row.type, row.message) == (7, "Normal", "Back-off")
    assert row.last_seen == "2024-05-01T10:05:00.000000Z"
    assert row.last_seen_ago == "60s"
    assert row.source == "kubelet, node-1"


def test_cap_says_what_was_cut_and_how_to_narrow() -> None:
    kept, cut = views.cap([1, 2, 3], 2, "pods", "pass a namespace")
    assert kept == [1, 2]
    assert cut is not None
    assert (cut.what, cut.omitted, cut.hint) == ("pods", 1, "pass a namespace")
    assert views.cap([1], 2, "pods", "") == ([1], None)
