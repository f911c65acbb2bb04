"""The kubernetes MCP server through a real MCP client session, against sandboxes: each tool's
facts (the ones an analyzer diagnoses from), caps with hints, and clear errors."""

from __future__ import annotations

import ast
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from mcp_bridge.sandbox import Sandbox, parse_scenario
from mcp_bridge.sandbox.runner import write_kubeconfig
from mcp_bridge.servers.kubernetes import build_server
from mcp_bridge.servers.kubernetes.client import ConfigurationError
from tests.sandbox.running import sandbox_in_thread

from .conftest import call, call_error, kubernetes_session

ROOT = Path(__file__).parents[2]
TOOLS = {
    "list_namespaces",
    "list_pods",
    "get_pod",
    "pod_logs",
    "list_events",
    "list_deployments",
    "get_deployment",
    "list_nodes",
    "get_node",
    "list_pvcs",
    "get_pvc",
    "list_resource_quotas",
    "list_services",
    "get_service",
    "get_configmap",
}


# -- the tool list -----------------------------------------------------------------------------


async def test_tools_are_the_contracted_ones_all_read_only_with_output_schemas(
    lab: Sandbox,
) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        tools = (await lab_session.list_tools()).tools
        assert {tool.name for tool in tools} == TOOLS
        for tool in tools:
            assert tool.annotations is not None
            assert tool.annotations.readOnlyHint is True
            assert tool.annotations.destructiveHint is False
            assert tool.annotations.idempotentHint is True
            assert tool.outputSchema is not None
            assert tool.description
        by_name = {tool.name: tool for tool in tools}
        assert set(by_name["pod_logs"].inputSchema["properties"]) == {
            "name", "namespace", "container", "previous", "tail_lines", "since_seconds", "grep",
        }  # fmt: skip
        assert set(by_name["list_events"].inputSchema["properties"]) == {
            "namespace", "involved_object", "kind", "warnings_only", "limit",
        }  # fmt: skip


