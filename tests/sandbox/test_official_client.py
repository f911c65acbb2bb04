"""The official `kubernetes` Python client reads the sandbox through the kubeconfig it writes, with
typed models, selectors, logs and ApiExceptions, as it would a cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from mcp_bridge.sandbox import Sandbox


def api_client(sandbox: Sandbox) -> k8s.ApiClient:
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(
        config_file=str(sandbox.kubeconfig_path),
        client_configuration=configuration,
        persist_config=False,
    )
    return k8s.ApiClient(configuration)


@pytest.fixture(scope="module")
def lab_client(lab: Sandbox) -> Iterator[k8s.ApiClient]:
    with api_client(lab) as client:
        yield client


@pytest.fixture(scope="module")
def checkout_client(checkout: Sandbox) -> Iterator[k8s.ApiClient]:
    with api_client(checkout) as client:
        yield client


def test_typed_pod_with_an_oom_killed_last_state(
    checkout_client: k8s.ApiClient, checkout: Sandbox
) -> None:
    pod = k8s.CoreV1Api(checkout_client).read_namespaced_pod("checkout-6c9f7b8d4-x2k4q", "shop")
    status = pod.status.container_statuses[0]
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert status.last_state.terminated.reason == "OOMKilled"
    assert status.last_state.terminated.exit_code == 137
    assert status.restart_count == 5
    finished = status.last_state.terminated.finished_at
    assert finished == datetime.fromtimestamp(checkout.now - 70, UTC)
    assert pod.spec.containers[0].resources.limits["memory"] == "512Mi"
    assert pod.metadata.owner_references[0].kind == "ReplicaSet"


def test_lists_with_selectors_across_kinds(lab_client: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(lab_client)
    pods = core.list_pod_for_all_namespaces(label_selector="app in (web)")
    assert sorted(p.metadata.name for p in pods.items) == ["web-7d4b9c-abcde", "web-7d4b9c-fghij"]
    worker = core.list_namespaced_pod("lab", field_selector="metadata.name=worker-0").items[0]
    assert worker.status.init_container_statuses[0].last_state.terminated.exit_code == 1
    events = core.list_namespaced_event("lab", field_selector="involvedObject.name=data-worker-0")
    assert events.items[0].reason == "ProvisioningFailed"
    assert [n.metadata.name for n in core.list_node().items] == ["node-a", "node-b"]
    claims = core.list_namespaced_persistent_volume_claim("lab").items
    assert {c.metadata.name: c.status.phase for c in claims} == {
        "data-worker-0": "Pending",
        "logs": "Bound",
    }
    quota = core.list_namespaced_resource_quota("lab").items[0]
    assert quota.status.used["requests.memory"] == "3840Mi"
    assert core.read_namespaced_endpoints("web", "lab").subsets[0].addresses[0].ip == "10.1.0.5"
    assert (
        core.read_namespaced_config_map("web-config", "lab").data["flags"] == "beta-search,new-cart"
    )

    apps = k8s.AppsV1Api(lab_client)
    replicasets = apps.list_namespaced_replica_set("lab", label_selector="app=web").items
    assert sorted(
        rs.metadata.annotations["deployment.kubernetes.io/revision"] for rs in replicasets
    ) == ["2", "3"]
    assert apps.read_namespaced_stateful_set("worker", "lab").spec.service_name == "worker"
    assert k8s.BatchV1Api(lab_client).list_namespaced_job("lab").items[0].status.succeeded == 1
    classes = k8s.StorageV1Api(lab_client).list_storage_class().items
    assert classes[0].volume_binding_mode == "WaitForFirstConsumer"
    leases = k8s.CoordinationV1Api(lab_client).list_namespaced_lease("kube-node-lease").items
    assert {lease.spec.holder_identity for lease in leases} == {"node-a", "node-b"}


def test_hpa_v2(checkout_client: k8s.ApiClient) -> None:
    hpa = k8s.AutoscalingV2Api(checkout_client).read_namespaced_horizontal_pod_autoscaler(
        "checkout", "shop"
    )
    assert hpa.status.current_metrics[0].resource.current.average_utilization == 142


def test_pod_logs_with_previous_and_tail(checkout_client: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(checkout_client)
    text = core.read_namespaced_pod_log(
        "checkout-6c9f7b8d4-x2k4q", "shop", previous=True, tail_lines=1
    )
    assert text.startswith(
        "WARN  [Thread-14] c.e.shop.checkout.metrics.MemoryReporter : heap used 377MB"
    )


def test_not_found_and_forbidden_raise_api_exceptions_with_status_bodies(
    lab_client: k8s.ApiClient,
) -> None:
    core = k8s.CoreV1Api(lab_client)
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("nope", "lab")
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["reason"] == "NotFound"
    with pytest.raises(ApiException) as forbidden:
        core.read_namespaced_secret("web-secret", "lab")
    assert forbidden.value.status == 403
    with pytest.raises(ApiException) as refused:
        core.delete_namespaced_pod("api-0", "lab")
    assert refused.value.status == 403
