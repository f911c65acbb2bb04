"""The Kubernetes manifests: every object valid against the Kubernetes schemas (offline, strict),
the kustomization renders, the RBAC is read-only, the pod is locked down, the Secret template holds
no values, and the config file in the ConfigMap is one sre-agent accepts."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.settings import load_settings

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
KUBERNETES_VERSION = "1.30.0"  # old enough for most clusters in use; the schemas ship offline
READ_VERBS = {"get", "list", "watch"}


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def objects() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(MANIFESTS.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in documents(path):
            yield path.name, doc


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in objects() if doc["kind"] == kind]


def the(kind: str) -> dict[str, Any]:
    (found,) = of_kind(kind)
    return found


def container() -> dict[str, Any]:
    (main,) = the("Deployment")["spec"]["template"]["spec"]["containers"]
    return main


@pytest.mark.parametrize(("name", "doc"), list(objects()), ids=lambda v: str(v)[:40])
def test_every_manifest_is_valid_for_kubernetes(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_lists_every_manifest_and_the_issue_asks_for_each_kind() -> None:
    kustomization = documents(MANIFESTS / "kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    present = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    kinds = {doc["kind"] for _, doc in objects()}
    assert {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "NetworkPolicy",
    } <= kinds


@pytest.mark.kubectl
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_valid_objects() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(MANIFESTS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    docs = [doc for doc in yaml.safe_load_all(rendered) if doc]
    assert len(docs) == len(list(objects()))
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == "sre-agent"
        if doc["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert doc["metadata"]["namespace"] == "sre-agent"


def test_rbac_is_read_only_and_never_reaches_secrets() -> None:
    rules = [rule for role in of_kind("ClusterRole") + of_kind("Role") for rule in role["rules"]]
    assert rules
    for rule in rules:
        assert set(rule["verbs"]) <= READ_VERBS, rule
        assert "*" not in rule["resources"]
        assert "*" not in rule.get("apiGroups", [])
        assert "secrets" not in rule["resources"]
        assert not {"pods/exec", "pods/attach", "pods/portforward", "nodes/proxy"} & set(
            rule["resources"]
        )
        assert "resourceNames" not in rule or rule["resourceNames"]
    resources = {resource for rule in rules for resource in rule["resources"]}
    assert {"pods", "pods/log", "events", "deployments", "nodes"} <= resources
    binding = the("ClusterRoleBinding")
    assert binding["roleRef"]["name"] == the("ClusterRole")["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "sre-agent", "namespace": "sre-agent"}
    ]


def test_the_pod_runs_locked_down() -> None:
    pod = the("Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["serviceAccountName"] == the("ServiceAccount")["metadata"]["name"]
    security = container()["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "add" not in security["capabilities"]
    assert not security.get("privileged", False)


def test_probes_resources_and_ports() -> None:
    main = container()
    assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert main["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert {"cpu", "memory"} <= set(main["resources"]["requests"])
    assert {"cpu", "memory"} <= set(main["resources"]["limits"])
    (port,) = main["ports"]
    service_port = the("Service")["spec"]["ports"][0]
    assert service_port["targetPort"] == port["name"]
    env = {item["name"]: item.get("value") for item in main["env"]}
    assert env["SRE_AGENT_HTTP_PORT"] == str(port["containerPort"])
    assert env["SRE_AGENT_HTTP_HOST"] == "0.0.0.0"  # noqa: S104 - the pod's address; token required


def test_the_secret_template_holds_no_values() -> None:
    secret = the("Secret")
    assert "data" not in secret
    assert secret["stringData"]
    assert all(value == "" for value in secret["stringData"].values())
    assert "SRE_AGENT_HTTP_TOKEN" in secret["stringData"]
    refs = [source["secretRef"]["name"] for source in container()["envFrom"]]
    assert refs == [secret["metadata"]["name"]]


def test_the_config_file_in_the_configmap_is_accepted_by_sre_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(the("ConfigMap")["data"]["config.yaml"])
    for name in ("SRE_AGENT_CONFIG", "SRE_AGENT_HTTP_TOKEN", "SRE_AGENT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(config)
    assert (
        settings.drain_grace_s
        < the("Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    )
    assert settings.mcp_servers["prometheus"]["env"]["PROMETHEUS_URL"].startswith("http")
    mounted = {m["name"]: m["mountPath"] for m in container()["volumeMounts"]}
    env = {item["name"]: item.get("value") for item in container()["env"]}
    assert env["SRE_AGENT_CONFIG"] == f"{mounted['config']}/config.yaml"


def test_the_sqlite_default_runs_one_replica_at_a_time() -> None:
    # SQLite on the pod's volume is single-node: more replicas (or a rolling update) need
    # PostgreSQL, set in an overlay.
    spec = the("Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "Recreate"
    assert not any(e["name"] == "SRE_AGENT_DATABASE_URL" for e in container()["env"])