async def test_text_content_is_the_structured_result_as_compact_json(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        result = await lab_session.call_tool("list_namespaces", {})
        text = result.content[0].text  # type: ignore[union-attr]
        assert json.loads(text) == result.structuredContent
        assert "\n" not in text
        assert "null" not in text


# -- pods ----------------------------------------------------------------------------------------


async def test_list_pods_puts_problem_pods_first_with_kubectl_status(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        result = await call(lab_session, "list_pods")
        rows = {row["name"]: row for row in result["pods"]}
        assert result["total"] == 6
        order = [row["name"] for row in result["pods"]]
        assert set(order[-2:]) == {"report-28731440-x9k2l", "web-7d4b9c-abcde"}  # healthy ones last
        assert result["pods"][0]["status"] != "Running"
        assert rows["worker-0"]["status"] == "Init:CrashLoopBackOff"
        assert rows["web-7d4b9c-fghij"]["ready"] == "1/2"
        assert rows["api-0"] | {"age": None} == {
            "name": "api-0",
            "namespace": "lab",
            "phase": "Running",
            "status": "Running",
            "ready": "1/1",
            "restarts": 4,
            "last_restart_ago": rows["api-0"]["last_restart_ago"],
            "last_termination_reason": "Error",
            "last_exit_code": 137,
            "age": None,
            "node": "node-a",
        }
        assert "node" not in rows["pending-6f7d8c9b5-zz9xw"]  # nulls are left out


async def test_list_pods_passes_selectors_and_caps_with_a_hint(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        web = await call(lab_session, "list_pods", namespace="lab", label_selector="app=web")
        assert {row["name"] for row in web["pods"]} == {"web-7d4b9c-abcde", "web-7d4b9c-fghij"}
        pending = await call(lab_session, "list_pods", field_selector="status.phase=Pending")
        assert pending["total"] == 3
        capped = await call(lab_session, "list_pods", limit=2)
        assert len(capped["pods"]) == 2
        assert capped["total"] == 6
        assert capped["truncated"]["what"] == "pods"
        assert capped["truncated"]["omitted"] == 4
        assert "label_selector" in capped["truncated"]["hint"]
        message = await call_error(lab_session, "list_pods", field_selector="spec.image=x")
        assert "field label not supported: spec.image" in message


async def test_get_pod_shows_an_oom_kill(checkout: Sandbox) -> None:
    async with kubernetes_session(checkout.kubeconfig_path) as checkout_session:
        pod = await call(
            checkout_session, "get_pod", name="checkout-6c9f7b8d4-x2k4q", namespace="shop"
        )
        assert pod["status"] == "CrashLoopBackOff"
        assert pod["owner"] == {"kind": "ReplicaSet", "name": "checkout-6c9f7b8d4"}
        assert pod["controller"] == {"kind": "Deployment", "name": "checkout"}
        [app] = pod["containers"]
        assert app["state"]["state"] == "waiting"
        assert app["state"]["reason"] == "CrashLoopBackOff"
        assert app["last_termination"]["reason"] == "OOMKilled"
        assert app["last_termination"]["exit_code"] == 137
        assert app["restart_count"] == 5
        assert app["limits"] == {"cpu": "1", "memory": "512Mi"}
        assert app["requests"] == {"cpu": "250m", "memory": "384Mi"}
        assert {
            "variable": "DB_PASSWORD",
            "kind": "Secret",
            "name": "checkout-db",
            "key": "password",
            "optional": False,
        } in app["env_refs"]
        assert app["liveness_probe"]["handler"] == "http-get :http/actuator/health/liveness"
        assert pod["events"][0]["reason"] == "BackOff"  # newest first
        assert pod["events"][0]["count"] == 11
        ready = next(c for c in pod["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "ContainersNotReady")


async def test_get_pod_shows_why_a_pod_is_not_scheduled(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        pod = await call(lab_session, "get_pod", name="pending-6f7d8c9b5-zz9xw", namespace="lab")
        scheduled = next(c for c in pod["conditions"] if c["type"] == "PodScheduled")
        assert scheduled["status"] == "False"
        assert scheduled["reason"] == "Unschedulable"
        assert "1 Insufficient memory" in scheduled["message"]
        assert pod["events"][0]["reason"] == "FailedScheduling"
        assert pod["containers"][0]["requests"] == {"cpu": "1", "memory": "6Gi"}
        assert pod["containers"][0]["state"] == {"state": "unknown"}


async def test_get_pod_shows_image_pull_failure_and_never_secret_values(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        pod = await call(lab_session, "get_pod", name="web-7d4b9c-fghij", namespace="lab")
        app, sidecar = pod["containers"]
        assert app["state"]["reason"] == "ImagePullBackOff"
        assert app["state"]["message"] == 'Back-off pulling image "registry.local/web:v2.0.1"'
        assert sidecar["state"]["state"] == "running"
        assert pod["events"][0]["reason"] == "Failed"
        assert "not found" in pod["events"][0]["message"]
        assert app["env"] == {"LOG_LEVEL": "debug", "API_TOKEN": "<redacted>"}
        assert {"kind": "Secret", "name": "web-secret", "optional": False, "prefix": "WEB_"} in app[
            "env_refs"
        ]
        assert app["volume_mounts"] == ["/etc/web from config (ro)"]
        assert pod["volumes"] == [{"name": "config", "kind": "configMap", "source": "web-config"}]
        assert "s3cr3t" not in json.dumps(pod)


async def test_get_pod_shows_init_container_failures_and_probe_kills(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        worker = await call(lab_session, "get_pod", name="worker-0", namespace="lab")
        [migrate] = worker["init_containers"]
        assert migrate["init"] is True
        assert migrate["command"] == ["/bin/migrate", "--to", "latest"]
        assert migrate["state"]["reason"] == "CrashLoopBackOff"
        assert migrate["last_termination"]["exit_code"] == 1
        assert worker["controller"] == {"kind": "StatefulSet", "name": "worker"}
        assert worker["volumes"][0] == {
            "name": "data",
            "kind": "persistentVolumeClaim",
            "source": "data-worker-0",
        }

        api = await call(lab_session, "get_pod", name="api-0", namespace="lab")
        probe = api["containers"][0]["liveness_probe"]
        assert probe == {
            "handler": "http-get :8080/healthz",
            "initial_delay_s": 5,
            "timeout_s": 1,
            "period_s": 10,
            "success_threshold": 1,
            "failure_threshold": 3,
        }
        assert [e["reason"] for e in api["events"]] == ["Killing", "Unhealthy"]
        assert api["events"][1]["message"].startswith("Liveness probe failed")
        assert api["events"][1]["field_path"] == "spec.containers{api}"


async def test_pod_logs(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        previous = await call(lab_session, "pod_logs", name="api-0", namespace="lab", previous=True)
        assert previous["text"].splitlines()[-1] == "slow query: SELECT * FROM orders (6.8s)"
        assert previous["line_count"] == 3
        assert "truncated" not in previous
        tail = await call(
            lab_session, "pod_logs", name="api-0", namespace="lab", previous=True, tail_lines=1
        )
        assert tail["text"] == "slow query: SELECT * FROM orders (6.8s)"
        assert tail["truncated"]["what"] == "lines"
        assert (
            "omitted" not in tail["truncated"]
        )  # lines before the tail were not read: unknown count
        grep = await call(
            lab_session, "pod_logs", name="api-0", namespace="lab", previous=True, grep="SLOW"
        )
        assert grep["line_count"] == 2
        assert grep["grep"] == "SLOW"
        grep_one = await call(
            lab_session,
            "pod_logs",
            name="api-0",
            namespace="lab",
            previous=True,
            grep="slow",
            tail_lines=1,
        )
        assert grep_one["truncated"]["omitted"] == 1
        recent = await call(
            lab_session,
            "pod_logs",
            name="web-7d4b9c-abcde",
            namespace="lab",
            container="app",
            since_seconds=200,
        )
        assert recent["text"] == "ERROR upstream timeout talking to cart\nGET / 200"


async def test_pod_logs_defaults_to_the_first_container_and_says_so(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        logs = await call(lab_session, "pod_logs", name="web-7d4b9c-abcde", namespace="lab")
        assert logs["container"] == "app"
        assert logs["note"] == "container defaulted to app; the pod also has: sidecar"


async def test_pod_logs_errors_are_clear(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        message = await call_error(
            lab_session, "pod_logs", name="web-7d4b9c-abcde", namespace="lab", previous=True
        )
        assert 'previous terminated container "app" in pod "web-7d4b9c-abcde" not found' in message
        message = await call_error(
            lab_session, "pod_logs", name="api-0", namespace="lab", grep="(unclosed"
        )
        assert "grep '(unclosed' is not a valid regular expression" in message
        message = await call_error(lab_session, "pod_logs", name="nope", namespace="lab")
        assert 'pod lab/nope not found (the API said: pods "nope" not found)' in message


# -- events, workloads ---------------------------------------------------------------------------


async def test_list_events_filters_and_orders_newest_first(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        warnings = await call(lab_session, "list_events", namespace="lab", warnings_only=True)
        assert {e["type"] for e in warnings["events"]} == {"Warning"}
        assert warnings["events"][0]["reason"] == "ProvisioningFailed"  # 10 s ago
        seen = [e["last_seen"] for e in warnings["events"]]
        assert seen == sorted(seen, reverse=True)
        pod = await call(lab_session, "list_events", involved_object="Pod/api-0")
        assert {e["reason"] for e in pod["events"]} == {"Unhealthy", "Killing"}
        quota = await call(lab_session, "list_events", namespace="lab", kind="rs")
        [failed] = quota["events"]
        assert (failed["object_kind"], failed["object_name"], failed["reason"]) == (
            "ReplicaSet",
            "batch-5f6d7c8b9",
            "FailedCreate",
        )
        assert "exceeded quota: lab-quota" in failed["message"]
        node = await call(lab_session, "list_events", involved_object="node-b")
        assert node["events"][0]["namespace"] == "default"
        capped = await call(lab_session, "list_events", limit=1)
        assert capped["truncated"]["omitted"] == capped["total"] - 1


async def test_list_deployments_puts_those_short_of_replicas_first(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        rows = (await call(lab_session, "list_deployments", namespace="lab"))["deployments"]
        assert [row["name"] for row in rows] == ["batch", "web"]
        assert rows[1]["ready"] == "1/2"
        assert rows[1]["images"] == ["registry.local/web:v2.0.1", "registry.local/proxy:1.22"]


async def test_get_deployment_shows_rollout_history_and_what_changed(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        web = await call(lab_session, "get_deployment", name="web", namespace="lab")
        assert web["revision"] == 3
        assert [r["revision"] for r in web["rollout_history"]] == [3, 2]
        assert web["rollout_history"][0]["change_cause"] == "lower memory"
        change = web["last_change"]
        assert (change["from_revision"], change["to_revision"]) == (2, 3)
        assert change["to_replicaset"] == "web-7d4b9c"
        assert {(c["field"], c.get("before"), c.get("after")) for c in change["changes"]} == {
            ("containers[app].image", "registry.local/web:v2.0.0", "registry.local/web:v2.0.1"),
            ("containers[app].limits.memory", "256Mi", "128Mi"),
            ("containers[app].env.LOG_LEVEL", "info", "debug"),
        }
        assert web["replicas"] == {
            "desired": 2,
            "current": 3,
            "ready": 1,
            "updated": 2,
            "available": 1,
            "unavailable": 2,
        }
        assert web["strategy"] == "RollingUpdate maxSurge=1 maxUnavailable=0"
        assert web["events"][0]["reason"] == "ScalingReplicaSet"


async def test_get_deployment_shows_quota_rejections_of_its_replicaset(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        batch = await call(lab_session, "get_deployment", name="batch", namespace="lab")
        assert "last_change" not in batch  # one revision: nothing to compare
        failed = batch["events"][0]
        assert (failed["object_kind"], failed["reason"]) == ("ReplicaSet", "FailedCreate")
        assert "exceeded quota: lab-quota" in failed["message"]
        assert batch["conditions"][0]["reason"] == "FailedCreate"


async def test_get_deployment_shows_a_new_configmap_key_reference() -> None:
    with sandbox_in_thread("orders-missing-config-key") as orders:
        async with kubernetes_session(orders.kubeconfig_path) as session:
            deployment = await call(session, "get_deployment", name="orders", namespace="shop")
            pod = await call(session, "get_pod", name="orders-7f6d5c9b8-r2xkp", namespace="shop")
    changes = {c["field"]: c for c in deployment["last_change"]["changes"]}
    added = changes["containers[app].env.PAYMENT_GATEWAY_URL"]
    assert "before" not in added
    assert added["after"] == "from ConfigMap orders-config key PAYMENT_GATEWAY_URL"
    assert deployment["rollout_history"][0]["change_cause"] == "deploy orders 3.9.0 (pipeline 4821)"
    progressing = next(c for c in deployment["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "ProgressDeadlineExceeded"
    state = pod["containers"][0]["state"]
    assert state["reason"] == "CreateContainerConfigError"
    assert (
        state["message"] == "couldn't find key PAYMENT_GATEWAY_URL in ConfigMap shop/orders-config"
    )


# -- nodes, storage, quotas, services, config ----------------------------------------------------


async def test_nodes(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        rows = (await call(lab_session, "list_nodes"))["nodes"]
        assert rows[0]["name"] == "node-b"
        assert rows[0]["status"] == "NotReady"
        assert rows[0]["problems"] == ["Ready=Unknown"]
        assert rows[0]["taints"] == [
            "node.kubernetes.io/unreachable:NoSchedule",
            "node.kubernetes.io/unreachable:NoExecute",
        ]
        node = await call(lab_session, "get_node", name="node-a")
        allocated = {a["resource"]: a for a in node["allocated"]}
        assert (allocated["cpu"]["requests"], allocated["cpu"]["requests_percent"]) == ("1100m", 55)
        assert (allocated["memory"]["requests"], allocated["memory"]["requests_percent"]) == (
            "896Mi",
            21,
        )
        assert allocated["memory"]["limits"] == "1280Mi"
        assert {p["name"] for p in node["pods"]} == {
            "api-0",
            "web-7d4b9c-abcde",
            "web-7d4b9c-fghij",
            "worker-0",
        }
        assert node["roles"] == "worker"
        down = await call(lab_session, "get_node", name="node-b")
        ready = next(c for c in down["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["message"]) == (
            "Unknown",
            "Kubelet stopped posting node status.",
        )
        assert down["events"][0]["reason"] == "NodeNotReady"


async def test_pvcs(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        rows = (await call(lab_session, "list_pvcs"))["pvcs"]
        assert [(r["name"], r["phase"]) for r in rows] == [
            ("data-worker-0", "Pending"),
            ("logs", "Bound"),
        ]
        claim = await call(lab_session, "get_pvc", name="data-worker-0", namespace="lab")
        assert claim["storage_class"] == "fast-ssd"
        assert claim["requested"] == "20Gi"
        assert claim["provisioner"] == "ebs.csi.aws.com"
        assert claim["used_by"] == ["worker-0"]
        assert claim["events"][0]["reason"] == "ProvisioningFailed"
        assert claim["events"][0]["message"] == 'storageclass.storage.k8s.io "fast-ssd" not found'


async def test_resource_quotas(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        [quota] = (await call(lab_session, "list_resource_quotas", namespace="lab"))["quotas"]
        usage = {u["resource"]: u for u in quota["resources"]}
        assert usage["requests.memory"] == {
            "resource": "requests.memory",
            "hard": "4Gi",
            "used": "3840Mi",
            "used_percent": 93,
            "exhausted": False,
        }
        assert usage["limits.memory"]["exhausted"] is True
        assert usage["pods"]["used_percent"] == 60


async def test_services_and_their_endpoints(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        rows = {r["name"]: r for r in (await call(lab_session, "list_services"))["services"]}
        assert rows["api"]["ports"] == ["8080:30080/TCP"]
        web = await call(lab_session, "get_service", name="web", namespace="lab")
        assert web["matching_pods"] == 2
        assert web["ready_endpoints"] == ["10.1.0.5:8080 (web-7d4b9c-abcde)"]
        assert web["not_ready_endpoints"] == ["10.1.0.6:8080 (web-7d4b9c-fghij)"]
        assert web["ports"] == [
            {"name": "http", "port": 80, "target_port": "8080", "protocol": "TCP"}
        ]
        api = await call(lab_session, "get_service", name="api", namespace="lab")
        assert api["matching_pods"] == 0  # the selector (app=apii) matches nothing
        assert api["ready_endpoints"] == []


async def test_configmap_values_are_capped(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        configmap = await call(lab_session, "get_configmap", name="web-config", namespace="lab")
        assert configmap["keys"] == ["big.txt", "flags", "nginx.conf"]
        assert configmap["data"]["flags"] == "beta-search,new-cart"
        assert configmap["data"]["big.txt"].endswith("more chars]")
        assert configmap["truncated"]["what"] == "data"
        namespaces = await call(lab_session, "list_namespaces")
        assert {"lab", "default"} <= {n["name"] for n in namespaces["namespaces"]}


# -- errors --------------------------------------------------------------------------------------


async def test_not_found_errors_name_the_object(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path) as lab_session:
        assert 'pod lab/nope not found (the API said: pods "nope" not found)' in await call_error(
            lab_session, "get_pod", name="nope", namespace="lab"
        )
        assert (
            'deployment lab/nope not found (the API said: deployments.apps "nope" not found)'
            in (await call_error(lab_session, "get_deployment", name="nope", namespace="lab"))
        )
        assert "node nope not found" in await call_error(lab_session, "get_node", name="nope")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_api_is_a_clear_error_quickly(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    port = closed_port()
    write_kubeconfig(kubeconfig, f"http://127.0.0.1:{port}", None)
    async with kubernetes_session(kubeconfig) as session:
        started = time.monotonic()
        message = await call_error(session, "list_pods")
    assert time.monotonic() - started < 5
    assert f"cannot reach the Kubernetes API at http://127.0.0.1:{port}" in message
    assert "KUBECONFIG" in message


async def test_an_api_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        kubeconfig = tmp_path / "kubeconfig"
        write_kubeconfig(kubeconfig, f"http://127.0.0.1:{silent.getsockname()[1]}", None)
        async with kubernetes_session(kubeconfig, SRE_AGENT_KUBE_TIMEOUT_S="0.5") as session:
            started = time.monotonic()
            message = await call_error(session, "get_node", name="n1")
    assert time.monotonic() - started < 5
    assert "did not answer within 0.5 s" in message


async def test_missing_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    async with kubernetes_session(tmp_path / "absent") as session:
        message = await call_error(session, "list_nodes")
    assert "no usable Kubernetes configuration" in message
    assert "Set KUBECONFIG" in message


async def test_unknown_context_is_a_clear_error(lab: Sandbox) -> None:
    async with kubernetes_session(lab.kubeconfig_path, SRE_AGENT_KUBE_CONTEXT="prod") as session:
        message = await call_error(session, "list_nodes")
    assert "no usable Kubernetes configuration" in message
    assert "prod" in message


def test_bad_timeout_setting_fails_at_build_time() -> None:
    with pytest.raises(
        ConfigurationError, match="SRE_AGENT_KUBE_TIMEOUT_S must be a number of seconds, got 'soon'"
    ):
        build_server({"SRE_AGENT_KUBE_TIMEOUT_S": "soon"})
    with pytest.raises(ConfigurationError, match="must be positive"):
        build_server({"SRE_AGENT_KUBE_TIMEOUT_S": "0"})


# -- scale and transport -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crowded() -> Iterator[Sandbox]:
    pods = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"p-{i:04d}",
                "namespace": f"ns-{i % 3}",
                "labels": {"app": "crowd"},
            },
            "spec": {"containers": [{"name": "c"}], "nodeName": "n1"},
            "status": {"phase": "Running"},
        }
        for i in range(620)
    ]
    scenario = parse_scenario(
        {
            "name": "crowded",
            "description": "620 pods",
            "alert": {"labels": {"alertname": "A"}},
            "cluster": pods,
        }
    )
    with sandbox_in_thread(scenario) as sandbox:
        yield sandbox


async def test_list_pods_reads_every_page_and_returns_at_most_limit(crowded: Sandbox) -> None:
    async with kubernetes_session(crowded.kubeconfig_path) as session:
        result = await call(session, "list_pods", limit=1000)
    assert result["total"] == 620
    assert len(result["pods"]) == 500
    assert result["truncated"]["omitted"] == 120


async def test_server_runs_over_stdio_as_a_module(checkout: Sandbox) -> None:
    parameters = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_bridge.servers.kubernetes"],
        env={"KUBECONFIG": str(checkout.kubeconfig_path), "PATH": os.environ.get("PATH", "")},
        cwd=ROOT,
    )
    async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await call(session, "list_pods", namespace="shop")
    assert result["pods"][0]["name"] == "checkout-6c9f7b8d4-x2k4q"
    assert result["pods"][0]["last_termination_reason"] == "OOMKilled"


def test_the_server_does_not_know_the_sandbox_exists() -> None:
    package = ROOT / "mcp_bridge" / "servers" / "kubernetes"
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "sandbox" not in (node.module or ""), path
            if isinstance(node, ast.Import):
                assert not any("sandbox" in alias.name for alias in node.names), path
