"""The built-in scenarios are an evaluation set: each one loads, describes a cluster the real API
could have returned, routes its alert to the runbook an on-call engineer would open, carries an
answer key in the category vocabulary, and serves what its alert names through the sandbox."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
import kubernetes_validate
import pytest
from kubernetes_validate.utils import all_versions, major_minor, schema_contents
from referencing import Registry, Resource

from agent.intake import parse_alertmanager_alert
from agent.report import Category
from agent.runbooks import RunbookLibrary
from mcp_bridge.sandbox import Scenario, builtin_scenarios, load_scenario, run_sandbox
from mcp_bridge.sandbox.cluster import complete_cluster
from mcp_bridge.sandbox.runner import resolve_alert

# The Kubernetes version the sandbox's discovery and the scenarios' kubelets speak.
KUBERNETES_VERSION = "1.31"
NOW = 1_800_000_000.0
README = Path(__file__).parents[2] / "mcp_bridge" / "sandbox" / "README.md"

# The runbook each built-in scenario's alert must open. `default` is right only where no built-in
# runbook is written for that alert (a scenario added without a row here fails on purpose).
RUNBOOK_FOR = {
    "billing-api-postgres-unreachable": "KubePodCrashLooping",
    "cart-image-tag-not-found": "KubePodNotReady",
    "checkout-coredns-loop": "HighErrorRate",
    "checkout-oom": "KubePodCrashLooping",
    "fulfillment-api-rollout-blocked-by-quota": "KubeDeploymentReplicasMismatch",
    "inventory-target-down-unexplained": "TargetDown",
    "invoicing-tax-engine-cert-expired": "HighErrorRate",
    "k8s-worker-07-not-ready": "KubeNodeNotReady",
    "kafka-scale-up-pvc-pending": "KubePodNotReady",
    "notification-worker-bad-redis-url": "KubePodCrashLooping",
    "orders-missing-config-key": "KubeDeploymentRolloutStuck",
    "partner-api-cert-renewal-denied": "CertificateExpiry",
    "pricing-api-rollout-500s": "HighErrorRate",
    "product-catalog-liveness-kills-slow-start": "KubePodCrashLooping",
    "recommendations-rollout-cpu-throttled": "HighLatency",
    "report-builder-insufficient-cpu": "KubePodNotReady",
    "report-renderer-fills-node-disk": "KubeNodeEviction",
    "search-hpa-maxed-healthy": "KubeHpaMaxedOut",
    "settlement-consumer-nil-pointer-panic": "KubePodCrashLooping",
    "shipping-quotes-carrier-api-503": "HighErrorRate",
    "storefront-web-mismatch-resolved": "KubeDeploymentReplicasMismatch",
}

# Categories whose root cause names no mechanism or culprit, so their answer key may be empty.
WITHOUT_KEYWORDS = {Category.NO_ISSUE, Category.UNKNOWN}

# Alert labels that name a Kubernetes object, and where the API serves that object.
OBJECT_PATHS = {
    "pod": "/api/v1/namespaces/{namespace}/pods/{name}",
    "deployment": "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
    "statefulset": "/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}",
    "daemonset": "/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}",
    "persistentvolumeclaim": "/api/v1/namespaces/{namespace}/persistentvolumeclaims/{name}",
    "service": "/api/v1/namespaces/{namespace}/services/{name}",
    "horizontalpodautoscaler": (
        "/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/{name}"
    ),
    "node": "/api/v1/nodes/{name}",
}

SCENARIOS = builtin_scenarios()


@pytest.fixture(scope="module")
def runbooks() -> RunbookLibrary:
    return RunbookLibrary.load()


@functools.cache
def scenario_named(name: str) -> Scenario:
    return load_scenario(name)


@functools.cache
def served(name: str) -> list[dict[str, Any]]:
    """The scenario's objects as the sandbox serves them (times resolved, uids filled); read,
    never changed, by the tests that share them."""
    return complete_cluster(scenario_named(name).cluster, now=NOW)


def key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", ""), meta["name"]


def pods_of(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (obj for obj in objects if obj["kind"] == "Pod")


def category_of(name: str) -> str:
    expect = scenario_named(name).expect
    assert expect is not None, f"{name} has no answer key"
    return expect.category


def test_the_set_covers_every_category_of_the_vocabulary() -> None:
    categories = [category_of(name) for name in SCENARIOS]
    assert set(categories) == {c.value for c in Category}
    assert categories.count(Category.NO_ISSUE) >= 2, "a healthy world and a resolved alert"
    assert len(SCENARIOS) >= 18


def test_the_readme_names_at_least_three_misleading_scenarios_and_why() -> None:
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    ]
    assert all(len(row) == 4 for row in rows)
    assert sum(1 for row in rows if row[3]) >= 3


def test_every_builtin_scenario_has_a_runbook_row_and_a_readme_row() -> None:
    assert sorted(RUNBOOK_FOR) == SCENARIOS
    readme = README.read_text(encoding="utf-8")
    for name in SCENARIOS:
        assert re.search(rf"^\| `{re.escape(name)}` \|", readme, re.MULTILINE), name


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_loads_with_an_answer_key_in_the_category_vocabulary(name: str) -> None:
    scenario = scenario_named(name)
    assert scenario.name == name
    assert scenario.description.strip()
    assert scenario.expect is not None
    category = Category(scenario.expect.category)
    keywords = scenario.expect.root_cause_keywords
    assert len(keywords) <= 3
    if category not in WITHOUT_KEYWORDS:
        assert keywords, "a root cause names its mechanism or culprit: give 1-3 keywords"
    assert all(word.strip() == word and word for word in keywords)


@functools.cache
def strict_schema(kind: str, api_version: str) -> jsonschema.Validator:
    """kubernetes_validate's strict schema for one kind, built once: its `validate` reloads the
    multi-megabyte definitions file on every call, a second per scenario."""
    version = [v for v in all_versions() if major_minor(v) <= KUBERNETES_VERSION][-1]
    directory = f"kubernetes-json-schema/v{version}-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = schema_contents(f"{directory}/{kind.lower()}-{group_version}.json", version)
    definitions = schema_contents(f"{directory}/_definitions.json", version)
    registry: Registry[Any] = Resource.from_contents(definitions) @ (
        Resource.from_contents(schema) @ Registry()
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


def test_the_cached_schema_rejects_what_kubernetes_validate_rejects() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": []}}
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    strict_schema("Pod", "v1").validate(pod)
    pod["spec"]["imagee"] = "typo"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    with pytest.raises(jsonschema.ValidationError):
        strict_schema("Pod", "v1").validate(pod)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_object_is_valid_for_the_kubernetes_schema(name: str) -> None:
    for obj in served(name):
        strict_schema(obj["kind"], obj["apiVersion"]).validate(obj)


@pytest.mark.parametrize("name", SCENARIOS)
def test_owner_references_point_at_objects_that_exist(name: str) -> None:
    objects = served(name)
    by_key = {key(obj): obj for obj in objects}
    for obj in objects:
        namespace = obj["metadata"].get("namespace", "")
        for ref in obj["metadata"].get("ownerReferences") or []:
            owner_namespace = "" if ref["kind"] == "Node" else namespace
            owner = by_key.get((ref["kind"], owner_namespace, ref["name"]))
            assert owner is not None, f"{key(obj)} is owned by a missing {ref}"
            assert owner["metadata"]["uid"] == ref["uid"], f"{key(obj)}: wrong uid in {ref}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_workloads_are_wired_as_their_controllers_wire_them(name: str) -> None:
    """ReplicaSets carry their revision and template hash; their pods carry the same hash;
    container statuses belong to containers of the spec."""
    objects = served(name)
    by_key = {key(obj): obj for obj in objects}
    for obj in objects:
        meta = obj["metadata"]
        owner = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
        if obj["kind"] == "ReplicaSet" and owner and owner["kind"] == "Deployment":
            template_hash = meta["labels"]["pod-template-hash"]
            assert meta["name"] == f"{owner['name']}-{template_hash}"
            assert int(meta["annotations"]["deployment.kubernetes.io/revision"]) >= 1
            assert obj["spec"]["selector"]["matchLabels"]["pod-template-hash"] == template_hash
        if obj["kind"] == "Pod" and owner and owner["kind"] == "ReplicaSet":
            replicaset = by_key[("ReplicaSet", meta["namespace"], owner["name"])]
            selector = replicaset["spec"]["selector"]["matchLabels"]
            assert selector.items() <= meta["labels"].items(), meta["name"]
            assert meta["name"].startswith(owner["name"] + "-")
    for pod in pods_of(objects):
        spec_names = {c["name"] for c in pod["spec"]["containers"]}
        status_names = {c["name"] for c in pod.get("status", {}).get("containerStatuses") or []}
        assert status_names <= spec_names, pod["metadata"]["name"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_endpoints_list_existing_pods_at_their_ips_by_readiness(name: str) -> None:
    objects = served(name)
    pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in pods_of(objects)}
    for endpoints in (o for o in objects if o["kind"] == "Endpoints"):
        namespace = endpoints["metadata"]["namespace"]
        for subset in endpoints.get("subsets") or []:
            for field, ready in (("addresses", True), ("notReadyAddresses", False)):
                for address in subset.get(field) or []:
                    ref = address.get("targetRef")
                    if not ref or ref.get("kind") != "Pod":
                        continue
                    pod = pods.get((namespace, ref["name"]))
                    where = f"{endpoints['metadata']['name']}: {ref['name']}"
                    assert pod is not None, f"{where} is not a pod in the scenario"
                    assert pod["status"].get("podIP") == address["ip"], where
                    pod_ready = any(
                        c["type"] == "Ready" and c["status"] == "True"
                        for c in pod["status"].get("conditions") or []
                    )
                    assert pod_ready == ready, where


@pytest.mark.parametrize("name", SCENARIOS)
def test_alert_opens_the_runbook_an_engineer_would(name: str, runbooks: RunbookLibrary) -> None:
    scenario = scenario_named(name)
    alert = parse_alertmanager_alert(
        resolve_alert(scenario.alert, NOW, "http://127.0.0.1:9090"), source="scenario"
    )
    assert runbooks.match(alert).name == RUNBOOK_FOR[name]


def alert_objects(scenario: Scenario) -> list[str]:
    labels = dict(scenario.alert["labels"])
    if labels.get("job") == "kube-state-metrics":
        # kube-state-metrics' alerts carry `service` of the exporter itself (in its own namespace),
        # as kube-prometheus-stack sends them; the other labels describe the workload.
        labels.pop("service", None)
    namespace = labels.get("namespace", "")
    return [
        path.format(namespace=namespace, name=labels[label])
        for label, path in OBJECT_PATHS.items()
        if labels.get(label)
    ]


@pytest.mark.parametrize("name", SCENARIOS)
async def test_sandbox_serves_what_the_alert_names_and_every_metric(name: str) -> None:
    scenario = scenario_named(name)
    metric_names = sorted({series.labels["__name__"] for series in scenario.metrics})
    async with run_sandbox(scenario) as sandbox, httpx.AsyncClient(timeout=10) as http:
        for path in alert_objects(scenario):
            response = await http.get(sandbox.kubernetes_url + path)
            assert response.status_code == 200, f"{path}: {response.text}"
        for metric in metric_names:
            # Over the last hour, not at the present: a series may stop, as an exporter's do when
            # what they measure goes away.
            query = quote(f'count_over_time({{__name__="{metric}"}}[1h])', safe="")
            response = await http.get(
                f"{sandbox.prometheus_url}/api/v1/query?query={query}&time={sandbox.now}"
            )
            assert response.status_code == 200, response.text
            assert response.json()["data"]["result"], f"{metric} has no sample in the last hour"
